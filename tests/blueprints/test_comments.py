"""The discussion on a proposal page: who may comment, edit, delete, flag, hide; bad input; rate limits; following."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from pb.domain.cycle import Phase
from pb.extensions import db
from pb.models import AuditEntry, Comment, CommentFlag, Follow, ProposalStatus, Role, utcnow
from tests.blueprints.test_bad_input import database_state


def _comments() -> list[Comment]:
    return list(db.session.scalars(select(Comment).order_by(Comment.id)))


def _flashes(client) -> list[tuple[str, str]]:
    with client.session_transaction() as session:
        return list(session.get("_flashes", []))


@pytest.fixture
def proposal(make_cycle, make_proposal):
    return make_proposal(make_cycle(Phase.PROPOSALS), title="Benches")


def _post(client, proposal, body="Where would they go?", **extra):
    return client.submit(f"/proposals/{proposal.id}/comments", {"body": body, **extra})


@pytest.mark.parametrize(("who", "status", "stored"), [
    ("anonymous", 302, 0),
    ("unconfirmed", 302, 0),
    ("resident", 302, 1),
    ("moderator", 302, 1),
])
def test_who_may_comment(client, make_user, proposal, who, status, stored):
    if who == "unconfirmed":
        client.login(make_user(email_confirmed_at=None))
    elif who != "anonymous":
        client.login(make_user(Role.MODERATOR if who == "moderator" else Role.RESIDENT))
    response = _post(client, proposal)
    assert response.status_code == status
    assert len(_comments()) == stored
    if who == "anonymous":
        assert response.location.startswith("/login")
    elif who == "unconfirmed":
        assert any("Confirm your email" in message for _, message in _flashes(client))
    else:
        assert response.location == f"/proposals/{proposal.id}#comment-{_comments()[0].id}"


def test_the_comment_shows_escaped_with_its_line_breaks_and_the_page_is_small(client, make_user, proposal):
    client.login(make_user(name="Ann"))
    _post(client, proposal, "<script>alert(1)</script>\nSecond line")
    page = client.get(f"/proposals/{proposal.id}").get_data(as_text=True)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;\nSecond line" in page and "<script>alert" not in page
    assert "Discussion: 1 comment" in page and "Ann" in page
    assert len(page.encode()) < 100_000


@pytest.mark.parametrize(("body", "message"), [
    ("", "Write your comment."),
    ("x" * 100_000, "Field cannot be longer than 20000 characters."),
    ("x" * 5001, "Keep your comment under 5000 characters"),
])
def test_bad_comments_get_a_clear_message_and_store_nothing(client, make_user, proposal, body, message):
    client.login(make_user())
    before = database_state()
    response = _post(client, proposal, body)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True) or any(message in m for _, m in _flashes(client))
    assert database_state() == before


def test_a_reply_to_an_unknown_comment_is_refused(client, make_user, proposal):
    client.login(make_user())
    response = _post(client, proposal, "Hello", parent_id="999999")
    assert response.status_code == 302 and "There is no such comment." in str(_flashes(client))
    assert _comments() == []


def test_replying_through_the_reply_page_works_without_javascript(client, make_user, proposal):
    client.login(make_user())
    _post(client, proposal, "Top")
    [top] = _comments()
    page = client.get(f"/proposals/{proposal.id}/comments?reply_to={top.id}").get_data(as_text=True)
    assert f'name="parent_id" type="hidden" value="{top.id}"' in page or f'value="{top.id}"' in page
    _post(client, proposal, "A reply", parent_id=str(top.id))
    assert [c.parent_id for c in _comments()] == [None, top.id]


@pytest.mark.parametrize(("phase", "status"), [(Phase.PROPOSALS, ProposalStatus.WITHDRAWN),
                                               (Phase.CLOSED, ProposalStatus.ACCEPTED)])
def test_commenting_on_a_withdrawn_proposal_or_in_a_closed_cycle_is_refused_clearly(
        client, make_user, make_cycle, make_proposal, phase, status):
    author = make_user()
    proposal = make_proposal(make_cycle(phase), status=status, author=author)
    client.login(author)  # the author still sees a withdrawn proposal
    before = database_state()
    response = _post(client, proposal)
    assert response.status_code == 302 and database_state() == before
    assert any(category == "error" and ("not public" in message or "closed" in message)
               for category, message in _flashes(client))


def test_the_rate_limit_answers_429_with_a_clear_message(app, client, make_user, proposal):
    app.config["COMMENTS_PER_MINUTE"] = 100  # the limiter alone
    client.login(make_user())
    statuses = [_post(client, proposal, f"Comment {number}").status_code for number in range(6)]
    assert statuses == [302] * 5 + [429]
    assert len(_comments()) == 5


def test_the_database_limit_holds_when_the_limiter_does_not(app, client, make_user, proposal):
    # Several workers with memory:// storage each count alone; the service's count in the database still holds.
    app.config["COMMENT_LIMIT_PER_ACCOUNT"] = "1000 per minute"
    client.login(make_user())
    for number in range(5):
        _post(client, proposal, f"Comment {number}")
    response = _post(client, proposal, "One too many")
    assert response.status_code == 400 and "in the last minute" in response.get_data(as_text=True)
    assert len(_comments()) == 5


def test_the_author_edits_within_the_window_then_no_more(client, make_user, proposal):
    ann = make_user()
    client.login(ann)
    _post(client, proposal, "Typo hre")
    [comment] = _comments()
    assert client.get(f"/comments/{comment.id}/edit").status_code == 200
    response = client.submit(f"/comments/{comment.id}/edit", {"body": "Typo here"})
    assert response.status_code == 302 and _comments()[0].body == "Typo here"
    assert "edited" in client.get(f"/proposals/{proposal.id}").get_data(as_text=True)
    db.session.get(Comment, comment.id).created_at = utcnow() - timedelta(minutes=16)
    db.session.commit()
    response = client.submit(f"/comments/{comment.id}/edit", {"body": "Too late"})
    assert response.status_code == 302 and _comments()[0].body == "Typo here"
    assert "can be edited for 15 minutes" in str(_flashes(client))


def test_someone_else_cannot_edit_or_delete(client, make_user, proposal):
    client.login(make_user())
    _post(client, proposal, "Mine")
    client.submit("/logout")
    client.login(make_user())
    [comment] = _comments()
    assert client.submit(f"/comments/{comment.id}/edit", {"body": "Yours now"}).status_code == 302
    assert client.submit(f"/comments/{comment.id}/delete").status_code == 302
    assert [c.body for c in _comments()] == ["Mine"]


def test_the_author_deletes_and_a_placeholder_stays_for_replies(client, make_user, proposal):
    ann, bob = make_user(), make_user()
    client.login(ann)
    _post(client, proposal, "Question")
    [top] = _comments()
    client.submit("/logout")
    client.login(bob)
    _post(client, proposal, "Answer", parent_id=str(top.id))
    client.submit("/logout")
    client.login(ann)
    assert client.submit(f"/comments/{top.id}/delete").status_code == 302
    page = client.get(f"/proposals/{proposal.id}").get_data(as_text=True)
    assert "Comment deleted by its author." in page and "Question" not in page and "Answer" in page


def test_flag_then_hide_as_moderator_shows_the_reason_to_everyone(client, make_user, proposal):
    ann, bob, moderator = make_user(), make_user(), make_user(Role.MODERATOR)
    client.login(ann)
    _post(client, proposal, "Rude words")
    [comment] = _comments()
    client.submit("/logout")
    client.login(bob)
    assert client.get(f"/comments/{comment.id}/flag").status_code == 200
    assert client.submit(f"/comments/{comment.id}/flag", {"reason": "Insults"}).status_code == 302
    client.submit(f"/comments/{comment.id}/flag", {"reason": "Again"})
    assert "already flagged" in str(_flashes(client))
    assert db.session.scalar(select(func.count()).select_from(CommentFlag)) == 1
    assert client.get("/moderation/comments").status_code == 403
    client.submit(f"/comments/{comment.id}/hide", {"reason": "Mine now"})
    assert _comments()[0].hidden_at is None
    client.submit("/logout")
    client.login(moderator)
    assert "1 flagged comment</a>" in client.get("/moderation/").get_data(as_text=True)
    queue = client.get("/moderation/comments").get_data(as_text=True)
    assert "Rude words" in queue and "Insults" in queue
    assert client.submit(f"/comments/{comment.id}/hide", {"reason": ""}).status_code == 302
    assert _comments()[0].hidden_at is None
    response = client.submit(f"/comments/{comment.id}/hide", {"reason": "Insults a neighbour"})
    assert response.status_code == 302 and _comments()[0].hidden_reason == "Insults a neighbour"
    assert db.session.scalar(select(func.count()).select_from(AuditEntry)
                             .where(AuditEntry.action == "hide-comment")) == 1
    client.submit("/logout")
    page = client.get(f"/proposals/{proposal.id}").get_data(as_text=True)
    assert "Hidden by a moderator: Insults a neighbour" in page and "Rude words" not in page


def test_following_from_the_proposal_page(client, make_user, proposal):
    assert "Log in to follow this proposal" in client.get(f"/proposals/{proposal.id}").get_data(as_text=True)
    ann = make_user()
    client.login(ann)
    assert client.submit(f"/proposals/{proposal.id}/follow").status_code == 302
    assert db.session.get(Follow, (ann.id, proposal.id)) is not None
    assert "Unfollow this proposal" in client.get(f"/proposals/{proposal.id}").get_data(as_text=True)
    assert client.submit(f"/proposals/{proposal.id}/unfollow").status_code == 302
    assert db.session.get(Follow, (ann.id, proposal.id)) is None


def test_comments_are_paged(client, make_user, proposal):
    ann = make_user()
    db.session.add_all([Comment(proposal_id=proposal.id, author_id=ann.id, body=f"Number {n}",
                                created_at=utcnow() - timedelta(minutes=n)) for n in range(25)])
    db.session.commit()
    first = client.get(f"/proposals/{proposal.id}").get_data(as_text=True)
    second = client.get(f"/proposals/{proposal.id}?comments_page=2").get_data(as_text=True)
    assert ">Number 0<" in first and ">Number 19<" in first and ">Number 20<" not in first
    assert ">Number 20<" in second and ">Number 24<" in second and "Older comments" in first
    assert client.get(f"/proposals/{proposal.id}?comments_page=x").status_code == 200


def test_download_and_deletion_cover_comments_flags_and_follows(client, make_user, proposal):
    import json

    ann, bob = make_user(), make_user()
    client.login(bob)
    _post(client, proposal, "Bob's comment")
    client.submit("/logout")
    client.login(ann)
    _post(client, proposal, "Ann's comment")
    [bobs, anns] = _comments()
    client.submit(f"/comments/{bobs.id}/flag", {"reason": "Spam"})
    client.submit(f"/proposals/{proposal.id}/follow")
    data = json.loads(client.get("/profile/my-data.json").get_data(as_text=True))
    assert [c["text"] for c in data["comments"]] == ["Ann's comment"]
    assert [f["reason"] for f in data["comments_you_flagged"]] == ["Spam"]
    assert [f["proposal_id"] for f in data["proposals_you_follow"]] == [proposal.id]
    from tests.conftest import PASSWORD

    assert client.submit("/profile/delete", {"password": PASSWORD, "confirm": "y"}).status_code == 302
    # Comments are anonymised: the text stays in its discussion, without an author; flags stay; follows go.
    kept = db.session.get(Comment, anns.id)
    assert kept.body == "Ann's comment" and kept.author_id is None
    assert db.session.scalars(select(CommentFlag)).one().user_id is None
    assert db.session.scalars(select(Follow).where(Follow.user_id == ann.id)).all() == []
    assert "a former resident" in client.get(f"/proposals/{proposal.id}").get_data(as_text=True)
