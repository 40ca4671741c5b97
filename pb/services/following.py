"""Residents following proposals: following and unfollowing, and the emails followers get (kind "followed_proposals").

Followers hear of a proposal's decisions (accepted, rejected, changes requested, merged, funded or not) and of new
comments. The author follows their own proposal from the start, but hears of decisions through their own messages
(kind "proposals"), never twice. New comments: at most one email per follower and proposal an hour (the first
comment after a quiet hour says "new comments", and the email links to the discussion); never for one's own comment.
"""

from datetime import timedelta

from sqlalchemy import func, select

from pb.domain import notifications
from pb.domain.errors import PermissionDenied
from pb.domain.messages import N_
from pb.extensions import db
from pb.models import Comment, Follow, Proposal, User, utcnow
from pb.services import load, mail, use_case

COMMENT_MAIL_INTERVAL = timedelta(hours=1)


def _followable(proposal_id: int) -> Proposal:
    from pb.services import comments

    proposal = load(Proposal, proposal_id, "proposal")
    if not comments.is_public(proposal):
        raise PermissionDenied(N_("This proposal is not public, so it cannot be followed."))
    return proposal


def start_following(user: User, proposal: Proposal) -> Follow:
    """Inside a caller's use case: the user follows the proposal (nothing changes if they already do)."""
    found = db.session.get(Follow, (user.id, proposal.id))
    if found is None:
        found = Follow(user_id=user.id, proposal_id=proposal.id)
        db.session.add(found)
        db.session.flush()
    return found


@use_case
def follow(actor: User, proposal_id: int) -> Follow:
    """A logged-in person follows a public proposal, to get emails on its decisions and new comments."""
    return start_following(actor, _followable(proposal_id))


@use_case
def unfollow(actor: User, proposal_id: int) -> bool:
    """Stop following a proposal; whether they followed it."""
    proposal = load(Proposal, proposal_id, "proposal")
    found = db.session.get(Follow, (actor.id, proposal.id))
    if found is None:
        return False
    db.session.delete(found)
    return True


def is_following(user, proposal: Proposal) -> bool:
    if not getattr(user, "is_authenticated", False):
        return False
    return db.session.get(Follow, (user.id, proposal.id)) is not None


def follower_count(proposal: Proposal) -> int:
    return db.session.scalar(select(func.count()).select_from(Follow).where(Follow.proposal_id == proposal.id))


def _followers(proposal: Proposal, *, leave_out: set[int]):
    query = (select(Follow, User).join(User, User.id == Follow.user_id)
             .where(Follow.proposal_id == proposal.id, Follow.user_id.not_in(leave_out)).order_by(Follow.user_id))
    yield from db.session.execute(query).all()


def decision_made(proposal: Proposal, decision: str, **context) -> int:
    """Inside the decision's use case: tell the followers (the author hears through their own message); how many."""
    written = 0
    for _, user in _followers(proposal, leave_out={proposal.author_id}):
        written += mail.notify(user, notifications.FOLLOWED_PROPOSALS, "followed_decision", proposal=proposal,
                               cycle=proposal.cycle, decision=decision, **context) is not None
    return written


def comment_posted(comment: Comment, proposal: Proposal) -> int:
    """Inside the posting use case: email followers not emailed about comments here in the last hour; how many."""
    now = utcnow()
    written = 0
    for found, user in _followers(proposal, leave_out={comment.author_id}):
        if found.comments_mailed_at is not None and now - found.comments_mailed_at < COMMENT_MAIL_INTERVAL:
            continue
        if mail.notify(user, notifications.FOLLOWED_PROPOSALS, "followed_comment", proposal=proposal,
                       cycle=proposal.cycle, comment=comment) is not None:
            found.comments_mailed_at = now
            written += 1
    return written
