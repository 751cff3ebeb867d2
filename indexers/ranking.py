"""The ranked admin lookup, engine-independent parts: what to look for, and what matched. Pure.

Tiers (highest first): exact email or phone, full name (first + last in either order), prefix of
the last word (as you type), fuzzy words (1 edit from 4 characters, 2 from 8), plain substring.
The fields come from the declaration's ranked roles (:class:`app.entities.Role`); what a role
means (an email's parts are its words, names take typos, the phone is compared by its digits)
is written here, once for both engines.

Bounded cost, whatever the query (within ``app.limits``) and whatever is stored: a word longer
than :data:`MAX_FUZZY_CHARS` is matched exactly, by prefix or as a substring, never fuzzily (an
edit automaton grows with the word, and no name is that long); engines that can cap expansions
take at most :data:`MAX_EXPANSIONS` terms per fuzzy or prefix clause; highlights look at the
searched part of each value (:func:`app.textsearch.searched`), answer ranges of it (never
marked-up text), and stop once a lookup has spent
:data:`HIGHLIGHT_CHECKS` word comparisons or :data:`HIGHLIGHT_EDITS` edit distances (the
remaining hits come back without highlights, or with only their exact matches marked).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from app.entities import Role
from app.textsearch import Highlights, Range, digits_of, is_phone_word, searched, split_words
from indexers.analysis import fold, words_of
from indexers.documents import LAYOUT, TEXT_FIELDS
from indexers.query import Hit

__all__ = [
    "EMAIL_FIELD",
    "FIRST_NAME_WORDS",
    "FUZZY_WORD_FIELDS",
    "HIGHLIGHT_CHECKS",
    "HIGHLIGHT_EDITS",
    "LAST_NAME_WORDS",
    "MAX_EXPANSIONS",
    "MAX_FUZZY_CHARS",
    "PHONE_FIELD",
    "WORD_FIELDS",
    "Highlighter",
    "RankedPlan",
    "Score",
    "best_hits",
    "edit_distance",
    "fuzzy_distance",
    "merge_ranges",
    "plan_ranked",
]

_WORD = re.compile(r"[^\W_]+")
HIGHLIGHT_FIELDS = TEXT_FIELDS

EMAIL_FIELD = LAYOUT.roles[Role.EMAIL]
"""The field an email-like query must equal (lower-cased) in the top tier."""
PHONE_FIELD = LAYOUT.roles[Role.PHONE]
"""The field whose digits a phone-like query must equal, or end (4+ digits)."""
_WORDS_OF_ROLE = {
    Role.FIRST_NAME: "w_first",
    Role.LAST_NAME: "w_last",
    Role.COMPANY: "w_company",
    Role.EMAIL: "w_email",
}
WORD_FIELDS = {_WORDS_OF_ROLE[r]: LAYOUT.roles[r] for r in _WORDS_OF_ROLE if r in LAYOUT.roles}
"""Index field → the declared field whose words it holds (an email's: its parts), each word
also accent-folded; a query word matching one exactly scores :attr:`Score.WORD`."""
FUZZY_WORD_FIELDS = tuple(f for f in WORD_FIELDS if f != _WORDS_OF_ROLE[Role.EMAIL])
"""The word fields matched with typos (an email's words: exactly or by prefix only)."""
FIRST_NAME_WORDS, LAST_NAME_WORDS = _WORDS_OF_ROLE[Role.FIRST_NAME], _WORDS_OF_ROLE[Role.LAST_NAME]
"""The word fields a full name (first and last word, in either order) is looked up in."""

MAX_FUZZY_CHARS = 24
"""Longest word matched with typos (longer: exact, prefix or substring only)."""
MAX_EXPANSIONS = 50
"""Terms one fuzzy or prefix clause may expand to, where the engine can cap it (Elasticsearch)."""
HIGHLIGHT_CHECKS = 50_000
"""Word comparisons (value word x query word) the highlights of one lookup may spend."""
HIGHLIGHT_EDITS = 2_000
"""Edit distances (each at most ``MAX_FUZZY_CHARS + 2`` squared cells) they may compute."""


class Score:
    """The constant score of each tier, the same in both engines.

    A hit scores the sum of the tiers it matches; in the per-word tier, each word counts its
    best option. So an exact email or phone beats a full name, which beats any set of words.
    """

    EXACT = 1000.0
    """The whole query is the email (lower-cased), or the phone's digits."""
    PHONE_SUFFIX = 500.0
    """The whole query (4+ digits) ends the phone's digits."""
    FULL_NAME = 200.0
    """The first and last words are the first and last name, in either order."""
    FUZZY_FULL_NAME = 100.0
    """The same, within the typo tolerance."""
    WORD_PHONE_SUFFIX = 50.0
    """Per word: a phone word of 4+ digits ends the phone's digits."""
    WORD = 30.0
    """Per word: it is a word of a name, the company or the email."""
    PREFIX = 10.0
    """Per word: the last word, still being typed, starts such a word."""
    FUZZY = 3.0
    """Per word: within the typo tolerance of a word of a name or the company."""
    SUBSTRING = 1.0
    """Per word: the exact ``q`` rule (a substring, or a word-start prefix)."""


def fuzzy_distance(word: str) -> int:
    """Return the edits a word tolerates: 0 below 4 characters, 1 from 4, 2 from 8, and 0 above
    :data:`MAX_FUZZY_CHARS`."""
    if len(word) > MAX_FUZZY_CHARS:
        return 0
    return 2 if len(word) >= 8 else 1 if len(word) >= 4 else 0


@dataclass(frozen=True, slots=True)
class RankedPlan:
    """A ranked query, analysed.

    :param words: lower-cased, accent-folded words (split at anything not a letter or digit).
    :param raw_words: the same words, not folded, for the exact ``q`` substring rule.
    :param word_digits: per word, its digits when it is a phone word with 4+ digits, else "".
    :param email: the whole query lower-cased when it looks like one email address.
    :param phone_digits: the query's digits when the whole query is a phone number (4+ digits).
    :param prefix_last: whether the last word is still being typed (no trailing space).
    """

    words: tuple[str, ...]
    raw_words: tuple[str, ...]
    word_digits: tuple[str, ...]
    email: str | None
    phone_digits: str | None
    prefix_last: bool


def plan_ranked(q: str | None) -> RankedPlan | None:
    """Analyse a ranked query; None when it has nothing to look for."""
    if not q or not q.strip():
        return None
    typed = split_words(q)
    words: list[str] = []
    raw: list[str] = []
    word_digits: list[str] = []
    for token in typed:
        parts = words_of(token)
        digits = digits_of(token) if is_phone_word(token) else ""
        if digits and len(parts) > 1:  # "555-1234": one phone word, not two
            parts = [digits]
        for part in parts or [token.lower()]:
            words.append(fold(part))  # the index holds folded forms too (index_words)
            raw.append(part)
            word_digits.append(digits if len(digits) >= 4 else "")
    stripped = q.strip()
    email = stripped.lower() if len(typed) == 1 and "@" in stripped else None
    phone = None
    if all(is_phone_word(t) for t in typed):
        digits = digits_of(stripped)
        phone = digits if len(digits) >= 4 else None
    return RankedPlan(
        words=tuple(words),
        raw_words=tuple(raw),
        word_digits=tuple(word_digits),
        email=email,
        phone_digits=phone,
        prefix_last=not q[-1].isspace(),
    )


def edit_distance(a: str, b: str, limit: int = 2) -> int:
    """Return the optimal-string-alignment distance of ``a`` and ``b`` (capped at limit + 1)."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        cur = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        prev2, prev = prev, cur
    return min(prev[-1], limit + 1)


class Highlighter:
    """Mark what matched, hit after hit, within one lookup's budget of word comparisons.

    Each distinct word of the stored values is compared with the query words once per lookup
    (names repeat from hit to hit). After :data:`HIGHLIGHT_CHECKS` comparisons the remaining
    hits get no highlights, and after :data:`HIGHLIGHT_EDITS` edit distances no typo is marked
    any more, so a lookup's highlight cost is bounded whatever the hits hold.
    """

    def __init__(
        self, plan: RankedPlan, *, checks: int = HIGHLIGHT_CHECKS, edits: int = HIGHLIGHT_EDITS
    ) -> None:
        self.plan = plan
        self.checks_left = checks
        self.edits_left = edits
        self._matched: dict[str, bool] = {}  # value word → whether some query word hits it
        last = len(plan.words) - 1
        self._words = [
            (w, plan.prefix_last and i == last, fuzzy_distance(w)) for i, w in enumerate(plan.words)
        ]

    def __call__(self, record: Mapping[str, str | None]) -> Highlights:
        """Return field → the sorted, merged ranges of its value that matched (only fields
        with a match; ranges lie within the searched part of a long value)."""
        out: Highlights = {}
        if self.checks_left <= 0:
            return out
        for field in HIGHLIGHT_FIELDS:
            value = record.get(field)
            if not value:
                continue
            spans = self._spans(field, searched(value))
            if spans:
                out[field] = merge_ranges(spans)
        return out

    def _spans(self, field: str, value: str) -> list[Range]:
        plan = self.plan
        spans: list[Range] = []
        lowered = _lower(value)
        if field == EMAIL_FIELD and plan.email and lowered == plan.email:
            spans.append((0, len(value)))
        lowered = fold(lowered)  # same length: spans stay spans of the value
        digits = digits_of(value) if field == PHONE_FIELD else ""
        if digits and plan.phone_digits and plan.phone_digits in digits:
            spans.append((0, len(value)))
        for match in _WORD.finditer(lowered):
            if self._hits(match.group()):
                spans.append(match.span())
        for word in plan.words:
            start = lowered.find(word) if len(word) >= 3 else -1
            if start != -1:
                spans.append((start, start + len(word)))
        if digits and any(d and d in digits for d in plan.word_digits):
            spans.append((0, len(value)))
        return spans

    def _hits(self, candidate: str) -> bool:
        """Whether some query word matches this value word: equal, prefix (last word) or fuzzy."""
        known = self._matched.get(candidate)
        if known is not None:
            return known
        if self.checks_left <= 0:
            return False
        self.checks_left -= len(self._words)
        hit = any(
            candidate == word
            or (prefix and candidate.startswith(word))
            or (distance and self._fuzzy(word, candidate, distance, prefix))
            for word, prefix, distance in self._words
        )
        self._matched[candidate] = hit
        return hit

    def _fuzzy(self, word: str, candidate: str, distance: int, prefix: bool) -> bool:
        """Within ``distance`` edits (of some prefix, for the last word), as tantivy/ES match."""
        lengths = [len(candidate)] if abs(len(candidate) - len(word)) <= distance else []
        if prefix:
            top = min(len(candidate) - 1, len(word) + distance)
            lengths += range(max(1, len(word) - distance), top + 1)
        for n in lengths:
            if self.edits_left <= 0:
                return False
            self.edits_left -= 1
            if edit_distance(word, candidate[:n], distance) <= distance:
                return True
        return False


def _lower(value: str) -> str:
    """``value`` lower-cased character by character, keeping its length (a character whose
    lower case is longer, like "İ", stays as it is), so that spans found in it are spans of
    ``value``."""
    lowered = value.lower()
    if len(lowered) == len(value):
        return lowered
    return "".join(c if len(low := c.lower()) != 1 else low for c in value)


def merge_ranges(spans: list[Range]) -> list[Range]:
    """``spans`` sorted, with overlapping or touching ones merged."""
    merged: list[Range] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def best_hits(plan: RankedPlan, found: Iterable[tuple[str, float, Mapping[str, Any]]]) -> list[Hit]:
    """The hits of one lookup, best first and ties by id, as both engines must order them.

    :param found: each match as ``(id, the engine's score, its text fields)``, in the engine's
        order: the highlight budget goes to the best matches first.
    """
    highlight = Highlighter(plan)
    hits = [
        Hit(id=id, score=round(float(score), 4), highlights=highlight(record))
        for id, score, record in found
    ]
    hits.sort(key=lambda h: (-h.score, h.id))
    return hits
