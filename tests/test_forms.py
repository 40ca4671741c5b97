"""Form fields on their own: hostile numbers are refused with a message, never an exception."""

import pytest
from werkzeug.datastructures import MultiDict

from pb.forms import ImplementationForm, MergeForm, ProposalEditForm, SelectChoice, VersionField, WholeNumberField


@pytest.mark.parametrize("typed", ["9" * 3000, "-" + "9" * 400, "1" * 16])
def test_an_absurdly_long_number_is_refused_as_not_a_number(app, typed):
    with app.test_request_context(method="POST"):
        form = ImplementationForm(MultiDict({"status": "planned", "progress": typed, "spent": "0", "version": typed}),
                                  meta={"csrf": False})
        assert form.validate() is False
        assert form.progress.errors[0] == "Not a valid integer value."
        assert form.version.errors == [VersionField.MESSAGE]  # a hidden field: the page was not sent as rendered


def test_ordinary_whole_numbers_still_work(app):
    with app.test_request_context(method="POST"):
        form = ImplementationForm(MultiDict({"status": "planned", "progress": "40", "spent": "0", "version": "7"}),
                                  meta={"csrf": False})
        assert form.validate(), form.errors
        assert (form.progress.data, form.version.data) == (40, 7)
        assert WholeNumberField.MAX_DIGITS == 15


@pytest.mark.parametrize(
    ("sent", "data", "is_valid"),
    [({"version": "3"}, 3, True), ({"version": " 3 "}, 3, True), ({}, None, False), ({"version": ""}, None, False),
     ({"version": "²"}, None, False), ({"version": "-1"}, None, False), ({"version": "3.0"}, None, False),
     ({"version": "1" * 10}, None, False)],
)
def test_a_version_is_a_plain_whole_number_sent_by_the_page_never_read_from_the_object(app, sent, data, is_valid):
    class Stored:  # the proposal as stored: a form without its version must not fall back to this one
        title, summary, description, location, version = "T", "S", "D", "", 7

    with app.test_request_context(method="POST"):
        form = ProposalEditForm(MultiDict(sent), obj=Stored(), meta={"csrf": False})
        form.version.validate(form)
        assert form.version.data == data
        assert (form.version.errors == []) is is_valid
        if not is_valid:
            assert form.version.errors == [VersionField.MESSAGE]


@pytest.mark.parametrize(
    ("sent", "data", "error"),
    [("12:3", (12, 3), None), ("12:2", (12, 2), None),  # an older version gets through, for the service to refuse
     ("13:3", (13, 3), "Choose one of the listed options."), ("12", None, "Choose one of the listed options."),
     ("12:²", None, "Choose one of the listed options."), ("", None, "Choose the proposal to merge into.")],
)
def test_a_merge_target_is_chosen_with_the_version_shown(app, sent, data, error):
    with app.test_request_context(method="POST"):
        form = MergeForm(MultiDict({"into_id": sent, "version": "1"}), meta={"csrf": False})
        form.into_id.choices = [SelectChoice("12:3", "#12 Trees")]
        form.validate()
        assert form.into_id.data == data
        assert form.into_id.errors == ([error] if error else [])
