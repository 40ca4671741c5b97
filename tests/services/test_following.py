"""Following proposals, read back from a real SMTP server: decisions and new comments reach followers, not twice."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from pb.domain.cycle import Phase
from pb.domain.errors import PermissionDenied
from pb.extensions import db
from pb.models import Follow, ProposalStatus, Role, User, utcnow
from pb.services import announcements, comments, following, moderation, proposals
from pb.services.proposals import ProposalDraft
from tests.conftest import deliver_mail, links_in, store_count, text_of


def _subjects(smtp, address: str) -> list[str]:
    return [str(message["Subject"]) for message in smtp.to(address)]


def test_following_and_unfollowing(make_user, make_cycle, make_proposal):
    ann = make_user()
    proposal = make_proposal(make_cycle(Phase.PROPOSALS))
    following.follow(ann, proposal.id)
    following.follow(ann, proposal.id)  # twice is once
    assert following.is_following(ann, proposal) and following.follower_count(proposal) == 1
    assert following.unfollow(ann, proposal.id) is True
    assert following.unfollow(ann, proposal.id) is False
    assert following.follower_count(proposal) == 0


@pytest.mark.parametrize(("phase", "status"), [(Phase.DRAFT, ProposalStatus.SUBMITTED),
                                               (Phase.PROPOSALS, ProposalStatus.WITHDRAWN)])
def test_a_proposal_that_is_not_public_cannot_be_followed(make_user, make_cycle, make_proposal, phase, status):
    proposal = make_proposal(make_cycle(phase), status=status)
    with pytest.raises(PermissionDenied):
        following.follow(make_user(), proposal.id)
    assert db.session.scalars(select(Follow)).all() == []


def test_authors_follow_their_own_proposals(make_user, make_cycle):
    cycle = make_cycle(Phase.PROPOSALS)
    author = make_user()
    proposal = proposals.submit_proposal(author, cycle.id, ProposalDraft(
        title="Trees", summary="Plant trees.", description="Fifty trees.", estimated_cost=5_000,
        district_id=cycle.districts[0].id, category_id=cycle.categories[0].id, location=""))
    assert following.is_following(author, proposal)


@pytest.mark.parametrize(("decide", "subject_part", "text_part"), [
    (lambda m, p: moderation.accept(m, p.id, p.estimated_cost, version=p.version), "News on a proposal you follow",
     "was accepted"),
    (lambda m, p: moderation.reject(m, p.id, "Not city land.", version=p.version), "News on a proposal you follow",
     "was not accepted"),
    (lambda m, p: moderation.request_changes(m, p.id, "Say where.", version=p.version),
     "News on a proposal you follow", "to change it"),
])
def test_followers_hear_of_decisions_and_the_author_only_once(app, smtp, make_user, make_cycle, make_proposal,
                                                              decide, subject_part, text_part):
    author, follower, quiet = make_user(), make_user(), make_user(muted_notifications="followed_proposals")
    proposal = make_proposal(make_cycle(Phase.REVIEW), author=author)
    for person in (author, follower, quiet):
        following.follow(person, proposal.id)
    decide(make_user(Role.MODERATOR), db.session.get(type(proposal), proposal.id))
    deliver_mail()
    assert len(smtp.to(author.email)) == 1  # the author's own message, not the followers' one as well
    assert "News on a proposal" not in _subjects(smtp, author.email)[0]
    [message] = smtp.to(follower.email)
    assert message["Subject"].startswith(subject_part) and text_part in text_of(message)
    assert f"/proposals/{proposal.id}" in " ".join(links_in(message))
    assert smtp.to(quiet.email) == []  # turned off on the profile


def test_followers_hear_whether_the_project_was_funded(app, smtp, make_user, make_cycle, make_project):
    cycle = make_cycle(Phase.TALLYING)
    funded, unfunded = make_project(cycle), make_project(cycle)
    ann = make_user()
    following.follow(ann, funded.id)
    following.follow(ann, unfunded.id)
    store_count(cycle, make_user(Role.OFFICIAL), [funded], [unfunded])
    announcements.results_published(db.session.get(type(cycle), cycle.id))
    db.session.commit()
    deliver_mail()
    texts = sorted(text_of(message) for message in smtp.to(ann.email))
    assert len(texts) == 2
    assert any("is funded" in text and funded.title in text for text in texts)
    assert any("was not funded" in text and unfunded.title in text for text in texts)


def test_new_comments_reach_followers_at_most_once_an_hour_and_never_their_own(app, smtp, make_user, make_cycle,
                                                                               make_proposal):
    author, follower, commenter = make_user(), make_user(), make_user()
    proposal = make_proposal(make_cycle(Phase.PROPOSALS), author=author)
    following.follow(author, proposal.id)
    following.follow(follower, proposal.id)
    comments.post_comment(commenter, proposal.id, "First!")
    comments.post_comment(commenter, proposal.id, "Second, a minute later")
    comments.post_comment(follower, proposal.id, "The follower's own comment")
    deliver_mail()
    assert len(smtp.to(follower.email)) == 1 and len(smtp.to(author.email)) == 1
    message = smtp.last_to(follower.email)
    assert message["Subject"].startswith("New comments on a proposal you follow")
    assert commenter.name in text_of(message)
    assert smtp.to(commenter.email) == []  # not following: nothing
    # An hour later the next comment is news again, except to the one who wrote it.
    for found in db.session.scalars(select(Follow)):
        found.comments_mailed_at = utcnow() - timedelta(hours=1, minutes=1)
    db.session.commit()
    comments.post_comment(db.session.get(User, author.id), proposal.id, "The author answers")
    deliver_mail()
    assert len(smtp.to(follower.email)) == 2 and len(smtp.to(author.email)) == 1
