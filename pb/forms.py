"""Flask-WTF forms: field-level validation only; the services own the rules."""

from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms.fields.choices import SelectChoice
from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    IntegerField,
    PasswordField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Email, EqualTo, InputRequired, Length, NumberRange, Optional, ValidationError

from pb.domain.errors import ValidationError as DomainValidationError
from pb.domain.money import parse_amount
from pb.models import Role
from pb.services.cycles import RULE_NAMES, SUPPORTED_CURRENCIES


def options(pairs) -> list[SelectChoice]:
    """Select options from (value, label) pairs."""
    return [SelectChoice(value, label) for value, label in pairs]


class ChoiceField(SelectField):
    """A select whose refusals read the same whether the value was unknown or not even a number."""

    MESSAGE = "Choose one of the listed options."

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

    def pre_validate(self, form) -> None:
        currency = getattr(form, self.currency_field).data if self.currency_field else self.currency
        self.amount = None
        if not (self.data or "").strip():
            return
        try:
            self.amount = parse_amount(self.data, currency or "EUR")
        except DomainValidationError as error:
            raise ValidationError(error.message) from None


def _positive_amount(form, field) -> None:
    if field.amount is not None and field.amount <= 0:
        raise ValidationError("The amount must be more than zero.")


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired("Enter your email address."), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired("Enter your password."), Length(max=200)])


class RegisterForm(FlaskForm):
    name = StringField("Your name", validators=[DataRequired("Enter your name."), Length(max=120)])
    email = EmailField(
        "Email", validators=[DataRequired("Enter your email address."), Email("Enter a valid email address."), Length(max=254)]
    )
    password = PasswordField(
        "Password (at least 10 characters)",
        validators=[DataRequired("Choose a password."), Length(min=10, max=200, message="Use 10 to 200 characters.")],
    )
    confirm = PasswordField("Repeat the password", validators=[EqualTo("password", "The passwords do not match.")])


class ProposalForm(FlaskForm):
    title = StringField("Title", validators=[DataRequired("Give your proposal a title."), Length(max=120)])
    summary = StringField(
        "Summary (one or two sentences)", validators=[DataRequired("Write a short summary."), Length(max=300)]
    )
    description = TextAreaField(
        "Description", validators=[DataRequired("Describe the project."), Length(max=10000)]
    )
    estimated_cost = AmountField(
        "Estimated cost", validators=[DataRequired("Enter the estimated cost."), _positive_amount]
    )
    district_id = ChoiceField("District", coerce=int, validators=[InputRequired("Choose a district.")])
    category_id = ChoiceField("Category", coerce=int, validators=[Optional()])
    location = StringField("Location (optional)", validators=[Optional(), Length(max=200)])
    version = IntegerField(validators=[Optional()])


class AcceptForm(FlaskForm):
    final_cost = AmountField("Final cost", validators=[DataRequired("Enter the final cost."), _positive_amount])
    note = TextAreaField("Public note", validators=[Optional(), Length(max=2000)])


class ReasonForm(FlaskForm):
    note = TextAreaField("Reason or note for the author", validators=[DataRequired("Write a reason."), Length(max=2000)])


class MergeForm(FlaskForm):
    into_id = ChoiceField("Merge into", coerce=int, validators=[InputRequired("Choose the proposal to merge into.")])
    note = TextAreaField("Public note", validators=[Optional(), Length(max=2000)])


class VerifyForm(FlaskForm):
    user_id = IntegerField(validators=[InputRequired()])
    district_id = ChoiceField("District", coerce=int, validators=[InputRequired("Choose a district.")])


class CycleForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired("Give the cycle a name."), Length(max=120)])
    description = TextAreaField("Description", validators=[Optional(), Length(max=5000)])
    currency = ChoiceField("Currency", choices=options((c, c) for c in SUPPORTED_CURRENCIES))
    total_budget = AmountField(
        "Total budget", currency_field="currency",
        validators=[DataRequired("Enter the total budget."), _positive_amount],
    )
    rule = ChoiceField("Counting rule", choices=options(RULE_NAMES.items()))
    min_projects = IntegerField(
        "Fewest projects per ballot", default=1,
        validators=[InputRequired("Enter a number."), NumberRange(min=1, max=1000, message="Enter 1 to 1000.")],
    )
    max_projects = IntegerField(
        "Most projects per ballot (leave empty for no limit)",
        validators=[Optional(), NumberRange(min=1, max=1000, message="Enter 1 to 1000.")],
    )
    proposals_open_on = DateField("Proposals open", validators=[Optional()])
    review_on = DateField("Review starts", validators=[Optional()])
    voting_open_on = DateField("Voting opens", validators=[Optional()])
    voting_close_on = DateField("Voting closes", validators=[Optional()])
    results_on = DateField("Results published", validators=[Optional()])


class DistrictForm(FlaskForm):
    name = StringField("District name", validators=[DataRequired("Give the district a name."), Length(max=120)])
    budget = AmountField("Budget", validators=[DataRequired("Enter the district's budget."), _positive_amount])


class CategoryForm(FlaskForm):
    name = StringField("Category name", validators=[DataRequired("Give the category a name."), Length(max=80)])


class RoleForm(FlaskForm):
    role = ChoiceField("Role", choices=options((r.value, r.value.capitalize()) for r in Role))


class ActionForm(FlaskForm):
    """A button that changes something: carries only the CSRF token."""


class RegisterFileForm(FlaskForm):
    """A register file and, optionally, which of its columns holds which detail (empty: guessed from the headers)."""

    file = FileField("Register file (CSV, at most 5 MB)", validators=[
        FileRequired("Choose a CSV file."),
        FileAllowed(["csv", "txt", "tsv"], "Upload a CSV file (.csv or .txt), as saved from a spreadsheet."),
    ])
    document_column = StringField("Column with the document number", validators=[Optional(), Length(max=200)])
    birth_date_column = StringField("Column with the date of birth", validators=[Optional(), Length(max=200)])
    postcode_column = StringField("Column with the postcode", validators=[Optional(), Length(max=200)])
    district_column = StringField("Column with the district", validators=[Optional(), Length(max=200)])


class UploadChoiceForm(FlaskForm):
    upload_id = IntegerField(validators=[InputRequired("The upload is missing; upload the file again.")])


class RegisterDetailsForm(FlaskForm):
    document = StringField("Document number", validators=[DataRequired("Enter your document number."), Length(max=60)])
    birth_date = DateField("Date of birth", validators=[InputRequired("Enter your date of birth.")])
    postcode = StringField("Postcode", validators=[DataRequired("Enter your postcode."), Length(max=20)])


class VotingCodeForm(FlaskForm):
    code = StringField("Voting code", validators=[DataRequired("Enter the code from your letter."), Length(max=40)])


class GenerateCodesForm(FlaskForm):
    district_id = ChoiceField("District", coerce=int, validators=[InputRequired("Choose a district.")])
    count = IntegerField(
        "Number of codes", default=10,
        validators=[InputRequired("Enter a number."), NumberRange(min=1, max=1000, message="Enter 1 to 1000.")],
    )


class VoidCodeForm(FlaskForm):
    code_id = IntegerField(validators=[InputRequired("Choose a code to void.")])


class PaperSheetForm(FlaskForm):
    """A paper sheet as typed in by an official; the ticked projects are read from the "project" checkboxes."""

    polling_station = StringField(
        "Polling station", validators=[DataRequired("Enter the polling station's name."), Length(max=60)]
    )
    number = IntegerField(
        "Sheet number",
        validators=[InputRequired("Enter the sheet number."), NumberRange(min=1, max=1_000_000, message="Enter 1 to 1,000,000.")],
    )
    is_spoilt = BooleanField("The sheet is spoilt (unreadable or breaking the rules): record it, but do not count it")


class PaperVoterForm(FlaskForm):
    user_id = IntegerField(validators=[InputRequired()])
    district_id = ChoiceField("District", coerce=int, validators=[InputRequired("Choose a district.")])


class UndoPaperVoterForm(FlaskForm):
    user_id = IntegerField(validators=[InputRequired()])
    district_id = IntegerField(validators=[InputRequired()])
    reason = StringField("Why is the mark taken back?", validators=[
        InputRequired("Say why the mark is taken back."), Length(max=500, message="Keep the reason under 500 characters."),
    ])



# Implementation tracking (after the vote) keeps its import beside its forms, as this part was added last.
from pb.domain.implementation import MAX_PROGRESS, MAX_REASON_LENGTH, MAX_UPDATE_LENGTH, ImplementationStatus


class ImplementationForm(FlaskForm):
    """A funded project's implementation as an official records it; `version` is the one the official read."""

    status = ChoiceField("Status", choices=options((status.value, status.label) for status in ImplementationStatus))
    progress = IntegerField(
        "Progress (percent)",
        validators=[InputRequired("Enter the progress, 0 to 100."),
                    NumberRange(min=0, max=MAX_PROGRESS, message=f"Enter a whole percentage from 0 to {MAX_PROGRESS}.")],
    )
    spent = AmountField("Money spent so far", validators=[DataRequired("Enter the money spent so far (0 if none).")])
    cancel_reason = TextAreaField(
        "Reason for cancelling (required when cancelled; shown to residents)",
        validators=[Optional(), Length(max=MAX_REASON_LENGTH)],
    )
    version = IntegerField(validators=[InputRequired("Reload the page and try again."), NumberRange(min=0)])


class ImplementationUpdateForm(FlaskForm):
    """A dated public update on a funded project."""

    posted_on = DateField("Date", validators=[InputRequired("Give the update a date.")])
    text = TextAreaField(
        "What happened (public)",
        validators=[DataRequired("Write what happened."), Length(max=MAX_UPDATE_LENGTH)],
    )


class ChangePasswordForm(FlaskForm):
    """A logged-in user's new password, confirmed by the current one."""

    current_password = PasswordField(
        "Current password", validators=[DataRequired("Enter your current password."), Length(max=200)]
    )
    new_password = PasswordField(
        "New password (at least 10 characters)",
        validators=[DataRequired("Choose a new password."), Length(min=10, max=200, message="Use 10 to 200 characters.")],
    )
    confirm = PasswordField("Repeat the new password", validators=[EqualTo("new_password", "The passwords do not match.")])
