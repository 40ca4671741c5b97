"""Form fields on their own: hostile numbers are refused with a message, never an exception."""

import pytest
from werkzeug.datastructures import MultiDict

from pb.forms import ImplementationForm, WholeNumberField


@pytest.mark.parametrize("typed", ["9" * 3000, "-" + "9" * 400, "1" * 16])
def test_an_absurdly_long_number_is_refused_as_not_a_number(app, typed):
    with app.test_request_context(method="POST"):
        form = ImplementationForm(MultiDict({"status": "planned", "progress": typed, "spent": "0", "version": typed}),
                                  meta={"csrf": False})
        assert form.validate() is False
        assert form.progress.errors[0] == "Not a valid integer value."
        assert form.version.errors[0] == "Not a valid integer value."


def test_ordinary_whole_numbers_still_work(app):
    with app.test_request_context(method="POST"):
        form = ImplementationForm(MultiDict({"status": "planned", "progress": "40", "spent": "0", "version": "7"}),
                                  meta={"csrf": False})
        assert form.validate(), form.errors
        assert (form.progress.data, form.version.data) == (40, 7)
        assert WholeNumberField.MAX_DIGITS == 15
