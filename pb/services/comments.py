"""Residents discussing a proposal: comments with one level of replies, editing, deleting, flagging and hiding.

Choices: a reply to a reply is attached to the top comment of its thread (one level, as Decidim shows it); the text
is stored as typed (plain text) and shown escaped with its line breaks; a comment deleted by its author loses its
text, and the row goes unless replies hang from it (then a "comment deleted" placeholder stays).
"""

from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import joinedload

from pb.domain.cycle import Phase
from pb.domain.errors import ConflictError, PermissionDenied, PhaseError, ValidationError
from pb.domain.messages import N_
from pb.extensions import db
from pb.models import Comment, CommentFlag, Proposal, ProposalStatus, User, utcnow
from pb.services import accounts, audit, following, load, use_case

MAX_LENGTH = 5000
MAX_REASON_LENGTH = 300
PAGE_SIZE = 20  # top-level comments per page, each with its replies


def is_public(proposal: Proposal) -> bool:
    """Whether everyone may read the proposal (and so its discussion): submitted, not withdrawn, cycle not a draft."""
    return proposal.status is not ProposalStatus.WITHDRAWN and proposal.cycle.phase is not Phase.DRAFT


def are_open(proposal: Proposal) -> bool:
    """Whether residents may comment now: during the proposal phase, and after it while the cycle setting says so."""
    phase = proposal.cycle.phase
    if not is_public(proposal) or phase is Phase.CLOSED:
        return False
    return phase is Phase.PROPOSALS or proposal.cycle.has_comments_after_proposals


def _require_open(proposal: Proposal) -> None:
    if not is_public(proposal):
        raise PermissionDenied(N_("This proposal is not public, so it cannot be commented on."))
    if not are_open(proposal):
        raise PhaseError(N_("Comments on this proposal are closed."))


def _clean_body(body: str | None) -> str:
    text = (body or "").replace("\r\n", "\n").replace("\r", "\n").strip()
    if not text:
        raise ValidationError(N_("Write your comment."))
    if len(text) > MAX_LENGTH:
        raise ValidationError(N_("Keep your comment under {limit} characters (it has {length}).",
                                 limit=MAX_LENGTH, length=len(text)))
    return text


def edit_minutes() -> int:
    return int(current_app.config.get("COMMENT_EDIT_MINUTES", 15))


def _check_rate(actor: User) -> None:
    """Counted in the database, so the limit holds across workers whatever the limiter's storage."""
    limit = int(current_app.config.get("COMMENTS_PER_MINUTE", 5))
    recent = db.session.scalar(
        select(func.count(Comment.id)).where(Comment.author_id == actor.id,
                                             Comment.created_at > utcnow() - timedelta(minutes=1))
    )
    if recent >= limit:
        raise ValidationError(N_(
            "You have posted {count} comments in the last minute, the most pb takes. Wait a minute, then send it "
            "again; nothing was posted.", count=limit))


def _comment(comment_id: object) -> Comment:
    return load(Comment, comment_id, "comment")


@use_case
def post_comment(actor: User, proposal_id: int, body: str, parent_id: int | None = None) -> Comment:
    """A confirmed resident comments on a public proposal, or replies to a comment (attached to its thread's top)."""
    accounts.require_confirmed(actor)
    proposal = load(Proposal, proposal_id, "proposal")
    _require_open(proposal)
    text = _clean_body(body)
    parent = None
    if parent_id is not None:
        parent = _comment(parent_id)
        if parent.proposal_id != proposal.id:
            raise ValidationError(N_("There is no such comment on this proposal to reply to."))
        if parent.parent_id is not None:
            parent = parent.parent  # one level of replies: answer in the same thread
        if not parent.is_visible:
            raise ValidationError(N_("This comment was deleted or hidden, so it cannot be replied to."))
    _check_rate(actor)
    comment = Comment(proposal_id=proposal.id, author_id=actor.id, parent_id=parent.id if parent else None, body=text)
    db.session.add(comment)
    db.session.flush()
    following.comment_posted(comment, proposal)
    return comment


def can_edit(user, comment: Comment) -> bool:
    """Whether this user may still edit the comment: its author, within the edit window, while it is shown."""
    return (getattr(user, "is_authenticated", False) and comment.author_id == user.id and comment.is_visible
            and utcnow() - comment.created_at <= timedelta(minutes=edit_minutes()))


def check_editable(actor: User, comment: Comment) -> None:
    """Refuse, with the reason, unless the actor may edit this comment now."""
    if comment.author_id != actor.id:
        raise PermissionDenied(N_("Only its author can edit a comment."))
    if not comment.is_visible:
        raise ValidationError(N_("This comment was deleted or hidden, so it cannot be edited."))
    if utcnow() - comment.created_at > timedelta(minutes=edit_minutes()):
        raise PermissionDenied(N_("A comment can be edited for {minutes} minutes after posting it; delete it and "
                                  "post a new one instead.", minutes=edit_minutes()))
    _require_open(comment.proposal)


@use_case
def edit_comment(actor: User, comment_id: int, body: str) -> Comment:
    """The author corrects a comment within PB_COMMENT_EDIT_MINUTES of posting it; the page then says "edited"."""
    comment = _comment(comment_id)
    check_editable(actor, comment)
    text = _clean_body(body)
    if text != comment.body:
        comment.body, comment.edited_at = text, utcnow()
    return comment


@use_case
def delete_comment(actor: User, comment_id: int) -> Comment:
    """The author deletes a comment at any time: its text goes; a placeholder stays only if replies hang from it."""
    comment = _comment(comment_id)
    if comment.author_id != actor.id:
        raise PermissionDenied(N_("Only its author can delete a comment."))
    if comment.deleted_at is not None:
        raise ValidationError(N_("This comment is already deleted."))
    _remove(comment)
    return comment


def _has_replies(comment: Comment) -> bool:
    return db.session.scalar(select(Comment.id).where(Comment.parent_id == comment.id).limit(1)) is not None


def _remove(comment: Comment) -> None:
    parent = comment.parent
    if _has_replies(comment):
        comment.body, comment.deleted_at, comment.edited_at = "", utcnow(), None
        return
    db.session.execute(delete(CommentFlag).where(CommentFlag.comment_id == comment.id))
    db.session.delete(comment)
    db.session.flush()
    if parent is not None and parent.deleted_at is not None and not _has_replies(parent):
        _remove(parent)  # a deleted comment's placeholder goes with its last reply


@use_case
def flag_comment(actor: User, comment_id: int, reason: str = "") -> CommentFlag:
    """Anyone logged in tells the moderators a comment breaks the rules; once per person and comment."""
    comment = _comment(comment_id)
    if not is_public(comment.proposal):
        raise PermissionDenied(N_("This proposal is not public, so its comments cannot be flagged."))
    if comment.deleted_at is not None:
        raise ValidationError(N_("This comment was deleted by its author."))
    if comment.hidden_at is not None:
        raise ValidationError(N_("A moderator has already hidden this comment."))
    if comment.author_id == actor.id:
        raise ValidationError(N_("This is your own comment: edit or delete it instead of flagging it."))
    reason = " ".join((reason or "").split())
    if len(reason) > MAX_REASON_LENGTH:
        raise ValidationError(N_("Keep the reason under {limit} characters.", limit=MAX_REASON_LENGTH))
    already = db.session.scalar(select(CommentFlag.id).where(CommentFlag.comment_id == comment.id,
                                                             CommentFlag.user_id == actor.id))
    if already is not None:
        raise ConflictError(N_("You have already flagged this comment; the moderators will look at it."))
    flag = CommentFlag(comment_id=comment.id, user_id=actor.id, reason=reason)
    db.session.add(flag)
    return flag


def _require_moderator(actor: User) -> None:
    if not actor.is_moderator:
        raise PermissionDenied(N_("Only moderators can do this."))


def _resolve_flags(comment: Comment) -> int:
    return db.session.execute(
        update(CommentFlag).where(CommentFlag.comment_id == comment.id, CommentFlag.resolved_at.is_(None))
        .values(resolved_at=utcnow())
    ).rowcount


@use_case
def hide_comment(moderator: User, comment_id: int, reason: str) -> Comment:
    """A moderator hides a comment with a reason everyone sees in its place; the reason goes into the audit log."""
    _require_moderator(moderator)
    comment = _comment(comment_id)
    reason = " ".join((reason or "").split())
    if not reason:
        raise ValidationError(N_("Give the reason for hiding the comment; everyone will see it in its place."))
    if len(reason) > MAX_REASON_LENGTH:
        raise ValidationError(N_("Keep the reason under {limit} characters.", limit=MAX_REASON_LENGTH))
    if comment.hidden_at is not None:
        raise ValidationError(N_("This comment is already hidden."))
    comment.hidden_at, comment.hidden_by_id, comment.hidden_reason = utcnow(), moderator.id, reason
    flags = _resolve_flags(comment)
    audit.record(moderator, "hide-comment", f"comment:{comment.id}", cycle_id=comment.proposal.cycle_id,
                 after={"proposal_id": comment.proposal_id, "reason": reason, "flags": flags})
    return comment


@use_case
def dismiss_flags(moderator: User, comment_id: int) -> int:
    """A moderator keeps a flagged comment: its flags are closed, and the decision is in the audit log."""
    _require_moderator(moderator)
    comment = _comment(comment_id)
    flags = _resolve_flags(comment)
    if not flags:
        raise ValidationError(N_("This comment has no open flags."))
    audit.record(moderator, "keep-comment", f"comment:{comment.id}", cycle_id=comment.proposal.cycle_id,
                 after={"proposal_id": comment.proposal_id, "flags": flags})
    return flags


# --- reading -------------------------------------------------------------------------------------------------------


@dataclass
class Thread:
    comment: Comment
    replies: list[Comment]


@dataclass
class Discussion:
    threads: list[Thread]
    page: int
    pages: int
    total: int  # comments and replies on the proposal, shown or not


def discussion(proposal: Proposal, page: int = 1) -> Discussion:
    """One page of a proposal's discussion, newest threads first, each with its replies oldest first (paged in SQL)."""
    top_level = db.session.scalar(
        select(func.count(Comment.id)).where(Comment.proposal_id == proposal.id, Comment.parent_id.is_(None))
    )
    total = db.session.scalar(select(func.count(Comment.id)).where(Comment.proposal_id == proposal.id))
    pages = max(1, -(-top_level // PAGE_SIZE))
    page = min(max(1, page), pages)
    tops = list(db.session.scalars(
        select(Comment).where(Comment.proposal_id == proposal.id, Comment.parent_id.is_(None))
        .options(joinedload(Comment.author))
        .order_by(Comment.created_at.desc(), Comment.id.desc()).limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)
    ))
    replies: dict[int, list[Comment]] = {comment.id: [] for comment in tops}
    if tops:
        for reply in db.session.scalars(
            select(Comment).where(Comment.parent_id.in_(list(replies)))
            .options(joinedload(Comment.author)).order_by(Comment.created_at, Comment.id)
        ):
            replies[reply.parent_id].append(reply)
    return Discussion([Thread(comment, replies[comment.id]) for comment in tops], page, pages, total)


def get_comment(comment_id: object) -> Comment:
    return _comment(comment_id)


def flagged(limit: int = 50, offset: int = 0) -> list[tuple[Comment, int]]:
    """Comments with open flags, the most flagged first, with their number of open flags (the moderators' queue)."""
    open_flags = func.count(CommentFlag.id).label("open_flags")
    rows = db.session.execute(
        select(CommentFlag.comment_id, open_flags).where(CommentFlag.resolved_at.is_(None))
        .group_by(CommentFlag.comment_id).order_by(open_flags.desc(), CommentFlag.comment_id)
        .limit(limit).offset(offset)
    ).all()
    loaded = {comment.id: comment for comment in db.session.scalars(
        select(Comment).where(Comment.id.in_([comment_id for comment_id, _ in rows]))
        .options(joinedload(Comment.author), joinedload(Comment.proposal))
    )}
    rows = [(loaded[comment_id], count) for comment_id, count in rows]
    return [(comment, count) for comment, count in rows]


def flag_reasons(comment: Comment) -> list[str]:
    """The reasons given by the open flags of a comment (who flagged is not shown)."""
    return [reason for reason in db.session.scalars(
        select(CommentFlag.reason).where(CommentFlag.comment_id == comment.id, CommentFlag.resolved_at.is_(None))
        .order_by(CommentFlag.id)
    ) if reason]
