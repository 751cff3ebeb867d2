"""Filters compiled once: Medusa-style filters → a small checked tree every reader consumes.

:func:`compile_filters` checks and normalises a filter against an entity's declaration; the
service translates the tree for MongoDB (``app.service.mongo_filters``) and the search index
reader for the index (``indexers.reader``). See :mod:`app.filtering.nodes` for the tree.
"""

from app.filtering.compile import as_datetime, compile_filters
from app.filtering.nodes import And, Compare, Node, Or, Related, Text, contains, has_text, walk

__all__ = [
    "And",
    "Compare",
    "Node",
    "Or",
    "Related",
    "Text",
    "as_datetime",
    "compile_filters",
    "contains",
    "has_text",
    "walk",
]
