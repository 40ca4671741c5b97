"""Sealed ballot envelopes: only the ballot key opens them, their size says nothing, and tampering is refused."""

import pytest

from pb.domain import sealing

KEY = sealing.envelope_key("the-ballot-key")
TOKEN = "a" * 64


def test_an_envelope_opens_to_its_choices_with_the_right_key_token_and_version():
    envelope = sealing.seal(KEY, TOKEN, 3, {42, 7, 1_000_000}, sealing.slots_for(20))
    assert sealing.unseal(KEY, TOKEN, 3, envelope) == [7, 42, 1_000_000]


@pytest.mark.parametrize(
    ("key", "token", "version"),
    [(sealing.envelope_key("another-key"), TOKEN, 1), (KEY, "b" * 64, 1), (KEY, TOKEN, 2)],
    ids=["wrong-key", "another-voters-row", "another-version"],
)
def test_an_envelope_does_not_open_with_another_key_token_or_version(key, token, version):
    envelope = sealing.seal(KEY, TOKEN, 1, [5], 16)
    with pytest.raises(sealing.SealError, match="does not open"):
        sealing.unseal(key, token, version, envelope)


def test_the_envelope_key_is_not_the_ballot_key_and_depends_on_it():
    assert sealing.envelope_key("k") != b"k" and len(sealing.envelope_key("k")) == 32
    assert sealing.envelope_key("k") != sealing.envelope_key("k2")


def test_the_envelopes_size_does_not_depend_on_how_many_projects_were_chosen():
    slots = sealing.slots_for(12)
    sizes = {len(sealing.seal(KEY, TOKEN, 1, list(range(1, count + 1)), slots)) for count in range(0, 13)}
    assert len(sizes) == 1
    assert sealing.slots_for(1) == sealing.slots_for(16) == 16 and sealing.slots_for(17) == 32


@pytest.mark.parametrize("position", [0, 11, 12, 20, -1], ids=["nonce", "nonce-end", "ciphertext", "middle", "tag"])
def test_a_changed_byte_anywhere_is_refused(position):
    envelope = bytearray(sealing.seal(KEY, TOKEN, 1, [5, 6], 16))
    envelope[position] ^= 0x01
    with pytest.raises(sealing.SealError):
        sealing.unseal(KEY, TOKEN, 1, bytes(envelope))


def test_a_truncated_envelope_is_refused():
    envelope = sealing.seal(KEY, TOKEN, 1, [5, 6], 16)
    for cut in (0, 5, 12, len(envelope) - 1):
        with pytest.raises(sealing.SealError):
            sealing.unseal(KEY, TOKEN, 1, envelope[:cut])


def test_sealing_the_same_choices_again_gives_another_ciphertext():
    first = sealing.seal(KEY, TOKEN, 1, [5], 16)
    again = sealing.seal(KEY, TOKEN, 1, [5], 16)
    changed = sealing.seal(KEY, TOKEN, 2, [5], 16)
    assert len({first, again, changed}) == 3
    assert first[: sealing.NONCE_BYTES] != again[: sealing.NONCE_BYTES]  # a fresh nonce each time


def test_the_choices_are_not_readable_in_the_envelope():
    envelope = sealing.seal(KEY, TOKEN, 1, [0x01020304], 16)
    assert b"\x01\x02\x03\x04" not in envelope


def test_more_choices_than_slots_are_refused():
    with pytest.raises(ValueError, match="do not fit"):
        sealing.seal(KEY, TOKEN, 1, list(range(1, 18)), 16)
