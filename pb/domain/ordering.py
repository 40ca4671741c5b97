"""Orders that favour no project by its position: a keyed hash per person, the same on every visit, never stored."""

import hashlib
import hmac
from collections.abc import Callable, Iterable
from typing import TypeVar

Item = TypeVar("Item")


def position_key(secret: bytes | str, *context: object) -> bytes:
    """A sort key for one item in one person's order: HMAC-SHA256 of (person, cycle, project) under `secret`.

    Without the secret nobody can recompute a person's order, and the order is derived, not stored, so nothing links
    it to a ballot.
    """
    key = secret.encode() if isinstance(secret, str) else secret
    message = "\x1f".join(str(part) for part in context).encode()
    return hmac.new(key, message, hashlib.sha256).digest()


def keyed_order(items: Iterable[Item], secret: bytes | str, *context: object,
                id_of: Callable[[Item], object] = lambda item: item.id) -> list[Item]:
    """The items in the order of their keyed hash for `context` (e.g. voter id and cycle id): stable, per person."""
    return sorted(items, key=lambda item: (position_key(secret, *context, id_of(item)), str(id_of(item))))
