"""The ranked admin lookup, engine-independent parts: what to look for, and what matched. Pure.

Tiers (highest first): exact email or phone, full name (first + last in either order), prefix of
the last word (as you type), fuzzy words (1 edit from 4 characters, 2 from 8), plain substring.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from app.textsearch import digits_of, is_phone_word, split_words
from indexers.analysis import fold, words_of

__all__ = ["RankedPlan", "edit_distance", "fuzzy_distance", "highlight", "plan_ranked"]

_WORD = re.compile(r"[^\W_]+")
HIGHLIGHT_FIELDS = ("email", "first_name", "last_name", "company_name", "phone")


def fuzzy_distance(word: str) -> int:
    """Return the edits a word tolerates: 0 below 4 characters, 1 from 4, 2 from 8."""
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


def _word_hits(word: str, candidate: str, *, prefix: bool) -> bool:
    if candidate == word or (prefix and candidate.startswith(word)):
        return True
    distance = fuzzy_distance(word)
    if not distance:
        return False
    if edit_distance(word, candidate, distance) <= distance:
        return True
    if prefix:  # some prefix of the candidate is within the distance (as tantivy/ES do)
        lengths = range(max(1, len(word) - distance), min(len(candidate), len(word) + distance) + 1)
        return any(edit_distance(word, candidate[:n], distance) <= distance for n in lengths)
    return False


def highlight(plan: RankedPlan, record: Mapping[str, str | None]) -> dict[str, str]:
    """Return field → value with the matching parts wrapped in ``<em>…</em>``."""
    out: dict[str, str] = {}
    for field in HIGHLIGHT_FIELDS:
        value = record.get(field)
        if not value:
            continue
        spans: list[tuple[int, int]] = []
        lowered = value.lower()
        if field == "email" and plan.email and lowered == plan.email:
            spans.append((0, len(value)))
        lowered = fold(lowered)  # same length: spans stay spans of the value
        if field == "phone" and plan.phone_digits and plan.phone_digits in digits_of(value):
            spans.append((0, len(value)))
        for index, word in enumerate(plan.words):
            prefix = plan.prefix_last and index == len(plan.words) - 1
            for match in _WORD.finditer(lowered):
                if _word_hits(word, match.group(), prefix=prefix):
                    spans.append(match.span())
            if len(word) >= 3 and len(lowered) == len(value):
                start = lowered.find(word)
                if start != -1:
                    spans.append((start, start + len(word)))
            digits = plan.word_digits[index]
            if field == "phone" and digits and digits in digits_of(value):
                spans.append((0, len(value)))
        if spans:
            out[field] = _mark(value, spans)
    return out


def _mark(value: str, spans: list[tuple[int, int]]) -> str:
    merged: list[list[int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    parts, last = [], 0
    for start, end in merged:
        parts.append(value[last:start])
        parts.append(f"<em>{value[start:end]}</em>")
        last = end
    parts.append(value[last:])
    return "".join(parts)
