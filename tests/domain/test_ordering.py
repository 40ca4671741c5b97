"""The keyed order: stable for one context, different between people, unknowable without the secret."""

from pb.domain.ordering import keyed_order, position_key


def test_the_order_depends_on_the_secret_the_voter_and_the_cycle():
    items = list(range(1, 30))
    by_voter = {tuple(keyed_order(items, "secret", "ballot", voter, 1, id_of=int)) for voter in range(1, 6)}
    assert len(by_voter) == 5
    assert keyed_order(items, "secret", "ballot", 1, 1, id_of=int) == keyed_order(items, "secret", "ballot", 1, 1, id_of=int)
    assert keyed_order(items, "secret", "ballot", 1, 1, id_of=int) != keyed_order(items, "other", "ballot", 1, 1, id_of=int)
    assert position_key("secret", 1, 2) != position_key("secret", 12)
