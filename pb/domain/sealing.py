"""Sealing a ballot's choices in an envelope that only the ballot key opens (AES-256-GCM, padded to a fixed length).

While the vote runs, an online ballot is stored only as such an envelope beside the voter's token. The plaintext is
the chosen project ids, each with its value (1 for a choice, the points given, or the rank), padded to as many slots as the district's ballot has projects (rounded up), so an envelope's
size says nothing about how many projects were chosen. The token and the version are the associated data: an
envelope copied onto another voter's row, or an old envelope put back in place of a newer one, does not open.
"""

import hashlib
import hmac
import os
import struct
from collections.abc import Iterable, Mapping

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from pb.domain.errors import DomainError

NONCE_BYTES = 12
SLOT_STEP = 16  # envelopes are padded to a multiple of 16 slots: one size for every ballot of a district
_IDS_ONLY = 1  # first plaintext byte: how the rest is laid out; 1: project ids (envelopes sealed before ballot designs)
_WITH_VALUES = 2  # 2: (project id, value) pairs
_PURPOSE = b"pb sealed ballot envelope v1"


class SealError(DomainError):
    """An envelope that does not open: the wrong key, a damaged or altered envelope, or one moved to another row."""


def envelope_key(ballot_key: str | bytes) -> bytes:
    """The AES-256 key for envelopes, derived from the server's ballot key under its own purpose label.

    Tokens and receipts are HMACs of the same ballot key with other labels, so none of them gives the envelope key.
    """
    secret = ballot_key if isinstance(ballot_key, bytes) else str(ballot_key).encode()
    return hmac.new(secret, _PURPOSE, hashlib.sha256).digest()


def slots_for(project_count: int) -> int:
    """How many choices an envelope of a district with this many projects has room for."""
    return max(SLOT_STEP, -(-project_count // SLOT_STEP) * SLOT_STEP)


def _associated(token: str, version: int) -> bytes:
    return f"pb-ballot|{token}|{version}".encode()


def seal(key: bytes, token: str, version: int, choices: Mapping[int, int] | Iterable[int], slots: int) -> bytes:
    """Encrypt one version of one voter's ballot (project ids, or project id -> value): a fresh nonce, then the rest."""
    ballot = dict(choices) if isinstance(choices, Mapping) else dict.fromkeys(choices, 1)
    ordered = sorted(ballot.items())
    if len(ordered) > slots:
        raise ValueError(f"{len(ordered)} choices do not fit in an envelope of {slots} slots")
    if any(not 0 < choice < 2**32 for choice, _ in ordered):
        raise ValueError("a project id does not fit in an envelope")
    if any(not 0 <= value < 2**32 for _, value in ordered):
        raise ValueError("a value does not fit in an envelope")
    pairs = [number for pair in ordered for number in pair]
    body = struct.pack(f">BHH{len(pairs)}I", _WITH_VALUES, slots, len(ordered), *pairs)
    plaintext = body + bytes(8 * (slots - len(ordered)))
    nonce = os.urandom(NONCE_BYTES)
    return nonce + AESGCM(key).encrypt(nonce, plaintext, _associated(token, version))


def unseal_values(key: bytes, token: str, version: int, envelope: bytes) -> dict[int, int]:
    """The ballot sealed in an envelope, project id -> value; SealError if it does not open under this key and row."""
    nonce, ciphertext = bytes(envelope[:NONCE_BYTES]), bytes(envelope[NONCE_BYTES:])
    try:
        plaintext = AESGCM(key).decrypt(nonce, ciphertext, _associated(token, version))
    except (InvalidTag, ValueError):
        raise SealError(
            "A sealed ballot does not open with this server's ballot key: the key changed since it was sealed, "
            "or the stored envelope was altered."
        ) from None
    layout, slots, count = struct.unpack_from(">BHH", plaintext)
    width = {_IDS_ONLY: 4, _WITH_VALUES: 8}.get(layout)
    if width is None or count > slots or len(plaintext) != 5 + width * slots:
        raise SealError("A sealed ballot opened but its contents are not a ballot.")
    if layout == _IDS_ONLY:
        return dict.fromkeys(struct.unpack_from(f">{count}I", plaintext, 5), 1)
    numbers = struct.unpack_from(f">{2 * count}I", plaintext, 5)
    return dict(zip(numbers[0::2], numbers[1::2], strict=True))


def unseal(key: bytes, token: str, version: int, envelope: bytes) -> list[int]:
    """The project ids sealed in an envelope, sorted; SealError if it does not open under this key, token and version."""
    return sorted(unseal_values(key, token, version, envelope))
