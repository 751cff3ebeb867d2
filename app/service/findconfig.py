"""Medusa's FindConfig: select, relations, skip, take, order and with_deleted.

What may be ordered by and which relations exist come from the entity's declaration.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from app.entities import Entity
from app.errors import InvalidData, quote

__all__ = ["FindConfig", "parse_config"]

_DIRECTIONS = {"ASC": 1, "DESC": -1, "1": 1, "-1": -1}


@dataclass(frozen=True)
class FindConfig:
    """A validated FindConfig; ``sort`` always ends with the id as tie-breaker."""

    select: frozenset[str] | None = None
    relations: frozenset[str] = frozenset()
    skip: int = 0
    take: int | None = None
    sort: tuple[tuple[str, int], ...] = (("id", 1),)
    with_deleted: bool = False

    def wants(self, relation: str) -> bool:
        """Whether ``relation`` was asked for, by ``relations`` or a ``select`` like ``rel.x``."""
        if relation in self.relations:
            return True
        return bool(self.select) and any(
            s == relation or s.startswith(relation + ".") for s in self.select or ()
        )


def _sort(order: Any, sortable: Collection[str]) -> tuple[tuple[str, int], ...]:
    if order is None:
        return (("id", 1),)
    if not isinstance(order, Mapping):
        raise InvalidData("Invalid config: 'order' must be an object like {created_at: 'DESC'}")
    keys: list[tuple[str, int]] = []
    for name, direction in order.items():
        if name not in sortable:
            raise InvalidData(f"Order field {quote(name)} is not valid")
        key = str(direction).upper()
        if key not in _DIRECTIONS:
            raise InvalidData(
                f"Invalid config: order direction '{quote(direction)}' for '{quote(name)}'"
            )
        keys.append((name, _DIRECTIONS[key]))
    if not any(name == "id" for name, _ in keys):
        keys.append(("id", 1))
    return tuple(keys)


def _non_negative(name: str, value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidData(f"Invalid config: '{name}' must be a non-negative integer")
    return value


def _names(name: str, value: Any) -> frozenset[str] | None:
    if value is None:
        return None
    if isinstance(value, str) or not all(isinstance(v, str) for v in value):
        raise InvalidData(f"Invalid config: '{name}' must be a list of field names")
    return frozenset(value)


def parse_config(config: Mapping[str, Any] | None, entity: Entity) -> FindConfig:
    """Validate a FindConfig dict for ``entity`` (``withDeleted`` is accepted as an alias)."""
    sortable = entity.sortable
    relations = {r.name for r in entity.relations}
    if config is None:
        return FindConfig()
    if not isinstance(config, Mapping):
        raise InvalidData("Invalid config: expected an object")
    known = {"select", "relations", "skip", "take", "order", "with_deleted", "withDeleted"}
    unknown = sorted(set(config) - known)
    if unknown:
        raise InvalidData(f"Invalid config: Unrecognized fields: '{quote(', '.join(unknown))}'")
    wanted = _names("relations", config.get("relations")) or frozenset()
    bad = sorted(r for r in wanted if r.split(".")[0] not in relations)
    if bad:
        raise InvalidData(f"Invalid config: unknown relation(s) '{quote(', '.join(bad))}'")
    with_deleted = config.get("with_deleted", config.get("withDeleted", False))
    return FindConfig(
        select=_names("select", config.get("select")),
        relations=frozenset(r.split(".")[0] for r in wanted),
        skip=_non_negative("skip", config.get("skip")) or 0,
        take=_non_negative("take", config.get("take")),
        sort=_sort(config.get("order"), sortable),
        with_deleted=bool(with_deleted),
    )
