"""Every route × every role: built from the app's own URL map, so a new route must be classified here."""

import pytest

from pb import create_app
from pb.domain.cycle import Phase
from pb.models import Role

PUBLIC, LOGIN, MODERATOR, OFFICIAL = "public", "login", "moderator", "official"

# Who may use each endpoint. A route missing from this table fails test_every_route_is_classified.
ACCESS = {
    "public.home": PUBLIC,
    "public.cycle": PUBLIC,
    "public.proposal_list": PUBLIC,
    "public.proposal": PUBLIC,
    "public.accessibility": PUBLIC,
    "public.how_voting_works": PUBLIC,
    "identity.edit": OFFICIAL,
    "identity.logo": PUBLIC,
    "identity.favicon": PUBLIC,
    "identity.stylesheet": PUBLIC,
    "auth.login": PUBLIC,
    "auth.register": PUBLIC,
    "auth.logout": LOGIN,
    "auth.change_password": LOGIN,
    "proposals.new": LOGIN,
    "proposals.edit": LOGIN,
    "proposals.withdraw": LOGIN,
    "proposals.mine": LOGIN,
    "voting.districts": LOGIN,
    "voting.ballot": LOGIN,
    "verification.status": LOGIN,
    "verification.with_register": LOGIN,
    "verification.with_code": LOGIN,
    "verification.register": OFFICIAL,
    "verification.upload_register": OFFICIAL,
    "verification.confirm_register": OFFICIAL,
    "verification.discard_upload": OFFICIAL,
    "verification.lockouts": OFFICIAL,
    "verification.lift_lockout": OFFICIAL,
    "verification.codes": OFFICIAL,
    "verification.generate_codes": OFFICIAL,
    "verification.void_code": OFFICIAL,
    "verification.code_batch": OFFICIAL,
    "verification.code_batch_csv": OFFICIAL,
    "verification.code_batch_letters": OFFICIAL,
    "verification.forget_code_batch": OFFICIAL,
    "paper.overview": OFFICIAL,
    "paper.enter_sheet": OFFICIAL,
    "paper.correct_sheet": OFFICIAL,
    "paper.voters": OFFICIAL,
    "paper.undo_voter": OFFICIAL,
    "results.show": PUBLIC,
    "results.district": PUBLIC,
    "results.chart": PUBLIC,
    "results.votes_chart": PUBLIC,
    "results.ballot_list": PUBLIC,
    "results.ballot_list_pabulib": PUBLIC,
    "results.export_csv": PUBLIC,
    "results.export_json": PUBLIC,
    "results.export_pabulib": OFFICIAL,
    "results.export_pdf": PUBLIC,
    "results.receipt": PUBLIC,
    "moderation.index": MODERATOR,
    "moderation.queue": MODERATOR,
    "moderation.review": MODERATOR,
    "moderation.accept": MODERATOR,
    "moderation.reject": MODERATOR,
    "moderation.request_changes": MODERATOR,
    "moderation.merge": MODERATOR,
    "moderation.residents": MODERATOR,
    "moderation.revoke": MODERATOR,
    "moderation.undo": MODERATOR,
    "verification_requests.ask": LOGIN,
    "verification_requests.cancel": LOGIN,
    "verification_requests.queue": MODERATOR,
    "verification_requests.verify": MODERATOR,
    "verification_requests.decline": MODERATOR,
    "admin.index": OFFICIAL,
    "admin.new_cycle": OFFICIAL,
    "admin.cycle": OFFICIAL,
    "admin.settings": OFFICIAL,
    "admin.add_district": OFFICIAL,
    "admin.remove_district": OFFICIAL,
    "admin.add_category": OFFICIAL,
    "admin.advance": OFFICIAL,
    "admin.tally": OFFICIAL,
    "admin.audit_log": OFFICIAL,
    "admin.audit_all": OFFICIAL,
    "admin.audit_csv": OFFICIAL,
    "admin.audit_all_csv": OFFICIAL,
    "admin.proposals_csv": OFFICIAL,
    "admin.change_district_budget": OFFICIAL,
    "admin.remove_category": OFFICIAL,
    "admin.user_list": OFFICIAL,
    "admin.change_role": OFFICIAL,
    "admin.disable_user": OFFICIAL,
    "admin.enable_user": OFFICIAL,
    "admin.approve_role_change": OFFICIAL,
    "admin.cancel_role_change": OFFICIAL,
    "admin.mail": OFFICIAL,
    "admin.retry_mail": OFFICIAL,
    "admin.retry_all_mail": OFFICIAL,
    "publication.review_count": OFFICIAL,
    "publication.approve": OFFICIAL,
    "publication.propose_correction": OFFICIAL,
    "publication.approve_correction": OFFICIAL,
    "publication.cancel_correction": OFFICIAL,
    "results.revisions_list": PUBLIC,
    "results.revision": PUBLIC,
    "api.index": PUBLIC,
    "api.openapi": PUBLIC,
    "api.cycles": PUBLIC,
    "api.cycle": PUBLIC,
    "api.projects": PUBLIC,
    "api.project": PUBLIC,
    "api.results": PUBLIC,
    "api.unknown": PUBLIC,
    "dashboard.show": OFFICIAL,
    "implementation.overview": PUBLIC,
    "implementation.edit": OFFICIAL,
    "implementation.post_update": OFFICIAL,
    "language.choose": PUBLIC,
    "auth.confirm_email": PUBLIC,
    "auth.resend_confirmation": LOGIN,
    "auth.forgot_password": PUBLIC,
    "auth.reset_password": PUBLIC,
    "profile.show": LOGIN,
    "profile.change_email": LOGIN,
    "profile.confirm_email_change": PUBLIC,
    "profile.download": LOGIN,
    "profile.delete": LOGIN,
    "privacy.show": PUBLIC,
    "notifications.unsubscribe": PUBLIC,
    "notifications.unsubscribe_confirmed": PUBLIC,
    "privacy.edit": OFFICIAL,
    # The author while the proposal may be edited, or a moderator; the service refuses others with a reason.
    "media.manage": LOGIN,
    "media.add_photo": LOGIN,
    "media.add_document": LOGIN,
    "media.remove_photo": LOGIN,
    "media.move_photo": LOGIN,
    "media.remove_document": LOGIN,
    "media.photo": PUBLIC,
    "media.document": PUBLIC,
    "places.ballot_map": PUBLIC,
    "places.results_map": PUBLIC,
    "places.boundaries": OFFICIAL,
    "places.remove_boundary": OFFICIAL,
    "comments.post": LOGIN,
    "comments.edit": LOGIN,
    "comments.delete": LOGIN,
    "comments.flag": LOGIN,
    "comments.queue": MODERATOR,
    "comments.hide": MODERATOR,
    "comments.dismiss": MODERATOR,
    "comments.follow": LOGIN,
    "comments.unfollow": LOGIN,
    "supports.support": LOGIN,
    "supports.unsupport": LOGIN,
    "supports.ranking": MODERATOR,
    # Ballot designs (issue 20).
    "ballot_settings.cycle_ballot": OFFICIAL,
    "ballot_settings.district_ballot": OFFICIAL,
    "ballot_settings.settings_json": PUBLIC,
    # Paper ballots of every design (issue 20, paper): the blank ballot to print.
    "paper.blank_ballot": OFFICIAL,
}

ROLES = ["anonymous", Role.RESIDENT.value, Role.MODERATOR.value, Role.OFFICIAL.value]
_RANK = {"anonymous": 0, "resident": 1, "moderator": 2, "official": 3}
_NEEDED = {PUBLIC: 0, LOGIN: 1, MODERATOR: 2, OFFICIAL: 3}


def _routes():
    app = create_app({"TESTING": True, "DATABASE_URL": "sqlite://"})
    routes = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            routes.append((rule.endpoint, method, rule.rule))
    return routes


ROUTES = _routes()


def test_every_route_is_classified():
    assert {endpoint for endpoint, _, _ in ROUTES} == set(ACCESS)


@pytest.fixture
def world(make_user, make_cycle, make_project, verify):
    resident = make_user(Role.RESIDENT)
    users = {"resident": resident, "moderator": make_user(Role.MODERATOR), "official": make_user(Role.OFFICIAL)}
    cycle = make_cycle(Phase.VOTING)
    project = make_project(cycle, author=resident)
    verify(resident, cycle.districts[0])
    values = {"cycle_id": cycle.id, "district_id": cycle.districts[0].id, "proposal_id": project.id, "user_id": resident.id,
              "number": 1, "change_id": 1, "message_id": 1, "photo_id": 1, "document_id": 1, "comment_id": 1,
              "request_id": 1, "batch_id": 1, "category_id": cycle.categories[0].id}
    return users, values


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("endpoint", "method", "rule"), ROUTES, ids=[f"{m} {r}" for _, m, r in ROUTES])
def test_route_answers_each_role_as_classified(client, world, role, endpoint, method, rule):
    users, values = world
    if role != "anonymous":
        client.login(users[role])
    url = rule
    for name, value in values.items():
        url = url.replace(f"<int:{name}>", str(value))
    response = client.get(url) if method == "GET" else client.submit(url, {})
    allowed = _RANK[role] >= _NEEDED[ACCESS[endpoint]]
    assert response.status_code < 500
    if allowed:
        assert response.status_code not in (401, 403)
        assert "/login" not in (response.location or "") or endpoint == "auth.logout"
    elif role == "anonymous":
        assert response.status_code == 302 and response.location.startswith("/login")
    else:
        assert response.status_code == 403
