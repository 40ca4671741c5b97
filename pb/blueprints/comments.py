"""Discussing and following proposals: comments, replies, flags, the moderators' queue of flagged comments."""

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from pb.blueprints.guards import form_errors, moderator_required, perform, refuse
from pb.blueprints.public import readable_proposal
from pb.domain.errors import DomainError, ValidationError
from pb.domain.messages import N_
from pb.domain.numbers import whole_number
from pb.extensions import limiter
from pb.forms import ActionForm, CommentEditForm, CommentForm, FlagCommentForm, HideCommentForm
from pb.i18n import translate
from pb.services import comments, following, proposals

bp = Blueprint("comments", __name__)


def _account() -> str:
    return f"user:{current_user.id}" if current_user.is_authenticated else "anonymous"


# Per account, in the limiter (per worker with memory://); the service counts per minute in the database as well.
# Only logged-in posts count: an anonymous one is sent to the login page.
throttle_comments = limiter.limit(lambda: current_app.config["COMMENT_LIMIT_PER_ACCOUNT"], key_func=_account,
                                  methods=["POST"], exempt_when=lambda: not current_user.is_authenticated)



def _discussion_url(proposal_id: int, comment_id: int | None = None) -> str:
    anchor = f"comment-{comment_id}" if comment_id else "comments"
    return url_for("public.proposal", proposal_id=proposal_id, _anchor=anchor)


@bp.app_template_global()
def comment_section(proposal) -> dict:
    """What the proposal page's discussion shows: one page of threads, and the form if the reader may comment."""
    page = request.args.get("comments_page", type=whole_number) or 1
    is_open = comments.are_open(proposal)
    can_comment = current_user.is_authenticated and current_user.is_confirmed
    return {
        "discussion": comments.discussion(proposal, page),
        "is_open": is_open,
        "can_comment": can_comment,
        "form": CommentForm() if is_open and can_comment else None,
        "can_edit": lambda comment: comments.can_edit(current_user, comment),
    }


@bp.app_template_global()
def follow_state(proposal) -> dict:
    """The follow/unfollow button of a proposal page, and how many follow it."""
    return {
        "is_following": following.is_following(current_user, proposal),
        "count": following.follower_count(proposal),
        "can_follow": comments.is_public(proposal),
    }


@bp.route("/proposals/<int:proposal_id>/comments", methods=["GET", "POST"])
@throttle_comments
@login_required
def post(proposal_id: int):
    """Write a comment on a proposal, or a reply to one of its comments (the page works without JavaScript)."""
    proposal = readable_proposal(proposal_id)
    back = _discussion_url(proposal.id)
    form = CommentForm()
    reply_to = None
    wanted = form.parent_id.data if form.is_submitted() else request.args.get("reply_to", type=whole_number)
    if wanted is not None:
        try:
            reply_to = comments.get_comment(wanted)
        except DomainError:
            reply_to = None
        if reply_to is not None and reply_to.proposal_id != proposal.id:
            reply_to = None
        if not form.is_submitted() and reply_to is not None:
            form.parent_id.data = reply_to.id
    if request.method == "GET":
        if not comments.are_open(proposal):
            return refuse(ValidationError(N_("Comments on this proposal are closed.")), back)
        return render_template("comments/new.html", proposal=proposal, form=form, reply_to=reply_to)
    if not form.validate_on_submit():
        form_errors(form)
        return render_template("comments/new.html", proposal=proposal, form=form, reply_to=reply_to), 400
    try:
        comment = comments.post_comment(current_user, proposal.id, form.body.data, form.parent_id.data)
    except ValidationError as error:
        flash(translate(error.message), "error")
        return render_template("comments/new.html", proposal=proposal, form=form, reply_to=reply_to), 400
    except DomainError as error:
        return refuse(error, back)
    flash(_("Your comment is posted."), "success")
    return redirect(_discussion_url(proposal.id, comment.id))


@bp.route("/comments/<int:comment_id>/edit", methods=["GET", "POST"])
@login_required
def edit(comment_id: int):
    """The author corrects their comment, for a short time after posting it."""
    try:
        comment = comments.get_comment(comment_id)
    except DomainError as error:
        return refuse(error, url_for("public.home"))
    back = _discussion_url(comment.proposal_id, comment.id)
    try:
        comments.check_editable(current_user, comment)
    except DomainError as error:
        return refuse(error, back)
    form = CommentEditForm(data={"body": comment.body} if request.method == "GET" else None)
    if request.method == "POST":
        if not form.validate_on_submit():
            form_errors(form)
            return render_template("comments/edit.html", comment=comment, form=form), 400
        try:
            comments.edit_comment(current_user, comment.id, form.body.data)
        except ValidationError as error:
            flash(translate(error.message), "error")
            return render_template("comments/edit.html", comment=comment, form=form), 400
        except DomainError as error:
            return refuse(error, back)
        flash(_("Your comment is changed."), "success")
        return redirect(back)
    return render_template("comments/edit.html", comment=comment, form=form)


@bp.post("/comments/<int:comment_id>/delete")
@login_required
def delete(comment_id: int):
    """The author deletes their comment (its text goes; a placeholder stays if it has replies)."""
    try:
        proposal_id = comments.get_comment(comment_id).proposal_id
    except DomainError as error:
        return refuse(error, url_for("public.home"))
    return perform(ActionForm(), lambda: comments.delete_comment(current_user, comment_id),
                   back=_discussion_url(proposal_id), success=_("Your comment is deleted."))


@bp.route("/comments/<int:comment_id>/flag", methods=["GET", "POST"])
@login_required
def flag(comment_id: int):
    """Tell the moderators that a comment breaks the rules."""
    try:
        comment = comments.get_comment(comment_id)
    except DomainError as error:
        return refuse(error, url_for("public.home"))
    back = _discussion_url(comment.proposal_id, comment.id)
    if not comments.is_public(comment.proposal):
        return refuse(ValidationError(N_("This proposal is not public, so its comments cannot be flagged.")),
                      url_for("public.home"))
    form = FlagCommentForm()
    if request.method == "POST":
        return perform(form, lambda: comments.flag_comment(current_user, comment.id, form.reason.data or ""),
                       back=back, success=_("Thank you: the moderators will look at this comment."))
    return render_template("comments/flag.html", comment=comment, form=form)


@bp.get("/moderation/comments")
@moderator_required
def queue():
    """The moderators' queue: comments people flagged, the most flagged first."""
    page = max(1, request.args.get("page", type=whole_number) or 1)
    size = 50
    flagged = comments.flagged(limit=size + 1, offset=(page - 1) * size)
    return render_template("comments/queue.html", flagged=flagged[:size], has_more=len(flagged) > size, page=page,
                           reasons={comment.id: comments.flag_reasons(comment) for comment, _ in flagged[:size]},
                           hide_form=HideCommentForm(), action_form=ActionForm())


@bp.post("/comments/<int:comment_id>/hide")
@moderator_required
def hide(comment_id: int):
    """Hide a comment, with a reason everyone sees in its place and the audit log keeps."""
    form = HideCommentForm()
    return perform(form, lambda: comments.hide_comment(current_user, comment_id, form.reason.data),
                   back=url_for("comments.queue"), success=_("The comment is hidden; its place shows your reason."))


@bp.post("/comments/<int:comment_id>/dismiss")
@moderator_required
def dismiss(comment_id: int):
    """Keep a flagged comment as it is: its flags are closed."""
    return perform(ActionForm(), lambda: comments.dismiss_flags(current_user, comment_id),
                   back=url_for("comments.queue"), success=_("The comment stays; its flags are closed."))


@bp.post("/proposals/<int:proposal_id>/follow")
@login_required
def follow(proposal_id: int):
    """Follow a proposal: an email on its decisions and new comments."""
    return perform(ActionForm(), lambda: following.follow(current_user, proposal_id),
                   back=url_for("public.proposal", proposal_id=proposal_id),
                   success=_("You follow this proposal: pb will email you about its decisions and new comments."))


@bp.post("/proposals/<int:proposal_id>/unfollow")
@login_required
def unfollow(proposal_id: int):
    """Stop following a proposal."""
    return perform(ActionForm(), lambda: following.unfollow(current_user, proposal_id),
                   back=url_for("public.proposal", proposal_id=proposal_id),
                   success=_("You no longer follow this proposal."))
