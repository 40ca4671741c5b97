"""Residents verifying themselves (register details or a voting code), and the officials' register, codes and lockouts."""

import json

from flask import Blueprint, flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from pb.blueprints.guards import form_errors, official_required, perform
from pb.blueprints.public import visible_cycle
from pb.domain.errors import DomainError
from pb.forms import (
    ActionForm,
    GenerateCodesForm,
    RegisterDetailsForm,
    RegisterFileForm,
    UploadChoiceForm,
    VoidCodeForm,
    VotingCodeForm,
    options,
)
from pb.i18n import translate
from pb.security import throttle_verification
from pb.services import cycles
from pb.services import verification as verification_service
from pb.services.verification import MAX_REGISTER_BYTES, RegisterDetails

bp = Blueprint("verification", __name__)

_FILE_ENDPOINT = "verification.upload_register"


@bp.url_value_preprocessor
def _allow_register_files(endpoint, values) -> None:
    # Runs before any before_request hook reads the body: only the register upload may exceed the app-wide limit.
    if endpoint == _FILE_ENDPOINT:
        request.max_content_length = MAX_REGISTER_BYTES + 64 * 1024


def _status_url(cycle_id: int) -> str:
    return url_for("verification.status", cycle_id=cycle_id)


@bp.get("/cycles/<int:cycle_id>/verify")
@login_required
def status(cycle_id: int):
    """Show, per district, whether the resident may vote and what is missing, with the ways to verify oneself."""
    cycle = visible_cycle(cycle_id)
    return render_template(
        "verification/status.html", cycle=cycle, statuses=verification_service.resident_status(current_user, cycle),
        details_form=RegisterDetailsForm(prefix="register"), code_form=VotingCodeForm(prefix="code"),
        is_locked=verification_service.is_locked(current_user, cycle.id),
    )


@bp.post("/cycles/<int:cycle_id>/verify/register")
@login_required
@throttle_verification
def with_register(cycle_id: int):
    """Verify oneself by typing the details the city's register holds."""
    cycle = visible_cycle(cycle_id)
    form = RegisterDetailsForm(prefix="register")
    return perform(
        form,
        lambda: verification_service.verify_with_register(
            current_user, cycle.id,
            RegisterDetails(document=form.document.data, birth_date=form.birth_date.data, postcode=form.postcode.data),
            request.remote_addr,
        ),
        back=_status_url(cycle.id), success=lambda v: _("You are verified and can vote in %(district)s.", district=v.district.name),
    )


@bp.post("/cycles/<int:cycle_id>/verify/code")
@login_required
@throttle_verification
def with_code(cycle_id: int):
    """Verify oneself with a one-time voting code."""
    cycle = visible_cycle(cycle_id)
    form = VotingCodeForm(prefix="code")
    return perform(
        form, lambda: verification_service.verify_with_code(current_user, cycle.id, form.code.data, request.remote_addr),
        back=_status_url(cycle.id), success=lambda v: _("You are verified and can vote in %(district)s.", district=v.district.name),
    )


# --- officials -----------------------------------------------------------------------------------------------------


def _not_to_be_kept(page: str):
    """A page with personal data or secrets that no browser or proxy cache should keep."""
    response = make_response(page)
    response.headers["Cache-Control"] = "no-store"
    return response


def _register_url(cycle_id: int) -> str:
    return url_for("verification.register", cycle_id=cycle_id)


def _register_page(cycle, form: RegisterFileForm, status: int = 200):
    pending = verification_service.pending_upload(cycle)
    return render_template(
        "verification/register.html", cycle=cycle, form=form, pending=pending,
        pending_errors=json.loads(pending.errors) if pending else [],
        pending_good=len(json.loads(pending.entries)) if pending else 0,
        counts=verification_service.register_counts(cycle), choice_form=UploadChoiceForm(),
    ), status


@bp.get("/admin/cycles/<int:cycle_id>/register")
@official_required
def register(cycle_id: int):
    """Show the register's size per district and the form to upload a register file."""
    return _register_page(cycles.get_cycle(cycle_id), RegisterFileForm())


@bp.post("/admin/cycles/<int:cycle_id>/register")
@official_required
def upload_register(cycle_id: int):
    """Check an uploaded register file and show the preview and error report; nothing enters the register yet."""
    cycle = cycles.get_cycle(cycle_id)
    form = RegisterFileForm()
    if not form.validate_on_submit():
        form_errors(form)
        return _register_page(cycle, form, 400)
    chosen = {
        "document": form.document_column.data, "birth_date": form.birth_date_column.data,
        "postcode": form.postcode_column.data, "district": form.district_column.data,
    }
    data = form.file.data.read(MAX_REGISTER_BYTES + 1)
    try:
        upload, check = verification_service.stage_register(
            current_user, cycle.id, data, form.file.data.filename or "", chosen
        )
    except DomainError as error:
        flash(translate(error.message), "error")
        return _register_page(cycle, form, 400)
    return _not_to_be_kept(render_template(
        "verification/preview.html", cycle=cycle, upload=upload, check=check, form=RegisterFileForm(),
        choice_form=UploadChoiceForm(), labels=verification_service.FIELD_LABELS,
    ))


@bp.post("/admin/cycles/<int:cycle_id>/register/confirm")
@official_required
def confirm_register(cycle_id: int):
    """Add the checked file's good lines to the register."""
    form = UploadChoiceForm()
    return perform(
        form, lambda: verification_service.confirm_register(current_user, cycle_id, form.upload_id.data),
        back=_register_url(cycle_id),
        success=lambda change: (
            _("%(added)s residents are added to the register; %(already)s were in it already.",
              added=change.added, already=change.already_there)
            if change.already_there else _("%(added)s residents are added to the register.", added=change.added)
        ),
    )


@bp.post("/admin/cycles/<int:cycle_id>/register/discard")
@official_required
def discard_upload(cycle_id: int):
    """Throw away a checked file instead of adding it."""
    form = UploadChoiceForm()
    return perform(
        form, lambda: verification_service.discard_upload(current_user, cycle_id, form.upload_id.data),
        back=_register_url(cycle_id), success=_("The checked file is discarded; the register is unchanged."),
    )


@bp.get("/admin/cycles/<int:cycle_id>/lockouts")
@official_required
def lockouts(cycle_id: int):
    """List the accounts locked out of verifying themselves, with a button to lift each lock."""
    cycle = cycles.get_cycle(cycle_id)
    return render_template(
        "verification/lockouts.html", cycle=cycle, locked=verification_service.lockouts(cycle),
        limit=verification_service.ACCOUNT_FAILURE_LIMIT,
    )


@bp.post("/admin/cycles/<int:cycle_id>/lockouts/<int:user_id>/lift")
@official_required
def lift_lockout(cycle_id: int, user_id: int):
    """Let a locked-out resident try to verify themself again."""
    return perform(
        ActionForm(),
        lambda: verification_service.lift_lockout(current_user, cycle_id, user_id),
        back=url_for("verification.lockouts", cycle_id=cycle_id),
        success=lambda user: _("%(name)s can try to verify themself again.", name=user.name),
    )


def _generate_form(cycle) -> GenerateCodesForm:
    form = GenerateCodesForm()
    form.district_id.choices = options((d.id, d.name) for d in cycle.districts)
    return form


@bp.get("/admin/cycles/<int:cycle_id>/codes")
@official_required
def codes(cycle_id: int):
    """List a cycle's voting codes by number and their batches, and generate new ones."""
    cycle = cycles.get_cycle(cycle_id)
    return render_template(
        "verification/codes.html", cycle=cycle, codes=verification_service.list_codes(cycle),
        batches=verification_service.code_batches(cycle), form=_generate_form(cycle), void_form=VoidCodeForm(),
    )


# --- voting code batches: the sheet, the mail-merge CSV and the letters (kept apart from the queue for merging) -----


def _codes_url(cycle_id: int) -> str:
    return url_for("verification.codes", cycle_id=cycle_id)


def _verify_url(cycle_id: int) -> str:
    """The address printed on the letters: where a resident types the code."""
    return url_for("verification.status", cycle_id=cycle_id, _external=True)


@bp.post("/admin/cycles/<int:cycle_id>/codes")
@official_required
def generate_codes(cycle_id: int):
    """Generate a batch of one-time codes once, then show its sheet at an address of its own."""
    cycle = cycles.get_cycle(cycle_id)
    form = _generate_form(cycle)
    if not form.validate_on_submit():
        form_errors(form)
        return redirect(_codes_url(cycle.id))
    try:
        batch = verification_service.generate_code_batch(current_user, cycle.id, form.district_id.data, form.count.data)
    except DomainError as error:
        flash(translate(error.message), "error")
        return redirect(_codes_url(cycle.id))
    flash(_("Codes %(first)s to %(last)s are made. Print this sheet, or download the letters or the mail-merge file.",
            first=batch.first_number, last=batch.last_number), "success")
    # Redirect after POST: reloading or going back shows this batch again and never makes new codes.
    return redirect(url_for("verification.code_batch", cycle_id=cycle.id, batch_id=batch.id), 303)


@bp.get("/admin/cycles/<int:cycle_id>/codes/batches/<int:batch_id>")
@official_required
def code_batch(cycle_id: int, batch_id: int):
    """Show a batch's codes as a sheet to print, the same on every reload, with its downloads."""
    try:
        sheet = verification_service.code_batch_sheet(current_user, cycle_id, batch_id)
    except DomainError as error:
        flash(translate(error.message), "error")
        return redirect(_codes_url(cycle_id))
    return _not_to_be_kept(render_template(
        "verification/sheet.html", cycle=sheet.cycle, sheet=sheet, columns=verification_service.MAIL_MERGE_COLUMNS,
        parts=verification_service.letter_parts(sheet), per_pdf=verification_service.LETTERS_PER_PDF,
    ))


def _secret_download(body: str | bytes, mimetype: str, filename: str):
    response = make_response(body)
    response.mimetype = mimetype
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "no-store"
    return response


def _batch_download(cycle_id: int, batch_id: int, make, mimetype: str, filename: str):
    # A POST (with CSRF) rather than a link: every copy of the codes that leaves the server is logged, and pb's pages
    # never write on a GET.
    form = ActionForm()
    back = url_for("verification.code_batch", cycle_id=cycle_id, batch_id=batch_id)
    if not form.validate_on_submit():
        form_errors(form)
        return redirect(back)
    try:
        body = make(current_user, cycle_id, batch_id, _verify_url(cycle_id))
    except DomainError as error:
        flash(translate(error.message), "error")
        return redirect(_codes_url(cycle_id))
    return _secret_download(body, mimetype, filename)


@bp.post("/admin/cycles/<int:cycle_id>/codes/batches/<int:batch_id>/codes.csv")
@official_required
def code_batch_csv(cycle_id: int, batch_id: int):
    """Download a batch's codes as CSV for a mail merge (one row per code); logged, never cached."""
    return _batch_download(cycle_id, batch_id, verification_service.code_batch_csv, "text/csv",
                           f"pb-voting-codes-cycle-{cycle_id}-batch-{batch_id}.csv")


@bp.post("/admin/cycles/<int:cycle_id>/codes/batches/<int:batch_id>/letters.pdf")
@official_required
def code_batch_letters(cycle_id: int, batch_id: int):
    """Download one part of a batch's letters as a PDF, one A4 page per code; logged, never cached."""
    part = request.form.get("part", "1")
    number = int(part) if part.isdigit() and len(part) < 6 else 0

    def make(actor, cycle, batch, verify_url):
        return verification_service.code_batch_letters(actor, cycle, batch, verify_url, part=number)

    return _batch_download(cycle_id, batch_id, make, "application/pdf",
                           f"pb-voting-letters-cycle-{cycle_id}-batch-{batch_id}-part-{number}.pdf")


@bp.post("/admin/cycles/<int:cycle_id>/codes/batches/<int:batch_id>/forget")
@official_required
def forget_code_batch(cycle_id: int, batch_id: int):
    """Forget a batch's codes once its letters are out; they keep working but cannot be shown again."""
    return perform(
        ActionForm(), lambda: verification_service.forget_code_batch(current_user, cycle_id, batch_id),
        back=_codes_url(cycle_id),
        success=lambda batch: _("The codes numbered %(first)s to %(last)s are forgotten; they still work.",
                                first=batch.first_number, last=batch.last_number),
    )


@bp.post("/admin/cycles/<int:cycle_id>/codes/void")
@official_required
def void_code(cycle_id: int):
    """Cancel a voting code that was lost or sent to the wrong household."""
    form = VoidCodeForm()
    return perform(
        form, lambda: verification_service.void_code(current_user, cycle_id, form.code_id.data),
        back=url_for("verification.codes", cycle_id=cycle_id),
        success=lambda code: _("Code number %(number)s is void; it can no longer verify anyone.", number=code.number),
    )
