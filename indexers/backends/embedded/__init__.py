"""The embedded engine: tantivy index files under the data directory.

One module a job:

* :mod:`.schema`: the tantivy schema and opening an index directory with it;
* :mod:`.documents`: a search document as a tantivy document, and back;
* :mod:`.queries`: the filters and the exact ``q`` of a list as tantivy queries;
* :mod:`.paging`: ordered pages by numeric fast fields;
* :mod:`.ranked`: the ranked lookup;
* :mod:`.generation`: one index directory with its writer (reads, writes, bulk loads);
* :mod:`.generations`: the generations under one root and the ``ACTIVE`` pointer;
* :mod:`.backend`: :class:`EmbeddedBackend`, the :class:`~indexers.backends.base.SearchBackend`
  that composes them.
"""

from __future__ import annotations

from indexers.backends.embedded.backend import EmbeddedBackend

__all__ = ["EmbeddedBackend"]
