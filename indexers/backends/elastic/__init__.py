"""The Elasticsearch engine (``elasticsearch[async]``), used when ELASTICSEARCH_URL is set.

One module a job:

* :mod:`.mapping`: the index settings and mappings, and a search document as its source;
* :mod:`.queries`: the filters, the exact ``q``, the sort and the page of a list;
* :mod:`.ranked`: the ranked lookup and its hits;
* :mod:`.retry`: one request, retried on transient failures;
* :mod:`.generations`: indices behind the read and write aliases;
* :mod:`.backend`: :class:`ElasticBackend`, the :class:`~indexers.backends.base.SearchBackend`
  that composes them.
"""

from __future__ import annotations

from indexers.backends.elastic.backend import ElasticBackend
from indexers.backends.elastic.mapping import MAPPINGS, SETTINGS, es_document
from indexers.backends.elastic.queries import filter_query, page_request, q_clauses, sort_plan
from indexers.backends.elastic.ranked import ranked_query

__all__ = [
    "MAPPINGS",
    "SETTINGS",
    "ElasticBackend",
    "es_document",
    "filter_query",
    "page_request",
    "q_clauses",
    "ranked_query",
    "sort_plan",
]
