"""One cycle in a chosen phase with a user of every role, and a valid submission for every form of the app.

Shared by the fuzz test (tests/blueprints/test_fuzz_forms.py) and the route × role × phase matrix
(tests/blueprints/test_access_phases.py). Built with the models directly, not the factory fixtures, so a
module-scoped app can use it too.
"""

import itertools
import time
from datetime import date, datetime, timedelta

from sqlalchemy import select

from pb.domain.cycle import Phase
from pb.extensions import db
from pb.security import SESSION_SEEN, SESSION_STARTED
from pb.models import (
    Category,
    Comment,
    Cycle,
    District,
    Participation,
    ProjectResult,
    Proposal,
    ProposalStatus,
    Role,
    TallyRun,
    User,
    Verification,
    VerificationRequest,
    VotingCode,
    VotingCodeBatch,
)
from pb.services import revisions
from pb.services.verification import batch_code, code_hash
from tests.conftest import PASSWORD, password_hash

_numbers = itertools.count(1)

# The roles of the matrix; "unverified" is a resident with no verification in the cycle.
ROLES = ("anonymous", "unverified", "resident", "moderator", "official")
COUNTED_PHASES = (Phase.TALLYING, Phase.RESULTS, Phase.CLOSED)


def _user(role: Role, label: str) -> User:
    number = next(_numbers)
    user = User(email=f"{label}{number}@example.org", name=f"{label.capitalize()} {number}", role=role,
                password_hash=password_hash(), email_confirmed_at=datetime(2026, 1, 1))
    db.session.add(user)
    return user


def build_world(phase: Phase) -> dict:
    """Users of every role, a cycle in `phase`, a project on the ballot, a pending proposal, a paper voter.

    From tallying on, a stored count funds the project, as a tally would have; once published, it is revision 1.
    """
    resident, unverified = _user(Role.RESIDENT, "resident"), _user(Role.RESIDENT, "unverified")
    newcomer, moderator, official = _user(Role.RESIDENT, "newcomer"), _user(Role.MODERATOR, "moderator"), \
        _user(Role.OFFICIAL, "official")
    cycle = Cycle(name=f"Cycle {next(_numbers)}", currency="EUR", phase=phase, rule="greedy", total_budget=150_000,
                  has_supports_phase=True)
    north, south = District(cycle=cycle, name="North", budget=100_000), District(cycle=cycle, name="South", budget=50_000)
    category = Category(cycle=cycle, name="Green spaces")
    db.session.add_all([cycle, north, south, category])
    project = Proposal(cycle=cycle, district=north, category=category, author=newcomer, title="Benches",
                       summary="Benches in the park.", description="Ten benches.", estimated_cost=20_000,
                       final_cost=20_000, status=ProposalStatus.ACCEPTED)
    pending = Proposal(cycle=cycle, district=north, category=category, author=resident, title="Pending idea",
                       summary="A fountain.", description="A drinking fountain.", estimated_cost=10_000,
                       status=ProposalStatus.SUBMITTED)
    db.session.add_all([project, pending])
    db.session.flush()
    # The resident's comment on the pending proposal, dated ahead so its edit window stays open however long the
    # tests of the world take.
    comment = Comment(proposal_id=pending.id, author_id=resident.id, body="Where exactly?",
                      created_at=datetime.now() + timedelta(days=3650))
    db.session.add(comment)
    db.session.flush()
    db.session.add(Verification(user_id=resident.id, cycle_id=cycle.id, district_id=north.id,
                                verified_by_id=official.id))
    # The resident's request to be verified in person, still open (made before a moderator verified them another
    # way): only they may cancel it, and verifying it again is refused.
    request = VerificationRequest(cycle_id=cycle.id, user_id=resident.id, district_id=north.id, note="Tuesdays.",
                                  status="open", reason="")
    db.session.add(request)
    # A paper-voter mark an official may take back (the newcomer was marked by mistake).
    db.session.add(Participation(user_id=newcomer.id, cycle_id=cycle.id, district_id=north.id, channel="paper"))
    code = f"WORLD-{cycle.id:06d}"  # a letter's one-time code, unique to this world
    db.session.add(VotingCode(cycle_id=cycle.id, district_id=north.id, number=1, code_hash=code_hash(code),
                              created_by_id=official.id))
    # A batch of one code whose sheet, CSV and letters can still be shown (codes made before batches have none).
    batch = VotingCodeBatch(cycle_id=cycle.id, district_id=north.id, first_number=2, count=1,
                            seed=f"world-{cycle.id}".ljust(64, "0"), created_by_id=official.id)
    db.session.add(batch)
    db.session.flush()
    db.session.add(VotingCode(cycle_id=cycle.id, district_id=north.id, number=2, batch_id=batch.id,
                              code_hash=code_hash(batch_code(batch.seed, 2)), created_by_id=official.id))
    if phase in COUNTED_PHASES:
        run = TallyRun(cycle_id=cycle.id, district_id=north.id, rule="greedy", tie_break="seeded",
                       budget=north.budget, spent=project.final_cost, ballot_count=1, run_by_id=official.id)
        run.results.append(ProjectResult(project_id=project.id, votes=1, cost=project.final_cost, is_funded=True,
                                         position=1))
        # South had no ballots, but it is counted too: approving needs every district's count.
        db.session.add_all([run, TallyRun(cycle_id=cycle.id, district_id=south.id, rule="greedy", tie_break="seeded",
                                          budget=south.budget, spent=0, ballot_count=0, run_by_id=official.id)])
        db.session.flush()
    if phase in (Phase.RESULTS, Phase.CLOSED):
        revisions.record_first(cycle, official)  # as publishing the count does
    db.session.commit()
    code_id = db.session.scalar(select(VotingCode.id).where(VotingCode.cycle_id == cycle.id, VotingCode.number == 1))
    return {
        "phase": phase, "cycle": cycle.id, "north": north.id, "south": south.id, "category": category.id,
        "project": project.id, "pending": pending.id, "code": code_id, "request": request.id, "code_text": code,
        "comment": comment.id, "batch": batch.id,
        "users": {"resident": resident.id, "unverified": unverified.id, "newcomer": newcomer.id,
                  "moderator": moderator.id, "official": official.id},
        "emails": {"resident": resident.email},
    }


def url_values(endpoint: str, w: dict) -> dict:
    """The values for a route's placeholders: the proposal is the pending one except where a project is meant."""
    project_pages = endpoint.startswith(("public.", "results.", "implementation.", "api."))
    return {
        # South has no voting code, project or voter: removing it can work; North's ballot is the one with a project.
        "cycle_id": w["cycle"], "district_id": w["south"] if endpoint == "admin.remove_district" else w["north"],
        "user_id": w["users"]["newcomer"],
        "proposal_id": w["project"] if project_pages else w["pending"], "project_id": w["project"],
        "photo_id": 1, "document_id": 1, "size": "card",
        "kind": "turnout", "unknown": "no-such-thing", "number": 1, "code": "es", "change_id": 1, "message_id": 1,
        "comment_id": w["comment"], "request_id": w["request"], "batch_id": w["batch"],
        "category_id": w["category"],
        "version": "no-such-logo",  # the worlds have no logo
        # A working password reset link for the reset form (it works once); a broken token for the other links.
        "token": _reset_token(w) if endpoint == "auth.reset_password" else "not-a-valid-token",
    }


def _reset_token(w: dict) -> str:
    from pb.services import accounts

    return accounts.reset_token(db.session.get(User, w["users"]["unverified"]))


def fill(rule: str, values: dict) -> str:
    """A concrete address from a URL rule such as /cycles/<int:cycle_id>/vote/<int:district_id>."""
    url = rule
    for name, value in values.items():
        url = url.replace(f"<int:{name}>", str(value)).replace(f"<{name}>", str(value)).replace(
            f"<path:{name}>", str(value))
    assert "<" not in url, f"no value for a placeholder in {rule}"
    return url


def log_in(client, user_id: int) -> None:
    """Log the client in as a user the way Flask-Login's cookie does, without the password (which forms may change)."""
    version = db.session.scalar(select(User.session_version).where(User.id == user_id))
    with client.session_transaction() as session:
        session["_user_id"] = f"{user_id}:{version}"
        session["_fresh"] = True
        session[SESSION_STARTED] = session[SESSION_SEEN] = int(time.time())


_CYCLE_SETTINGS = {
    "name": lambda w: f"Budget {next(_numbers)}", "description": "Parks and streets.", "currency": "EUR",
    "total_budget": "1500", "rule": "greedy", "min_projects": "1", "max_projects": "3",
    "timezone": "Europe/Madrid", "proposals_open_at": "2030-01-01T09:00", "review_at": "2030-02-01T09:00",
    "voting_open_at": "2030-03-01T09:00", "voting_close_at": "2030-04-01T20:00", "results_at": "2030-05-01T12:00",
    "has_supports_phase": "y", "supports_at": "2030-01-20T09:00", "supports_per_district": "5",
    "supports_advance_top": "3", "supports_threshold": "2",
}
_PROPOSAL = {
    "title": "Trees", "summary": "Plant trees.", "description": "Fifty trees along the river.",
    "estimated_cost": "120,50", "district_id": lambda w: w["north"], "category_id": lambda w: w["category"],
    "location": "River bank", "latitude": "41.3874", "longitude": "2,1686",
}

def _photo() -> tuple[bytes, str]:
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (40, 30), (30, 120, 60)).save(out, "PNG")
    return out.getvalue(), "park.png"


_PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"

# endpoint → (acting role, phase in which the form does its work, a valid submission). A value may be a function
# of the world, or a list for a field sent several times (checkboxes). "file" is an uploaded file's text.
FORMS = {
    "auth.login": ("anonymous", Phase.PROPOSALS,
                   {"email": lambda w: w["emails"]["resident"], "password": PASSWORD}),
    "auth.register": ("anonymous", Phase.PROPOSALS,
                      {"name": "Ann Example", "email": lambda w: f"ann{next(_numbers)}@example.org",
                       "password": "a-long-password", "confirm": "a-long-password"}),
    "auth.logout": ("resident", Phase.PROPOSALS, {}),
    "auth.resend_confirmation": ("resident", Phase.PROPOSALS, {"next": "/"}),
    "auth.forgot_password": ("anonymous", Phase.PROPOSALS, {"email": lambda w: w["emails"]["resident"]}),
    "auth.reset_password": ("anonymous", Phase.PROPOSALS,
                            {"new_password": "a-brand-new-password", "confirm": "a-brand-new-password"}),
    "profile.show": ("resident", Phase.PROPOSALS, {"name": "Rita Resident", "locale": "es", "wanted": ["results"]}),
    "profile.change_email": ("resident", Phase.PROPOSALS, {"new_email": "rita@example.org", "password": PASSWORD}),
    "profile.delete": ("unverified", Phase.PROPOSALS, {"password": PASSWORD, "confirm": "y"}),
    "privacy.edit": ("official", Phase.PROPOSALS, {"text": "What the city keeps.\n\nAnd why."}),
    "identity.edit": ("official", Phase.PROPOSALS,
                      {"name": "Riverside decides", "tagline": "Our budget", "logo_alt": "", "primary_colour": "#1d5e8c",
                       "header_colour": "#0f3d5e", "contact_address": "Town Hall\n1 Market Square",
                       "contact_phone": "+48 22 123 45 67", "contact_email": "budget@riverside.example",
                       "opening_hours": "Monday to Friday, 8:00 to 16:00"}),
    "auth.change_password": ("resident", Phase.PROPOSALS,
                             {"current_password": PASSWORD, "new_password": "another-long-password",
                              "confirm": "another-long-password"}),
    "proposals.new": ("resident", Phase.PROPOSALS, _PROPOSAL),
    "proposals.edit": ("resident", Phase.PROPOSALS, {**_PROPOSAL, "version": "1"}),
    "proposals.withdraw": ("resident", Phase.PROPOSALS, {}),
    "media.add_photo": ("resident", Phase.PROPOSALS, {"file": lambda w: _photo(), "alt_text": "The park at dusk."}),
    "media.add_document": ("resident", Phase.PROPOSALS, {"file": (_PDF, "plan.pdf"), "title": "Site plan"}),
    # The worlds hold no photo or document: these are refused (no such photo), which the fuzzing checks.
    "media.remove_photo": ("resident", Phase.PROPOSALS, {}),
    "media.move_photo": ("resident", Phase.PROPOSALS, {"direction": "down"}),
    "media.remove_document": ("resident", Phase.PROPOSALS, {}),
    # Buttons with no fields: the verified resident supports the pending proposal (taking back one they do not
    # give is refused with a reason).
    "supports.support": ("resident", Phase.SUPPORTS, {}),
    "supports.unsupport": ("resident", Phase.SUPPORTS, {}),
    "voting.ballot": ("resident", Phase.VOTING, {"project": lambda w: [str(w["project"])], "version": "0"}),
    "verification.with_register": ("unverified", Phase.PROPOSALS,
                                   {"register-document": "X1234567", "register-birth_date": "1980-02-03",
                                    "register-postcode": "1000"}),
    "verification.with_code": ("unverified", Phase.PROPOSALS, {"code-code": lambda w: w["code_text"]}),
    "verification.upload_register": ("official", Phase.PROPOSALS,
                                     {"file": "document,birth_date,postcode,district\nX1,1980-02-03,1000,North\n",
                                      "document_column": "", "birth_date_column": "", "postcode_column": "",
                                      "district_column": ""}),
    "verification.confirm_register": ("official", Phase.PROPOSALS, {"upload_id": "1"}),
    "verification.discard_upload": ("official", Phase.PROPOSALS, {"upload_id": "1"}),
    "verification.lift_lockout": ("official", Phase.PROPOSALS, {}),
    "verification.generate_codes": ("official", Phase.PROPOSALS,
                                    {"district_id": lambda w: w["north"], "count": "2"}),
    "verification.void_code": ("official", Phase.PROPOSALS, {"code_id": lambda w: w["code"]}),
    "verification.code_batch_csv": ("official", Phase.PROPOSALS, {}),
    "verification.code_batch_letters": ("official", Phase.PROPOSALS, {"part": "1"}),
    "verification.forget_code_batch": ("official", Phase.PROPOSALS, {}),
    "paper.enter_sheet": ("official", Phase.VOTING,
                          {"polling_station": "Library", "number": "1", "project": lambda w: [str(w["project"])]}),
    "paper.correct_sheet": ("official", Phase.VOTING,
                            {"polling_station": "Library", "number": "1", "project": lambda w: [str(w["project"])]}),
    "paper.voters": ("official", Phase.VOTING,
                     {"user_id": lambda w: w["users"]["resident"], "district_id": lambda w: w["north"]}),
    "paper.undo_voter": ("official", Phase.VOTING,
                         {"user_id": lambda w: w["users"]["newcomer"], "district_id": lambda w: w["north"],
                          "reason": "Marked by mistake."}),
    "moderation.accept": ("moderator", Phase.REVIEW,
                          {"accept-final_cost": "100", "accept-note": "Fine.", "accept-version": "1"}),
    "moderation.reject": ("moderator", Phase.REVIEW, {"reject-note": "Not on city land.", "reject-version": "1"}),
    "moderation.request_changes": ("moderator", Phase.REVIEW,
                                   {"changes-note": "Say where, please.", "changes-version": "1"}),
    "moderation.merge": ("moderator", Phase.REVIEW,
                         {"merge-into_id": lambda w: f"{w['project']}:1", "merge-note": "The same idea.",
                          "merge-version": "1"}),
    "moderation.residents": ("moderator", Phase.PROPOSALS,
                             {"user_id": lambda w: w["users"]["unverified"], "district_id": lambda w: w["north"]}),
    "moderation.revoke": ("moderator", Phase.VOTING,
                          {"user_id": lambda w: w["users"]["resident"], "reason": "Wrong district.", "confirm": "y"}),
    # Nothing was decided on the pending proposal: undoing is refused with a reason.
    "moderation.undo": ("moderator", Phase.REVIEW, {"version": "1"}),
    "verification_requests.ask": ("unverified", Phase.PROPOSALS,
                                  {"district_id": lambda w: w["north"], "note": "I can come on Tuesday."}),
    "verification_requests.cancel": ("resident", Phase.PROPOSALS, {}),
    "verification_requests.verify": ("moderator", Phase.PROPOSALS, {}),  # refused: the resident is verified already
    "verification_requests.decline": ("moderator", Phase.PROPOSALS, {"reason": "The document shows another town."}),
    "admin.new_cycle": ("official", Phase.DRAFT, _CYCLE_SETTINGS),
    "admin.settings": ("official", Phase.DRAFT, _CYCLE_SETTINGS),
    "admin.add_district": ("official", Phase.DRAFT, {"district-name": "East", "district-budget": "200"}),
    "admin.remove_district": ("official", Phase.DRAFT, {}),
    "admin.add_category": ("official", Phase.DRAFT, {"category-name": "Streets"}),
    "admin.change_district_budget": ("official", Phase.DRAFT, {"budget-budget": "300"}),
    "admin.remove_category": ("official", Phase.DRAFT, {}),  # refused: the worlds' proposals use the category
    "admin.audit_csv": ("official", Phase.PROPOSALS, {}),
    "admin.audit_all_csv": ("official", Phase.PROPOSALS, {}),
    "admin.advance": ("official", Phase.DRAFT, {"expected_phase": "draft", "reason": ""}),
    "admin.tally": ("official", Phase.TALLYING, {}),
    "admin.change_role": ("official", Phase.PROPOSALS, {"role": "moderator"}),
    "admin.disable_user": ("official", Phase.PROPOSALS, {}),
    "admin.enable_user": ("official", Phase.PROPOSALS, {}),
    # Buttons with no fields; the worlds hold no failed message, so trying one again is refused with a reason.
    "admin.retry_mail": ("official", Phase.PROPOSALS, {}),
    "admin.retry_all_mail": ("official", Phase.PROPOSALS, {}),
    "admin.approve_role_change": ("official", Phase.PROPOSALS, {}),
    "admin.cancel_role_change": ("official", Phase.PROPOSALS, {}),
    "publication.approve": ("official", Phase.TALLYING, {}),
    "publication.propose_correction": ("official", Phase.RESULTS,
                                       {"reason": "A project was counted twice.", "project_ids": lambda w: [str(w["project"])]}),
    "publication.approve_correction": ("official", Phase.RESULTS, {}),
    "publication.cancel_correction": ("official", Phase.RESULTS, {}),
    "comments.post": ("resident", Phase.PROPOSALS, {"body": "Where would it go?\nNear the school?", "parent_id": ""}),
    "comments.edit": ("resident", Phase.PROPOSALS, {"body": "Where exactly, please?"}),
    "comments.delete": ("resident", Phase.PROPOSALS, {}),
    "comments.flag": ("moderator", Phase.PROPOSALS, {"reason": "It names a neighbour."}),
    "comments.hide": ("moderator", Phase.PROPOSALS, {"reason": "Personal details of a neighbour."}),
    "comments.dismiss": ("moderator", Phase.PROPOSALS, {}),  # no open flag in the world: refused with a reason
    "comments.follow": ("unverified", Phase.PROPOSALS, {}),
    "comments.unfollow": ("resident", Phase.PROPOSALS, {}),
    "implementation.edit": ("official", Phase.RESULTS,
                            {"status": "in_progress", "progress": "10", "spent": "5", "cancel_reason": "",
                             "version": "0"}),
    "implementation.post_update": ("official", Phase.RESULTS,
                                   {"update-posted_on": lambda w: (date.today() - timedelta(days=1)).isoformat(),
                                    "update-text": "Work has started."}),
    "places.boundaries": ("official", Phase.PROPOSALS,
                          {"district_id": lambda w: w["north"],
                           "file": '{"type": "Polygon", "coordinates": [[[2, 41], [3, 41], [3, 42], [2, 41]]]}'}),
    "places.remove_boundary": ("official", Phase.PROPOSALS, {}),  # refused: the worlds' districts have no boundary
    # Ballot designs (issue 20): a cumulative ballot for the cycle, a ranking of its own for North.
    "ballot_settings.cycle_ballot": ("official", Phase.DRAFT,
                                     {"kind": "cumulative", "min_projects": "1", "max_projects": "4",
                                      "min_spend_percent": "", "points": "10", "max_points_per_project": "5"}),
    "ballot_settings.district_ballot": ("official", Phase.DRAFT,
                                        {"source": "own", "kind": "ranking", "min_projects": "1",
                                         "max_projects": "3", "min_spend_percent": "", "points": "",
                                         "max_points_per_project": ""}),
}


def valid_submission(endpoint: str, w: dict) -> dict:
    """The form's valid values for this world, each a string or a list of strings (plus "file": text, or a
    (bytes, filename) pair)."""
    _, _, fields = FORMS[endpoint]
    values = {}
    for name, value in fields.items():
        value = value(w) if callable(value) else value
        if isinstance(value, tuple):
            values[name] = value
            continue
        values[name] = [str(v) for v in value] if isinstance(value, list) else str(value)
    return values
