"""Prefixed, monotonic ULIDs: ``cus_01J...``.

Lists are ordered by id ascending by default and clients rely on that order being creation
order, so ids made within the same millisecond must still sort in the order they were made.
A monotonic ULID does that: within one millisecond the 80-bit random part is incremented
instead of drawn again (the ULID spec's monotonic factory).
"""

from __future__ import annotations

import os
import threading
import time

__all__ = ["new_id", "new_ulid"]

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_RANDOM_BITS = 80
_RANDOM_MAX = (1 << _RANDOM_BITS) - 1

_lock = threading.Lock()
_last_ms = -1
_last_random = 0


def _encode(value: int, length: int) -> str:
    chars = []
    for _ in range(length):
        chars.append(_CROCKFORD[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def new_ulid() -> str:
    """Return a 26-character ULID that sorts after every ULID this process made before."""
    global _last_ms, _last_random
    with _lock:
        now_ms = time.time_ns() // 1_000_000
        if now_ms <= _last_ms:
            # Same millisecond (or the clock stepped back): keep the time, bump the randomness.
            now_ms = _last_ms
            random_part = _last_random + 1
            if random_part > _RANDOM_MAX:  # 2**80 ids in one ms: move on to the next ms
                now_ms += 1
                random_part = int.from_bytes(os.urandom(10), "big") >> 1
        else:
            # Keep the top bit clear so increments within this millisecond cannot overflow.
            random_part = int.from_bytes(os.urandom(10), "big") >> 1
        _last_ms, _last_random = now_ms, random_part
    return _encode(now_ms, 10) + _encode(random_part, 16)


def new_id(prefix: str) -> str:
    """Return ``<prefix>_<ULID>``, e.g. ``new_id("cus")``."""
    return f"{prefix}_{new_ulid()}"
