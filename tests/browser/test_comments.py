"""The discussion in a real browser: a resident comments (without JavaScript too), another flags, a moderator hides.

Every page on the way is checked by `Visit.check` (axe-core, 360 px, page weight, no foreign request).
"""

from pb.domain.cycle import Phase
from pb.models import Role
from tests.conftest import PASSWORD


def test_comment_reply_flag_and_hide(visit, make_user, make_cycle, make_proposal):
    ann = make_user(name="Ann Resident")
    bob = make_user(name="Bob Neighbour")
    moderator = make_user(Role.MODERATOR, name="Mona Moderator")
    cycle = make_cycle(Phase.PROPOSALS, name="Riverside 2027")
    proposal = make_proposal(cycle, title="Benches by the river")
    page_path = f"/proposals/{proposal.id}"

    # Ann follows the proposal and comments on it.
    tab = visit("ann")
    tab.login(ann.email, PASSWORD)
    tab.goto(page_path)
    tab.click(tab.page.get_by_role("button", name="Follow this proposal"))
    tab.page.get_by_label("Your comment").fill("Where exactly?\nNear the bridge would be good.")
    tab.click(tab.page.get_by_role("button", name="Post the comment"))
    assert "Your comment is posted." in tab.messages()
    assert "Near the bridge would be good." in tab.page.locator("#comments").inner_text()

    # Bob, in a browser without JavaScript, replies through the reply page; Ann flags the reply.
    plain = visit("bob", javascript=False)
    plain.login(bob.email, PASSWORD)
    plain.goto(page_path)
    plain.click(plain.page.get_by_role("link", name="Reply").first)
    plain.page.get_by_label("Your comment").fill("You are a fool.")
    plain.click(plain.page.get_by_role("button", name="Post the reply"))
    assert "You are a fool." in plain.page.locator(".replies").inner_text()
    tab.goto(page_path)
    tab.click(tab.page.get_by_role("link", name="Flag").first)
    tab.page.get_by_label("What is wrong with this comment? (optional)").fill("Insults me")
    tab.click(tab.page.get_by_role("button", name="Flag the comment"))
    assert "the moderators will look at this comment" in tab.messages()

    # The moderator finds it in the queue and hides it with a reason.
    mona = visit("moderator")
    mona.login(moderator.email, PASSWORD)
    mona.goto("/moderation/")
    mona.click(mona.page.get_by_role("link", name="1 flagged comment"))
    assert "You are a fool." in mona.page.locator("main").inner_text()
    mona.page.get_by_label("Reason for hiding, shown to everyone in its place").fill("An insult")
    mona.click(mona.page.get_by_role("button", name="Hide the comment"))
    assert "The comment is hidden" in mona.messages()

    # Everyone, logged in or not, sees the reason in its place.
    anonymous = visit("anonymous")
    anonymous.goto(page_path)
    text = anonymous.page.locator("#comments").inner_text()
    assert "Hidden by a moderator: An insult" in text and "You are a fool." not in text
    assert "Near the bridge would be good." in text
