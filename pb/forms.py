"""Flask-WTF forms: field-level validation only; the services own the rules."""

from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import (
    BooleanField,
    DateField,
    DateTimeLocalField,
    EmailField,
    HiddenField,
    IntegerField,
    PasswordField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.widgets import HiddenInput
from wtforms.validators import (
    DataRequired,
    Email,
    EqualTo,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    ValidationError,
)

from pb.domain.ballots import DESIGN_LABELS, LARGEST_SETTING
from pb.domain.errors import ValidationError as DomainValidationError
from pb.domain.money import parse_amount
from pb.domain.numbers import parse_whole_number, whole_number
from pb.domain.timetable import MAX_REASON_LENGTH as MAX_PHASE_REASON
from pb.domain.timetable import is_zone
from pb.i18n import translate
from pb.models import Role
from pb.services.cycles import RULE_NAMES, SUPPORTED_CURRENCIES


def options(pairs) -> list[SelectChoice]:
    """Select options from (value, label) pairs."""
    return [SelectChoice(value, label) for value, label in pairs]


class WholeNumberField(IntegerField):
    """A whole number written with the digits 0-9 (see pb.domain.numbers), refused when absurdly long before any check
    compares it (NumberRange's NaN test turns the number into a float, which overflows for a few hundred digits)."""

    MAX_DIGITS = 15

    def process_formdata(self, valuelist) -> None:
        if not valuelist:
            return
        self.data = parse_whole_number(str(valuelist[0]).strip(" \t\r\n"), most_digits=self.MAX_DIGITS)
        if self.data is None:
            raise ValueError(self.gettext("Not a valid integer value."))


class ChoiceField(SelectField):
    """A select whose refusals read the same whether the value was unknown or not even a number."""

    MESSAGE = _l("Choose one of the listed options.")

    def process_formdata(self, valuelist) -> None:
        try:
            super().process_formdata(valuelist)
        except ValueError:
            raise ValueError(self.MESSAGE) from None

    def pre_validate(self, form) -> None:
        try:
            super().pre_validate(form)
        except ValidationError:
            raise ValidationError(self.MESSAGE) from None


class AmountField(StringField):
    """A money amount typed the way people write it; `.amount` holds the integer of minor units."""

    amount: int | None = None

    def __init__(self, *args, currency_field: str | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.currency = "EUR"
        self.currency_field = currency_field

    def process_formdata(self, valuelist) -> None:
        # Left out of a submitted form, the field is empty: not the object's stored amount in minor units.
        self.data = valuelist[0] if valuelist else ""

    def pre_validate(self, form) -> None:
        currency = getattr(form, self.currency_field).data if self.currency_field else self.currency
        self.amount = None
        if not (self.data or "").strip():
            return
        try:
            self.amount = parse_amount(self.data, currency or "EUR")
        except DomainValidationError as error:
            raise ValidationError(translate(error.message)) from None


class VersionField(HiddenField):
    """The version of the thing the page showed, sent back hidden so the service can refuse a decision made on an
    older state. A form without it, or with one that is not a plain whole number, is refused: never read from the
    object itself, which would compare the row with itself."""

    MESSAGE = _l("This form is out of date or incomplete, so nothing was saved. Reload the page and try again.")

    def __init__(self, label=None, validators=None, **kwargs):
        super().__init__(label or "", validators or [InputRequired(self.MESSAGE)], **kwargs)

    def process_formdata(self, valuelist) -> None:
        self.data = None
        if valuelist:
            text = str(valuelist[0]).strip()
            if not (text.isascii() and text.isdigit() and len(text) <= 9):
                raise ValueError(self.MESSAGE)
            self.data = int(text)


def versioned_choice(value: object) -> tuple[int, int]:
    """A choice written "id:version" (e.g. "12:3"), as (id, version); anything else is a ValueError."""
    if isinstance(value, tuple):
        return value
    id_text, separator, version_text = str(value).partition(":")
    if not separator or not all(part.isascii() and part.isdigit() and len(part) <= 9 for part in (id_text, version_text)):
        raise ValueError(ChoiceField.MESSAGE)
    return int(id_text), int(version_text)


class VersionedChoiceField(ChoiceField):
    """A select of things each shown at a version: the options' values are "id:version", `.data` is (id, version).

    Only the id has to be among the choices: an older version of a listed thing is let through for the service to
    refuse with what changed, rather than read as an unknown option.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, coerce=versioned_choice, **kwargs)

    def pre_validate(self, form) -> None:
        if self.process_errors:
            return
        listed = {versioned_choice(choice.value)[0] for choice in self.choices}
        if not self.data or self.data[0] not in listed:
            raise ValidationError(self.MESSAGE)


def _positive_amount(form, field) -> None:
    if field.amount is not None and field.amount <= 0:
        raise ValidationError(_l("The amount must be more than zero."))


class LoginForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(_l("Enter your email address.")), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(_l("Enter your password.")), Length(max=200)])


class RegisterForm(FlaskForm):
    name = StringField(_l("Your name"), validators=[DataRequired(_l("Enter your name.")), Length(max=120)])
    email = EmailField(
        _l("Email"), validators=[DataRequired(_l("Enter your email address.")), Email(_l("Enter a valid email address.")), Length(max=254)]
    )
    password = PasswordField(
        _l("Password (at least 10 characters)"),
        validators=[DataRequired(_l("Choose a password.")), Length(min=10, max=200, message=_l("Use 10 to 200 characters."))],
    )
    confirm = PasswordField(_l("Repeat the password"), validators=[EqualTo("password", _l("The passwords do not match."))])


class CoordinateField(StringField):
    """A latitude or longitude in decimal degrees, written with a point or a comma; `.data` is a float or None."""

    def __init__(self, *args, limit: float, **kwargs):
        super().__init__(*args, **kwargs)
        self.limit = limit

    def process_formdata(self, valuelist) -> None:
        text = str(valuelist[0]).strip().replace(",", ".") if valuelist else ""
        if not text:
            self.data = None
            return
        if len(text) > 30 or not all(character in "0123456789.-+" for character in text):
            self.data = None
            raise ValueError(_l("Write the coordinate as a decimal number of degrees, for example 41.3874."))
        try:
            self.data = float(text)
        except ValueError:
            self.data = None
            raise ValueError(_l("Write the coordinate as a decimal number of degrees, for example 41.3874.")) from None

    def pre_validate(self, form) -> None:
        if self.data is not None and not -self.limit <= self.data <= self.limit:
            raise ValidationError(_l("This must be between -%(limit)s and %(limit)s degrees.", limit=self.limit))

    def _value(self) -> str:
        if self.raw_data:
            return str(self.raw_data[0])
        return "" if self.data is None else repr(self.data)


class ProposalForm(FlaskForm):
    title = StringField(_l("Title"), validators=[DataRequired(_l("Give your proposal a title.")), Length(max=120)])
    summary = StringField(
        _l("Summary (one or two sentences)"), validators=[DataRequired(_l("Write a short summary.")), Length(max=300)]
    )
    description = TextAreaField(
        _l("Description"), validators=[DataRequired(_l("Describe the project.")), Length(max=10000)]
    )
    estimated_cost = AmountField(
        _l("Estimated cost"), validators=[DataRequired(_l("Enter the estimated cost.")), _positive_amount]
    )
    district_id = ChoiceField(_l("District"), coerce=whole_number, validators=[InputRequired(_l("Choose a district."))])
    category_id = ChoiceField(_l("Category"), coerce=whole_number, validators=[Optional()])
    location = StringField(_l("Location (optional)"), validators=[Optional(), Length(max=200)])
    latitude = CoordinateField(_l("Latitude (optional)"), limit=90)
    longitude = CoordinateField(_l("Longitude (optional)"), limit=180)
    keep_point = BooleanField(_l("Keep this point anyway"))


class ProposalEditForm(ProposalForm):
    """An edit of a proposal, carrying the version it was filled in from."""

    version = VersionField()


class AcceptForm(FlaskForm):
    final_cost = AmountField(_l("Final cost"), validators=[DataRequired(_l("Enter the final cost.")), _positive_amount])
    note = TextAreaField(_l("Public note"), validators=[Optional(), Length(max=2000)])
    version = VersionField()  # the proposal's, as the moderator read it


class ReasonForm(FlaskForm):
    note = TextAreaField(_l("Reason or note for the author"), validators=[DataRequired(_l("Write a reason.")), Length(max=2000)])
    version = VersionField()  # the proposal's, as the moderator read it


class UndoDecisionForm(FlaskForm):
    """Taking back a review decision: the proposal's version as the moderator saw it after deciding."""

    version = VersionField()


class MergeForm(FlaskForm):
    # Each option is the other proposal at the version the moderator read ("id:version").
    into_id = VersionedChoiceField(_l("Merge into"), validators=[InputRequired(_l("Choose the proposal to merge into."))])
    note = TextAreaField(_l("Public note"), validators=[Optional(), Length(max=2000)])
    version = VersionField()  # the duplicate's, as the moderator read it


class VerifyForm(FlaskForm):
    user_id = WholeNumberField(validators=[InputRequired()])
    district_id = ChoiceField(_l("District"), coerce=whole_number, validators=[InputRequired(_l("Choose a district."))])


class RevokeVerificationForm(FlaskForm):
    """Take back a resident's verification before they vote: a written reason and an explicit confirmation."""

    user_id = WholeNumberField(validators=[InputRequired()])
    reason = StringField(_l("Why is the verification revoked?"), validators=[
        InputRequired(_l("Say why the verification is revoked.")),
        Length(max=500, message=_l("Keep the reason under 500 characters.")),
    ])
    confirm = BooleanField(_l("Confirm"), validators=[
        DataRequired(_l("Tick the box to confirm that the resident can no longer vote until verified again.")),
    ])


# What a datetime-local input sends (the first is also how the field writes its value back).
_WALL_CLOCK = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"]


def _time_zone(form, field) -> None:
    if field.data and not is_zone(field.data.strip()):
        raise ValidationError(_l("This is not a time zone; use a name such as Europe/Madrid or UTC."))


class CycleForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(_l("Give the cycle a name.")), Length(max=120)])
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=5000)])
    currency = ChoiceField(_l("Currency"), choices=options((c, c) for c in SUPPORTED_CURRENCIES))
    total_budget = AmountField(
        _l("Total budget"), currency_field="currency",
        validators=[DataRequired(_l("Enter the total budget.")), _positive_amount],
    )
    rule = ChoiceField(_l("Counting rule"), choices=options((rule, _l(label)) for rule, label in RULE_NAMES.items()))
    min_projects = WholeNumberField(
        _l("Fewest projects per ballot"), default=1,
        validators=[InputRequired(_l("Enter a number.")), NumberRange(min=1, max=1000, message=_l("Enter 1 to 1000."))],
    )
    max_projects = WholeNumberField(
        _l("Most projects per ballot (leave empty for no limit)"),
        validators=[Optional(), NumberRange(min=1, max=1000, message=_l("Enter 1 to 1000."))],
    )
    # The moments are typed as the cycle's zone's wall clock; the view converts them to UTC with the zone.
    timezone = StringField(
        _l("Time zone of the timetable"),
        validators=[Optional(), Length(max=64), _time_zone],  # empty: the site's default zone (setting TIMEZONE)
    )
    proposals_open_at = DateTimeLocalField(_l("Proposals open"), format=_WALL_CLOCK, validators=[Optional()])
    review_at = DateTimeLocalField(_l("Review starts"), format=_WALL_CLOCK, validators=[Optional()])
    voting_open_at = DateTimeLocalField(_l("Voting opens"), format=_WALL_CLOCK, validators=[Optional()])
    voting_close_at = DateTimeLocalField(_l("Voting closes"), format=_WALL_CLOCK, validators=[Optional()])
    results_at = DateTimeLocalField(_l("Results published"), format=_WALL_CLOCK, validators=[Optional()])
    max_photos = WholeNumberField(
        _l("Most photos per proposal"), default=5,
        validators=[Optional(), NumberRange(min=0, max=20, message=_l("Enter 0 to 20."))],
    )
    has_comments_after_proposals = BooleanField(_l("Residents may comment after the proposal phase has ended"),
                                                default=True)
    has_supports_phase = BooleanField(_l("Residents support proposals in a phase of its own before the review"))
    supports_at = DateTimeLocalField(_l("Supports open (proposals close); the review starts at the date above"),
                                     format=_WALL_CLOCK, validators=[Optional()])
    supports_per_district = WholeNumberField(
        _l("Most proposals one resident may support in each district"), default=10,
        validators=[Optional(), NumberRange(min=1, max=1000, message=_l("Enter 1 to 1000."))],
    )
    supports_advance_top = WholeNumberField(
        _l("Only the most supported proposals of each district go on to review: how many (leave empty for all)"),
        validators=[Optional(), NumberRange(min=1, max=100000, message=_l("Enter 1 to 100000."))],
    )
    supports_threshold = WholeNumberField(
        _l("Only proposals with at least this many supports go on to review (leave empty for no minimum)"),
        validators=[Optional(), NumberRange(min=1, max=10000000, message=_l("Enter 1 to 10000000."))],
    )


class DistrictForm(FlaskForm):
    name = StringField(_l("District name"), validators=[DataRequired(_l("Give the district a name.")), Length(max=120)])
    budget = AmountField(_l("Budget"), validators=[DataRequired(_l("Enter the district's budget.")), _positive_amount])


class DistrictBudgetForm(FlaskForm):
    budget = AmountField(_l("New budget"), validators=[DataRequired(_l("Enter the district's budget.")), _positive_amount])


class CategoryForm(FlaskForm):
    name = StringField(_l("Category name"), validators=[DataRequired(_l("Give the category a name.")), Length(max=80)])


class RoleForm(FlaskForm):
    role = ChoiceField(_l("Role"), choices=options((r.value, _l(r.label)) for r in Role))
    # Granting or removing the official role is a request a second official approves: it needs a reason (service).
    reason = StringField(_l("Reason"), validators=[Optional(), Length(max=500)])


class ApproveCountForm(FlaskForm):
    """Approving the stored count: carries the digest of the count the official was shown."""

    count_digest = StringField(validators=[Optional(), Length(max=64)])


class ActionForm(FlaskForm):
    """A button that changes something: carries only the CSRF token."""


class PhaseForm(FlaskForm):
    """Moving a cycle on: the phase the official saw (hidden), and why, when the move is off the published timetable."""

    expected_phase = HiddenField(validators=[InputRequired(VersionField.MESSAGE)])
    reason = TextAreaField(
        _l("Reason (kept in the audit log and shown on the cycle's public page)"),
        validators=[Optional(), Length(max=MAX_PHASE_REASON,
                                       message=_l("Keep the reason under %(most)s characters.", most=MAX_PHASE_REASON))],
    )


class RegisterFileForm(FlaskForm):
    """A register file and, optionally, which of its columns holds which detail (empty: guessed from the headers)."""

    file = FileField(_l("Register file (CSV, at most 5 MB)"), validators=[
        FileRequired(_l("Choose a CSV file.")),
        FileAllowed(["csv", "txt", "tsv"], _l("Upload a CSV file (.csv or .txt), as saved from a spreadsheet.")),
    ])
    document_column = StringField(_l("Column with the document number"), validators=[Optional(), Length(max=200)])
    birth_date_column = StringField(_l("Column with the date of birth"), validators=[Optional(), Length(max=200)])
    postcode_column = StringField(_l("Column with the postcode"), validators=[Optional(), Length(max=200)])
    district_column = StringField(_l("Column with the district"), validators=[Optional(), Length(max=200)])


class UploadChoiceForm(FlaskForm):
    upload_id = WholeNumberField(validators=[InputRequired(_l("The upload is missing; upload the file again."))])


class RegisterDetailsForm(FlaskForm):
    document = StringField(_l("Document number"), validators=[DataRequired(_l("Enter your document number.")), Length(max=60)])
    birth_date = DateField(_l("Date of birth"), validators=[InputRequired(_l("Enter your date of birth."))])
    postcode = StringField(_l("Postcode"), validators=[DataRequired(_l("Enter your postcode.")), Length(max=20)])


class VotingCodeForm(FlaskForm):
    code = StringField(_l("Voting code"), validators=[DataRequired(_l("Enter the code from your letter.")), Length(max=40)])


class GenerateCodesForm(FlaskForm):
    district_id = ChoiceField(_l("District"), coerce=whole_number, validators=[InputRequired(_l("Choose a district."))])
    count = WholeNumberField(
        _l("Number of codes"), default=10,
        validators=[InputRequired(_l("Enter a number.")), NumberRange(min=1, max=1000, message=_l("Enter 1 to 1000."))],
    )


class VoidCodeForm(FlaskForm):
    code_id = WholeNumberField(validators=[InputRequired(_l("Choose a code to void."))])


class PaperSheetForm(FlaskForm):
    """A paper sheet as typed in by an official; its choices are read by ballot_forms.submitted_ballot (the design's
    "project" checkboxes, "points-<id>" inputs or "rank-<id>" selects)."""

    polling_station = StringField(
        _l("Polling station"), validators=[DataRequired(_l("Enter the polling station's name.")), Length(max=60)]
    )
    number = WholeNumberField(
        _l("Sheet number"),
        validators=[InputRequired(_l("Enter the sheet number.")), NumberRange(min=1, max=1_000_000, message=_l("Enter 1 to 1,000,000."))],
    )
    is_spoilt = BooleanField(_l("The sheet is spoilt (unreadable or breaking the rules): record it, but do not count it"))


class PaperVoterForm(FlaskForm):
    user_id = WholeNumberField(validators=[InputRequired()])
    district_id = ChoiceField(_l("District"), coerce=whole_number, validators=[InputRequired(_l("Choose a district."))])


class UndoPaperVoterForm(FlaskForm):
    user_id = WholeNumberField(validators=[InputRequired()])
    district_id = WholeNumberField(validators=[InputRequired()])
    reason = StringField(_l("Why is the mark taken back?"), validators=[
        InputRequired(_l("Say why the mark is taken back.")), Length(max=500, message=_l("Keep the reason under 500 characters.")),
    ])



# Implementation tracking (after the vote) keeps its import beside its forms, as this part was added last.
from pb.domain.implementation import MAX_PROGRESS, MAX_REASON_LENGTH, MAX_UPDATE_LENGTH, ImplementationStatus


class ImplementationForm(FlaskForm):
    """A funded project's implementation as an official records it; `version` is the one the official read."""

    status = ChoiceField(_l("Status"), choices=options((status.value, _l(status.label)) for status in ImplementationStatus))
    progress = WholeNumberField(
        _l("Progress (percent)"),
        validators=[InputRequired(_l("Enter the progress, 0 to 100.")),
                    NumberRange(min=0, max=MAX_PROGRESS, message=_l("Enter a whole percentage from 0 to %(most)s.", most=MAX_PROGRESS))],
    )
    spent = AmountField(_l("Money spent so far"), validators=[DataRequired(_l("Enter the money spent so far (0 if none)."))])
    cancel_reason = TextAreaField(
        _l("Reason for cancelling (required when cancelled; shown to residents)"),
        validators=[Optional(), Length(max=MAX_REASON_LENGTH)],
    )
    version = VersionField()


class ImplementationUpdateForm(FlaskForm):
    """A dated public update on a funded project."""

    posted_on = DateField(_l("Date"), validators=[InputRequired(_l("Give the update a date."))])
    text = TextAreaField(
        _l("What happened (public)"),
        validators=[DataRequired(_l("Write what happened.")), Length(max=MAX_UPDATE_LENGTH)],
    )


class ChangePasswordForm(FlaskForm):
    """A logged-in user's new password, confirmed by the current one."""

    current_password = PasswordField(
        _l("Current password"), validators=[DataRequired(_l("Enter your current password.")), Length(max=200)]
    )
    new_password = PasswordField(
        _l("New password (at least 10 characters)"),
        validators=[DataRequired(_l("Choose a new password.")), Length(min=10, max=200, message=_l("Use 10 to 200 characters."))],
    )
    confirm = PasswordField(_l("Repeat the new password"), validators=[EqualTo("new_password", _l("The passwords do not match."))])


class ProjectChoicesField(SelectMultipleField):
    """Checkboxes of projects; a value that is not one of them (stale page, forged form) gets one plain message."""

    def pre_validate(self, form) -> None:
        offered = {choice.value for choice in self.choices}
        if self.data and any(value not in offered for value in self.data):
            raise ValidationError(_l("Choose among the projects listed; reload the page if the list has changed."))

    def process_formdata(self, valuelist) -> None:
        try:
            super().process_formdata(valuelist)
        except ValueError:
            self.data = [None]


class CorrectionForm(FlaskForm):
    """An official's correction of published results: the funded projects withdrawn, and why (published)."""

    project_ids = ProjectChoicesField(
        _l("Funded projects to withdraw"), coerce=whole_number,
        validators=[DataRequired(_l("Choose at least one funded project to withdraw."))],
    )
    reason = TextAreaField(
        _l("Reason (published with the corrected results)"),
        validators=[DataRequired(_l("Give the reason for the correction.")), Length(max=2000)],
    )


# --- accounts: password reset, address change, profile, deletion, privacy text ------------------------------------


class ForgotPasswordForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(_l("Enter your email address.")), Length(max=254)])


class ResetPasswordForm(FlaskForm):
    new_password = PasswordField(
        _l("New password (at least 10 characters)"),
        validators=[DataRequired(_l("Choose a new password.")), Length(min=10, max=200, message=_l("Use 10 to 200 characters."))],
    )
    confirm = PasswordField(_l("Repeat the new password"), validators=[EqualTo("new_password", _l("The passwords do not match."))])


class ProfileForm(FlaskForm):
    name = StringField(_l("Your name"), validators=[DataRequired(_l("Enter your name.")), Length(max=120)])
    locale = ChoiceField(_l("Language of emails and pages"), validators=[Optional()])
    wanted = SelectMultipleField(_l("Emails I want"), validators=[Optional()])


class ChangeEmailForm(FlaskForm):
    new_email = EmailField(
        _l("New email address"),
        validators=[DataRequired(_l("Enter your email address.")), Email(_l("Enter a valid email address.")), Length(max=254)],
    )
    password = PasswordField(_l("Current password"), validators=[DataRequired(_l("Enter your current password.")), Length(max=200)])


class DeleteAccountForm(FlaskForm):
    password = PasswordField(_l("Current password"), validators=[DataRequired(_l("Enter your current password.")), Length(max=200)])
    confirm = BooleanField(_l("I understand that my account and personal data will be deleted and cannot be brought back"),
                           validators=[DataRequired(_l("Tick the box to confirm."))])


class SiteTextForm(FlaskForm):
    text = TextAreaField(_l("Text (plain text; leave a blank line between paragraphs; empty: pb's default text)"),
                         validators=[Optional(), Length(max=20000)])


class BoundaryForm(FlaskForm):
    """A GeoJSON file of district boundaries: for one district, or for the whole cycle matched by name."""

    district_id = ChoiceField(_l("For which district"), coerce=whole_number, validators=[InputRequired()])
    file = FileField(_l("GeoJSON file (at most 5 MB)"), validators=[FileRequired(_l("Choose a GeoJSON file."))])


# --- discussion (pb/blueprints/comments.py) -----------------------------------------------------------------------


class CommentForm(FlaskForm):
    """A comment or a reply; the service checks the length exactly (5,000 characters), the form bounds the input."""

    body = TextAreaField(_l("Your comment"), validators=[DataRequired(_l("Write your comment.")), Length(max=20_000)])
    parent_id = WholeNumberField(widget=HiddenInput(), validators=[Optional()])


class CommentEditForm(FlaskForm):
    body = TextAreaField(_l("Your comment"), validators=[DataRequired(_l("Write your comment.")), Length(max=20_000)])


class FlagCommentForm(FlaskForm):
    reason = TextAreaField(_l("What is wrong with this comment? (optional)"), validators=[Optional(), Length(max=300)])


class HideCommentForm(FlaskForm):
    reason = TextAreaField(_l("Reason for hiding, shown to everyone in its place"),
                           validators=[DataRequired(_l("Give the reason for hiding the comment.")), Length(max=300)])


class AskVerificationForm(FlaskForm):
    """A resident asking a moderator to verify them after a document check: the district, and an optional note."""

    district_id = ChoiceField(_l("District where you live"), coerce=whole_number,
                              validators=[InputRequired(_l("Choose a district."))])
    note = TextAreaField(_l("Note for the moderator (optional)"), validators=[
        Optional(), Length(max=500, message=_l("Keep the note under 500 characters."))])


class DeclineRequestForm(FlaskForm):
    """A moderator declining a verification request: the reason the resident will read."""

    reason = TextAreaField(_l("Reason, shown to the resident"), validators=[
        DataRequired(_l("Give the resident a reason.")),
        Length(max=500, message=_l("Keep the reason under 500 characters."))])


# -- Ballot designs (issue 20) ---------------------------------------------------------------------------------------

class SettingField(WholeNumberField):
    """A whole number within a range, whose one refusal (letters, a sign, too many digits, out of range) says the
    range."""

    def __init__(self, label=None, *, least: int, most: int, required: bool = False, **kwargs):
        self.message = _l("Enter a whole number from %(least)s to %(most)s.", least=least, most=f"{most:,}")
        first = InputRequired(_l("Enter a number.")) if required else Optional()
        super().__init__(label, validators=[first, NumberRange(min=least, max=most, message=self.message)], **kwargs)

    def process_formdata(self, valuelist) -> None:
        try:
            super().process_formdata(valuelist)
        except ValueError:
            raise ValueError(self.message) from None

    def post_validate(self, form, validation_stopped) -> None:
        # A value that was no number at all is refused once, not once more by the range check.
        if self.process_errors and len(self.errors) > 1:
            self.errors = [str(self.message)]


def _setting(label, *, least: int, most: int = LARGEST_SETTING, required: bool = False) -> SettingField:
    return SettingField(label, least=least, most=most, required=required)


class BallotDesignForm(FlaskForm):
    """A ballot design; the per-category limits are added for the cycle's categories by `ballot_design_form`."""

    kind = ChoiceField(_l("Ballot design"), choices=options((kind, _l(label)) for kind, label in DESIGN_LABELS.items()))
    min_projects = _setting(_l("Fewest projects per ballot"), least=1, required=True)
    max_projects = _setting(_l("Most projects per ballot, or ranks on a ranking ballot (leave empty for no limit)"),
                            least=1)
    min_spend_percent = _setting(_l("Knapsack: least share of the budget a ballot must spend, in % (leave empty for "
                                    "none)"), least=0, most=100)
    points = _setting(_l("Cumulative: points each voter spreads"), least=1)
    max_points_per_project = _setting(_l("Cumulative: most points on one project (leave empty for no limit)"),
                                      least=1)


class DistrictBallotForm(BallotDesignForm):
    source = ChoiceField(_l("Ballot of this district"), default="cycle",
                         choices=options([("cycle", _l("Use the cycle's ballot")),
                                          ("own", _l("A ballot of its own"))]))


def limit_fields(category_id: int) -> tuple[str, str]:
    """The names of a category's two limit fields."""
    return f"category_{category_id}_projects", f"category_{category_id}_share"


def ballot_design_form(categories, *, district: bool = False, **kwargs) -> BallotDesignForm:
    """The ballot form with a row of limits (most projects, most % of the budget) for each of `categories`."""

    class Form(DistrictBallotForm if district else BallotDesignForm):
        pass

    for category in categories:
        projects, share = limit_fields(category.id)
        # Plain text, not a lazy string: the lazy one passes for safe HTML, and a category's name is the user's.
        setattr(Form, projects, _setting(gettext("Most projects in %(category)s", category=category.name), least=0))
        setattr(Form, share, _setting(gettext("Most %% of the budget in %(category)s", category=category.name),
                                      least=0, most=100))
    return Form(**kwargs)
