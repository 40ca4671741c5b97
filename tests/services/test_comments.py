"""Comments: who may post and when, one level of replies, editing, deleting, flagging, hiding, the rate limit."""

from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from pb.domain.cycle import Phase
from pb.domain.errors import ConflictError, NotFound, PermissionDenied, PhaseError, ValidationError
from pb.extensions import db
from pb.models import AuditEntry, Comment, CommentFlag, ProposalStatus, Role, utcnow
from pb.services import comments


def _count(model=Comment) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


@pytest.fixture
def proposal(make_cycle, make_proposal):
    return make_proposal(make_cycle(Phase.PROPOSALS))


def test_a_confirmed_resident_comments_and_replies_one_level_deep(make_user, proposal):
    ann, bob = make_user(), make_user()
    first = comments.post_comment(ann, proposal.id, "  Where would it go?\r\nNear the school?  ")
    assert first.body == "Where would it go?\nNear the school?" and first.parent_id is None
    reply = comments.post_comment(bob, proposal.id, "Next to the library.", first.id)
    assert reply.parent_id == first.id
    # A reply to a reply is attached to the top comment of its thread.
    answer = comments.post_comment(ann, proposal.id, "Thank you.", reply.id)
    assert answer.parent_id == first.id
    page = comments.discussion(proposal)
    assert [thread.comment.id for thread in page.threads] == [first.id]
    assert [r.id for r in page.threads[0].replies] == [reply.id, answer.id]
    assert page.total == 3


@pytest.mark.parametrize(("body", "message"), [
    ("", "Write your comment."),
    ("   \n  ", "Write your comment."),
    ("x" * 5001, "under 5000 characters"),
    ("x" * 100_000, "under 5000 characters"),
])
def test_an_empty_or_too_long_comment_is_refused_and_nothing_is_stored(make_user, proposal, body, message):
    with pytest.raises(ValidationError, match=message):
        comments.post_comment(make_user(), proposal.id, body)
    assert _count() == 0


def test_exactly_5000_characters_are_accepted(make_user, proposal):
    assert len(comments.post_comment(make_user(), proposal.id, "y" * 5000).body) == 5000


def test_an_unconfirmed_resident_cannot_comment(make_user, proposal):
    with pytest.raises(PermissionDenied, match="Confirm your email"):
        comments.post_comment(make_user(email_confirmed_at=None), proposal.id, "Hello")
    assert _count() == 0


def test_a_reply_to_an_unknown_comment_or_one_on_another_proposal_is_refused(make_user, make_proposal, proposal):
    other = comments.post_comment(make_user(), make_proposal(proposal.cycle).id, "Elsewhere")
    with pytest.raises(NotFound):
        comments.post_comment(make_user(), proposal.id, "Hello", 999_999)
    with pytest.raises(ValidationError, match="no such comment on this proposal"):
        comments.post_comment(make_user(), proposal.id, "Hello", other.id)
    assert _count() == 1


@pytest.mark.parametrize(("phase", "status", "after_proposals", "error"), [
    (Phase.DRAFT, ProposalStatus.SUBMITTED, True, PermissionDenied),
    (Phase.PROPOSALS, ProposalStatus.WITHDRAWN, True, PermissionDenied),
    (Phase.CLOSED, ProposalStatus.ACCEPTED, True, PhaseError),
    (Phase.REVIEW, ProposalStatus.SUBMITTED, False, PhaseError),
    (Phase.VOTING, ProposalStatus.ACCEPTED, False, PhaseError),
    (Phase.SUPPORTS, ProposalStatus.SUBMITTED, False, PhaseError),
])
def test_comments_are_refused_where_the_proposal_is_not_public_or_comments_are_closed(
        make_user, make_cycle, make_proposal, phase, status, after_proposals, error):
    proposal = make_proposal(make_cycle(phase, has_comments_after_proposals=after_proposals), status=status)
    with pytest.raises(error):
        comments.post_comment(make_user(), proposal.id, "Hello")
    assert _count() == 0


@pytest.mark.parametrize("phase", [Phase.PROPOSALS, Phase.SUPPORTS, Phase.REVIEW, Phase.VOTING, Phase.RESULTS])
def test_comments_stay_open_after_the_proposal_phase_when_the_cycle_says_so(make_user, make_cycle, make_proposal,
                                                                            phase):
    proposal = make_proposal(make_cycle(phase, has_comments_after_proposals=True))
    assert comments.post_comment(make_user(), proposal.id, "Hello").id


def test_the_rate_limit_is_counted_in_the_database(app, make_user, proposal):
    app.config["COMMENTS_PER_MINUTE"] = 3
    ann = make_user()
    for number in range(3):
        comments.post_comment(ann, proposal.id, f"Comment {number}")
    with pytest.raises(ValidationError, match="in the last minute"):
        comments.post_comment(ann, proposal.id, "One too many")
    assert _count() == 3
    comments.post_comment(make_user(), proposal.id, "Someone else may")  # the limit is per person
    for comment in db.session.scalars(select(Comment).where(Comment.author_id == ann.id)):
        comment.created_at = utcnow() - timedelta(minutes=2)
    db.session.commit()
    assert comments.post_comment(ann, proposal.id, "A minute later").id


def test_the_author_edits_within_the_window_and_the_comment_shows_edited(app, make_user, proposal):
    ann = make_user()
    comment = comments.post_comment(ann, proposal.id, "Typo hre")
    with pytest.raises(PermissionDenied, match="Only its author"):
        comments.edit_comment(make_user(), comment.id, "Changed by someone else")
    comments.edit_comment(ann, comment.id, "Typo here")
    assert comment.body == "Typo here" and comment.edited_at is not None
    comment.created_at = utcnow() - timedelta(minutes=16)
    db.session.commit()
    with pytest.raises(PermissionDenied, match="15 minutes"):
        comments.edit_comment(ann, comment.id, "Too late")
    assert db.session.get(Comment, comment.id).body == "Typo here"
    app.config["COMMENT_EDIT_MINUTES"] = 30
    assert comments.edit_comment(ann, comment.id, "Longer window").body == "Longer window"


def test_deleting_removes_the_text_and_keeps_a_placeholder_only_for_a_comment_with_replies(make_user, proposal):
    ann, bob = make_user(), make_user()
    lonely = comments.post_comment(ann, proposal.id, "Nobody answers this")
    answered = comments.post_comment(ann, proposal.id, "Answer me")
    reply = comments.post_comment(bob, proposal.id, "An answer", answered.id)
    lonely_id, answered_id, reply_id = lonely.id, answered.id, reply.id
    with pytest.raises(PermissionDenied):
        comments.delete_comment(bob, answered_id)
    comments.delete_comment(ann, lonely_id)
    comments.delete_comment(ann, answered_id)
    assert db.session.get(Comment, lonely_id) is None
    kept = db.session.get(Comment, answered_id)
    assert kept.body == "" and kept.deleted_at is not None
    with pytest.raises(ValidationError, match="deleted or hidden"):
        comments.post_comment(bob, proposal.id, "More", answered_id)
    # The placeholder goes with its last reply.
    comments.delete_comment(bob, reply_id)
    assert db.session.get(Comment, answered_id) is None and _count() == 0


def test_a_person_flags_a_comment_once(make_user, proposal):
    ann, bob = make_user(), make_user()
    comment = comments.post_comment(ann, proposal.id, "Rude words")
    comments.flag_comment(bob, comment.id, "Insults")
    with pytest.raises(ConflictError, match="already flagged"):
        comments.flag_comment(bob, comment.id, "Again")
    with pytest.raises(ValidationError, match="your own comment"):
        comments.flag_comment(ann, comment.id, "")
    assert _count(CommentFlag) == 1
    assert comments.flagged() == [(comment, 1)]
    assert comments.flag_reasons(comment) == ["Insults"]


def test_a_moderator_hides_a_comment_with_a_reason_that_goes_into_the_audit_log(make_user, proposal):
    ann, bob, moderator = make_user(), make_user(), make_user(Role.MODERATOR)
    comment = comments.post_comment(ann, proposal.id, "My neighbour at 12 Elm Street is a thief")
    comments.flag_comment(bob, comment.id, "Personal details")
    with pytest.raises(PermissionDenied):
        comments.hide_comment(bob, comment.id, "I do not like it")
    with pytest.raises(ValidationError, match="Give the reason"):
        comments.hide_comment(moderator, comment.id, "  ")
    assert db.session.get(Comment, comment.id).hidden_at is None
    comments.hide_comment(moderator, comment.id, "Personal details of a neighbour")
    hidden = db.session.get(Comment, comment.id)
    assert hidden.hidden_reason == "Personal details of a neighbour" and hidden.hidden_by_id == moderator.id
    assert comments.flagged() == []  # its flags are resolved
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "hide-comment")).one()
    assert entry.subject == f"comment:{comment.id}" and "Personal details of a neighbour" in entry.after
    with pytest.raises(ValidationError, match="already hidden"):
        comments.flag_comment(make_user(), comment.id, "")
    with pytest.raises(ValidationError, match="deleted or hidden"):
        comments.edit_comment(ann, comment.id, "Sneaky change")


def test_a_moderator_keeps_a_flagged_comment_and_that_is_audited(make_user, proposal):
    moderator = make_user(Role.MODERATOR)
    comment = comments.post_comment(make_user(), proposal.id, "Fine words")
    comments.flag_comment(make_user(), comment.id, "")
    assert comments.dismiss_flags(moderator, comment.id) == 1
    assert comments.flagged() == [] and db.session.get(Comment, comment.id).hidden_at is None
    kept = select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "keep-comment")
    assert db.session.scalar(kept) == 1
    with pytest.raises(ValidationError, match="no open flags"):
        comments.dismiss_flags(moderator, comment.id)


def test_the_discussion_is_paged_in_the_database_newest_threads_first(make_user, proposal):
    ann = make_user()
    start = datetime(2026, 1, 1)
    db.session.add_all([Comment(proposal_id=proposal.id, author_id=ann.id, body=f"Comment {number}",
                                created_at=start + timedelta(minutes=number)) for number in range(45)])
    db.session.commit()
    first, last = comments.discussion(proposal, 1), comments.discussion(proposal, 3)
    assert (first.pages, first.total, len(first.threads), len(last.threads)) == (3, 45, 20, 5)
    assert first.threads[0].comment.body == "Comment 44" and last.threads[-1].comment.body == "Comment 0"
    assert comments.discussion(proposal, 99).page == 3 and comments.discussion(proposal, -1).page == 1
