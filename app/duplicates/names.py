"""How alike two people's names are: typos, swapped first/last names, initials. Pure.

Names arrive folded (:func:`app.duplicates.normalize.fold_text`: no accents, no case, no
punctuation). The comparison tries both orders (first/last as given, and swapped) and keeps the
better one, so "Smith John" is "John Smith". Beside the similarity it tells whether the first
names *conflict*: last names that agree with first names that clearly do not ("Anna Smith" and
"Peter Smith") are two people, typically a family at one address, whatever else they share.
"""

from __future__ import annotations

from dataclasses import dataclass

from rapidfuzz.distance import OSA, JaroWinkler

__all__ = ["NameComparison", "compare_names", "split_name"]

_SAME_LAST = 0.88  # Jaro-Winkler at or above which two last names count as one
_PARTIAL = 0.9  # a name known by one part only counts for that much of its similarity
_FIRST_EDITS = 1  # edits (with transpositions) a first name may differ by without conflict


@dataclass(frozen=True, slots=True)
class NameComparison:
    """``similarity`` in [0, 1]; ``swapped`` when the best order swaps first and last name;
    ``conflict`` when the last names agree and the first names clearly do not."""

    similarity: float
    swapped: bool = False
    conflict: bool = False


def _first_names_agree(a: str, b: str) -> bool:
    """One edit apart, an initial of the other, or one a leading word of the other
    ("j" / "john", "anne" / "anne marie")."""
    if OSA.distance(a, b) <= _FIRST_EDITS:
        return True
    short, long = sorted((a, b), key=len)
    if len(short) == 1:
        return long.startswith(short)
    return long.split()[0] == short.split()[0]


def _part(a: str | None, b: str | None) -> float | None:
    if a is None or b is None:
        return None
    if len(a) == 1 or len(b) == 1:  # an initial: as good as a mild typo when it fits
        return 0.9 if a[0] == b[0] else 0.0
    return JaroWinkler.normalized_similarity(a, b)


def _oriented(
    first_a: str | None, last_a: str | None, first_b: str | None, last_b: str | None
) -> tuple[float, bool] | None:
    """(similarity, conflict) of two names in one order; None when no part is on both."""
    first, last = _part(first_a, first_b), _part(last_a, last_b)
    if first is None and last is None:
        return None
    if first is None or last is None:  # one part only: weaker evidence than a whole name
        return _PARTIAL * ((first if last is None else last) or 0.0), False
    conflict = (
        last >= _SAME_LAST
        and first_a is not None
        and first_b is not None
        and not _first_names_agree(first_a, first_b)
    )
    return (first + last) / 2, conflict


def split_name(first: str | None, last: str | None) -> tuple[str | None, str | None]:
    """A whole name written into one field ("john smith", no last name) as first and last."""
    if (first is None) == (last is None):
        return first, last
    words = (first or last or "").split()
    return (words[0], words[-1]) if len(words) > 1 else (first, last)


def compare_names(
    first_a: str | None, last_a: str | None, first_b: str | None, last_b: str | None
) -> NameComparison | None:
    """Compare two folded names, in the better of both orders; None when they share no part.

    A whole name in one field is split into its first and last word first.
    """
    first_a, last_a = split_name(first_a, last_a)
    first_b, last_b = split_name(first_b, last_b)
    straight = _oriented(first_a, last_a, first_b, last_b)
    swapped = _oriented(first_a, last_a, last_b, first_b)
    if straight is None and swapped is None:
        return None
    if swapped is not None and (straight is None or swapped[0] > straight[0]):
        return NameComparison(swapped[0], swapped=True, conflict=swapped[1])
    assert straight is not None
    return NameComparison(straight[0], conflict=straight[1])
