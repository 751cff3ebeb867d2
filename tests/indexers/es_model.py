"""How Elasticsearch evaluates the list requests we build, for the tests that run without a server.

Only the query types :mod:`indexers.backends.elastic.queries` emits, on the field types of
:data:`~indexers.backends.elastic.MAPPINGS`: ``bool``, ``term``, ``terms``, ``range`` and
``span_near`` (``span_term`` / ``span_gap``). A text field with the ``trigram`` analyzer (an
ngram tokenizer of 3 to 3, no filter) holds the trigrams of each array value, the values far
apart (Elasticsearch's position gap is 100; our phrases skip at most 2), so a phrase matches
inside one value; a keyword field holds its values whole; sorting a keyword is code-point order
(Lucene compares UTF-8 bytes). Any other query is an error here: a new query type needs its
meaning written down before a test can pass.
"""

from __future__ import annotations

from typing import Any

from indexers.backends.elastic import MAPPINGS

__all__ = ["matches", "nodes", "trigram_fields", "trigrams"]


def nodes(query: Any) -> list[dict[str, Any]]:
    """Every object of a request body, the body first (depth first, in order)."""
    if isinstance(query, dict):
        return [query, *(n for v in query.values() for n in nodes(v))]
    if isinstance(query, list):
        return [n for v in query for n in nodes(v)]
    return []


def trigram_fields() -> frozenset[str]:
    """The text fields analyzed into trigrams, read from the mapping."""
    return frozenset(
        name
        for name, spec in MAPPINGS["properties"].items()
        if spec.get("type") == "text" and spec.get("analyzer") == "trigram"
    )


def _values(source: dict[str, Any], field: str) -> list[Any]:
    value = source.get(field)
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def trigrams(value: str) -> list[str]:
    return [value[i : i + 3] for i in range(len(value) - 2)]


def _term(source: dict[str, Any], field: str, value: Any) -> bool:
    spec = MAPPINGS["properties"][field]  # KeyError: a field the mapping does not have
    if field in trigram_fields():
        return any(value in trigrams(v) for v in _values(source, field))
    if spec.get("normalizer") == "lc":
        value = value.strip().lower()
        return any(v.strip().lower() == value for v in _values(source, field))
    return value in _values(source, field)


def _span_near(source: dict[str, Any], body: dict[str, Any]) -> bool:
    assert body["slop"] == 0 and body["in_order"] is True
    steps: list[tuple[str, Any]] = []
    fields = set()
    for clause in body["clauses"]:
        ((kind, spec),) = clause.items()
        ((field, value),) = spec.items()
        fields.add(field)
        steps.append((kind, value))
    (field,) = fields
    assert field in trigram_fields()
    for value in _values(source, field):
        grams = trigrams(value)
        for start in range(len(grams)):
            position, ok = start, True
            for kind, step in steps:
                if kind == "span_gap":
                    position += step
                elif position < len(grams) and grams[position] == step:
                    position += 1
                else:
                    ok = False
                    break
            if ok:
                return True
    return False


def _range(source: dict[str, Any], field: str, bounds: dict[str, int]) -> bool:
    checks = {
        "gt": lambda v, b: v > b,
        "gte": lambda v, b: v >= b,
        "lt": lambda v, b: v < b,
        "lte": lambda v, b: v <= b,
    }
    return any(
        all(checks[op](value, bound) for op, bound in bounds.items())
        for value in _values(source, field)
    )


def matches(query: dict[str, Any], source: dict[str, Any]) -> bool:
    """Whether the document ``source`` matches ``query``."""
    ((kind, body),) = query.items()
    if kind == "bool":
        required = [*body.get("filter", []), *body.get("must", [])]
        if not all(matches(q, source) for q in required):
            return False
        if any(matches(q, source) for q in body.get("must_not", [])):
            return False
        should = body.get("should", [])
        wanted = body.get("minimum_should_match", 0 if required else 1)
        return sum(matches(q, source) for q in should) >= wanted
    if kind == "term":
        ((field, value),) = body.items()
        return _term(source, field, value)
    if kind == "terms":
        ((field, values),) = body.items()
        return any(_term(source, field, value) for value in values)
    if kind == "range":
        ((field, bounds),) = body.items()
        return _range(source, field, bounds)
    if kind == "span_near":
        return _span_near(source, body)
    raise AssertionError(f"no meaning written down for a {kind!r} query")
