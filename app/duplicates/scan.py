"""Scoring candidates: every blocked pair of a whole base, or one customer's candidates. Pure.

Synchronous and CPU-bound on purpose: the service runs :func:`scored_pairs` in a worker thread
so that a scan of the whole base never holds up the event loop the API answers on.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from app.duplicates.blocking import MAX_BLOCK, WINDOW, blocking_keys
from app.duplicates.clusters import ScoredPair
from app.duplicates.profile import Profile
from app.duplicates.scoring import Match, score_pair

__all__ = ["Progress", "score_candidates", "scored_pairs"]

Progress = Callable[[int], None]
"""Told how many customers have been compared so far."""

_REPORT_EVERY = 500  # customers between two progress calls


def _blocks(profiles: Sequence[Profile]) -> tuple[dict[str, list[int]], list[set[str]]]:
    members: dict[str, list[int]] = {}
    keys = []
    for position, profile in enumerate(profiles):
        own = blocking_keys(profile)
        keys.append(own)
        for key in own:
            members.setdefault(key, []).append(position)
    return members, keys


def _windows(
    members: dict[str, list[int]], profiles: Sequence[Profile]
) -> dict[str, dict[int, int]]:
    """For each block too big to compare all against all: its members in name order, as
    positions in that order."""

    def order(i: int) -> tuple[str, str, str]:
        return (profiles[i].last or "", profiles[i].first or "", profiles[i].id)

    return {
        key: {i: n for n, i in enumerate(sorted(block, key=order))}
        for key, block in members.items()
        if len(block) > MAX_BLOCK
    }


def _partners(
    i: int,
    keys: set[str],
    members: dict[str, list[int]],
    windows: dict[str, dict[int, int]],
    ordered: dict[str, list[int]],
) -> set[int]:
    """The customers after ``i`` that share a block with it (a big block: its window)."""
    found: set[int] = set()
    for key in keys:
        block = members[key]
        if len(block) <= MAX_BLOCK:
            found.update(j for j in block if j > i)
            continue
        at = windows[key][i]
        line = ordered[key]
        found.update(j for j in line[max(0, at - WINDOW) : at + WINDOW + 1] if j > i)
    return found


def scored_pairs(
    profiles: Sequence[Profile], *, min_score: float, progress: Progress | None = None
) -> list[ScoredPair]:
    """Every blocked pair scoring ``min_score`` or more, each once."""
    members, keys = _blocks(profiles)
    windows = _windows(members, profiles)
    ordered = {
        key: [i for i, _ in sorted(at.items(), key=lambda item: item[1])]
        for key, at in windows.items()
    }
    found: list[ScoredPair] = []
    for i, profile in enumerate(profiles):
        for j in _partners(i, keys[i], members, windows, ordered):
            match = score_pair(profile, profiles[j])
            if match.score >= min_score:
                found.append(ScoredPair(profile.id, profiles[j].id, match.score, match.reasons))
        if progress is not None and i % _REPORT_EVERY == 0:
            progress(i)
    if progress is not None:
        progress(len(profiles))
    return found


def score_candidates(
    profile: Profile, candidates: Iterable[Profile], *, min_score: float
) -> list[tuple[Profile, Match]]:
    """The candidates scoring ``min_score`` or more against ``profile``, best first."""
    scored = [(other, score_pair(profile, other)) for other in candidates if other.id != profile.id]
    kept = [(other, match) for other, match in scored if match.score >= min_score]
    kept.sort(key=lambda item: (-item[1].score, item[0].id))
    return kept
