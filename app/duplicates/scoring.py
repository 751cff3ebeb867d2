"""A candidate pair's score in [0, 1] and the reasons for it. Pure.

Each kind of evidence adds points; the score is their sum, clamped to [0, 1]:

==========================================  ======  =========================================
evidence                                    points  reason
==========================================  ======  =========================================
same (normalised) email                      0.70   ``same email``
email local parts one typo apart (a letter   0.25   ``similar email 0.93``
transposed, dropped, doubled; same domain)
the same local part at another domain        0.15   ``same email name at another domain``
same phone (national significant number)     0.45   ``same phone``
same postcode and street                     0.35   ``same postcode and street``
same postcode only                           0.05   ``same postcode``
same company                                 0.10   ``same company``
names (both known): similarity s ≥ 0.8     2(s-0.8) ``name 0.93`` (``, swapped``)
names clearly different (s < 0.7)           -0.40   ``different names``
==========================================  ======  =========================================

A pair is a duplicate from :data:`DEFAULT_MIN_SCORE` (0.6) on. So an email alone is enough
(a guest and an account of one email are the commonest duplicate), a phone alone is not (a
household's or a company's phone is shared), a phone or an address needs a name that agrees,
and a name alone, however exact, never is (namesakes), nor with an email that merely looks
alike (most emails are made of the name, so "john.smith@a" and "johnsmith@b" say little more
than the name does). Last names that agree with first names
that clearly do not ("Anna Smith" / "Peter Smith") are two people whatever else they share,
typically a family at one address: the score is then capped at :data:`CONFLICT_CAP`, below
any threshold one would use.
"""

from __future__ import annotations

from dataclasses import dataclass

from rapidfuzz.distance import OSA

from app.duplicates.names import compare_names
from app.duplicates.profile import Profile

__all__ = ["CONFLICT_CAP", "DEFAULT_MIN_SCORE", "Match", "score_pair"]

DEFAULT_MIN_SCORE = 0.6
"""Pairs scoring this or more are duplicates (``CUSTOMERS_DUPLICATES_MIN_SCORE``)."""

CONFLICT_CAP = 0.4
"""The highest score of two people whose first names conflict under one last name."""

SAME_EMAIL, SIMILAR_EMAIL, OTHER_DOMAIN, SAME_PHONE = 0.70, 0.25, 0.15, 0.45
SAME_PLACE, SAME_POSTCODE, SAME_COMPANY = 0.35, 0.05, 0.10
NAME_FLOOR, NAME_SLOPE, DIFFERENT_NAMES = 0.8, 2.0, -0.40
_NAMES_UNLIKE = 0.7  # name similarity below which names are evidence against a duplicate
_MIN_LOCAL = 4  # shorter email local parts ("info", "jo") are not compared for typos


@dataclass(frozen=True, slots=True)
class Match:
    """A scored pair: ``score`` in [0, 1] and why, strongest evidence first."""

    score: float
    reasons: tuple[str, ...]


def _letters(local: str) -> str:
    return "".join(c for c in local if c.isalpha())


def _beyond_name(local: str, profile: Profile) -> str:
    """The letters of an email's local part that its owner's name does not explain."""
    words = sorted(
        {w for part in (profile.first, profile.last) if part for w in part.split()}, key=len
    )
    for word in reversed(words):
        if len(word) > 1:
            local = local.replace(word, " ")
    return _letters(local)


def _email(a: Profile, b: Profile) -> tuple[float, str] | None:
    if a.email is None or b.email is None:
        return None
    if a.email == b.email:
        return SAME_EMAIL, "same email"
    pa, pb = a.email_parts, b.email_parts
    assert pa is not None and pb is not None
    (local_a, domain_a), (local_b, domain_b) = pa, pb
    if min(len(local_a), len(local_b)) < _MIN_LOCAL:
        return None
    if local_a == local_b:
        return OTHER_DOMAIN, "same email name at another domain"
    if domain_a != domain_b or _letters(local_a) == _letters(local_b):
        return None  # "john.smith" / "johnsmith2": how emails are made of names, not a typo
    if _beyond_name(local_a, a) == _beyond_name(local_b, b):
        return None  # "eric.m" / "erica.m" of Eric and Erica: the names differ, not a typo
    if OSA.distance(local_a, local_b) <= 1:
        similarity = OSA.normalized_similarity(local_a, local_b)
        return SIMILAR_EMAIL, f"similar email {similarity:.2f}"
    return None


def _places(a: Profile, b: Profile) -> tuple[float, str] | None:
    if a.places & b.places:
        return SAME_PLACE, "same postcode and street"
    if a.postcodes & b.postcodes:
        return SAME_POSTCODE, "same postcode"
    return None


def _contact(a: Profile, b: Profile) -> list[tuple[float, str]]:
    """The evidence of everything but the name."""
    found = [_email(a, b)]
    if a.phones & b.phones:
        found.append((SAME_PHONE, "same phone"))
    found.append(_places(a, b))
    if a.company is not None and a.company == b.company:
        found.append((SAME_COMPANY, "same company"))
    return [item for item in found if item is not None]


def score_pair(a: Profile, b: Profile) -> Match:
    """Score two customers (in either order: the score is symmetric)."""
    evidence = _contact(a, b)
    names = compare_names(a.first, a.last, b.first, b.last)
    cap = 1.0
    if names is not None:
        if names.conflict:
            evidence.append((DIFFERENT_NAMES, "different first names"))
            cap = CONFLICT_CAP
        elif names.similarity >= _NAMES_UNLIKE:
            label = f"name {names.similarity:.2f}" + (", swapped" if names.swapped else "")
            points = max(0.0, (names.similarity - NAME_FLOOR) * NAME_SLOPE)
            evidence.append((points, label))
        else:
            evidence.append((DIFFERENT_NAMES, "different names"))
    evidence.sort(key=lambda item: -item[0])
    total = sum(points for points, _ in evidence)
    score = round(max(0.0, min(cap, 1.0, total)), 4)
    return Match(score, tuple(reason for _, reason in evidence))
