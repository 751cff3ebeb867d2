"""Blocking: which customers are compared at all, so a scan never looks at every pair. Pure.

Two customers are candidates when they share a blocking key:

* ``e:`` the normalised email (a guest and an account of one email always share it);
* ``p:`` a phone's national significant number (the customer's or an address's);
* ``n:`` a whole name word with the first two letters of the other one, both ways round
  ("john|sm" and "smith|jo"), so a typo in either name, or swapped names, still meet;
* ``a:`` postcode and street of an address.

Every way to reach the default threshold (:mod:`app.duplicates.scoring`) goes through one of
these: an email, a phone with a name, an address with a name, or a name with a typo-tolerant
email. A key shared by more than :data:`MAX_BLOCK` customers says little (a switchboard phone,
"maria|ga" in a big base) and would cost its square: such blocks are compared in windows of
:data:`WINDOW` neighbours, in the order of their profiles' names, instead of all pairs.
"""

from __future__ import annotations

from collections.abc import Iterator

from app.duplicates.names import split_name
from app.duplicates.profile import Profile

__all__ = ["MAX_BLOCK", "WINDOW", "blocking_keys"]

MAX_BLOCK = 100  # customers in one block compared all against all
WINDOW = 20  # neighbours each customer of a bigger block is compared with
_PREFIX = 2  # letters of the other name word in a name key


def _name_keys(first: str | None, last: str | None) -> Iterator[str]:
    first, last = split_name(first, last)
    if first is None or last is None:
        return
    yield f"n:{first}|{last[:_PREFIX]}"
    yield f"n:{last}|{first[:_PREFIX]}"


def blocking_keys(profile: Profile) -> set[str]:
    """The keys of one customer (see the module docstring)."""
    keys = {f"p:{phone}" for phone in profile.phones}
    keys.update(f"a:{postcode}|{street}" for postcode, street in profile.places)
    keys.update(_name_keys(profile.first, profile.last))
    if profile.email is not None:
        keys.add(f"e:{profile.email}")
    return keys
