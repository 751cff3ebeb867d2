"""What every group of service methods shares: the store, the search gate, the attached index.

``CustomerModuleService`` is one flat class, as Medusa's interface is; its methods live in one
module per entity (:mod:`app.service.methods`), each a class deriving from
:class:`ServiceBase`. The types of the public API are here too.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, Protocol, TypeVar

from pydantic import BaseModel

from app.dto import DTO
from app.entities import Entity
from app.filtering import And, Node, compile_filters, has_text
from app.service.admission import SearchGate
from app.service.findconfig import FindConfig, parse_config
from app.service.store import Store
from app.textsearch import Highlights

__all__ = [
    "Config",
    "CustomerIndex",
    "Data",
    "Filters",
    "Ids",
    "ListedCustomer",
    "ManyIds",
    "RankedHit",
    "ServiceBase",
]

T = TypeVar("T")
D = TypeVar("D", bound=DTO)

Filters = Mapping[str, Any] | None
"""Medusa-style filters (``{"email": …, "$or": [...], "q": …}``); ``None``: everything."""
Config = Mapping[str, Any] | None
"""Medusa's FindConfig: ``select``, ``relations``, ``skip``, ``take``, ``order``,
``with_deleted``."""
Data = Mapping[str, Any] | BaseModel
"""One input object: a dict, or the service's own input model (``app.service.inputs``)."""
ManyIds = list[str] | tuple[str, ...]
"""Several ids."""
Ids = str | ManyIds
"""One id or several."""


class Lister(Protocol[D]):
    """A MongoDB list read (``app.service.queries.list_*``)."""

    def __call__(
        self, store: Store, where: And, config: FindConfig, *, count: bool
    ) -> Awaitable[tuple[list[D], int | None]]: ...


class RankedHit(Protocol):
    """One hit of the index's ranked lookup."""

    @property
    def id(self) -> str: ...

    @property
    def score(self) -> float: ...

    @property
    def highlights(self) -> Highlights: ...


class ListedCustomer(Protocol):
    """One customer of a list page the index served: its id and its stored response document
    (JSON of the DTO a read without ``select`` or relations returns; None: the index holds
    none for it)."""

    @property
    def id(self) -> str: ...

    @property
    def document(self) -> bytes | None: ...


class CustomerIndex(Protocol):
    """The search index's read side, as the service uses it (see ``indexers.reader``).

    Filters arrive compiled (:mod:`app.filtering`), their relations resolved to live ids.
    """

    async def list_customers(
        self,
        where: Node,
        *,
        skip: int,
        take: int | None,
        order: Sequence[tuple[str, int]],
        with_deleted: bool,
    ) -> tuple[Sequence[ListedCustomer], int] | None:
        """A page (each customer's id and stored response document) and the total, or
        ``None`` when the index cannot serve ``where``."""
        ...

    async def search_customers(
        self, q: str, where: Node, limit: int, *, with_deleted: bool
    ) -> tuple[Sequence[RankedHit], int] | None:
        """Ranked hits and the match count, or ``None`` when the index cannot answer."""
        ...

    async def size(self) -> int | None:
        """How many customers the index holds (``None`` when it cannot tell now)."""
        ...

    async def wait_until_applied(self, timeout: float) -> bool:  # noqa: ASYNC109
        """Whether the index holds every write committed before the call, waiting up to
        ``timeout`` seconds."""
        ...


class ServiceBase:
    """The state the service's methods share, and how they run reads."""

    def __init__(
        self,
        store: Store,
        *,
        owns_client: bool = False,
        gate: SearchGate | None = None,
        scan_limit: int | None = None,
        page_limit: int | None = None,
        index: CustomerIndex | None = None,
        link_guest_on_register: bool = False,
    ) -> None:
        self._store = store
        self.link_guest_on_register = link_guest_on_register
        self._owns_client = owns_client
        self.index = index
        self.gate = gate or SearchGate()
        self.scan_limit = scan_limit
        self.page_limit = page_limit
        self._size_estimate: tuple[float, int | None] | None = None  # (when, MongoDB's)

    @property
    def store(self) -> Store:
        """The service's collections (for the indexer, tools and tests)."""
        return self._store

    @property
    def database(self) -> Any:
        """The PyMongo ``AsyncDatabase`` the service works on."""
        return self._store.database

    async def _list(
        self, entity: Entity, read: Lister[D], filters: Filters, config: Config, *, count: bool
    ) -> tuple[list[D], int | None]:
        """A list of ``entity`` (addresses, groups, memberships): compiled once, then read from
        MongoDB by ``read`` (a search when it has ``q``, a bounded read otherwise)."""
        cfg = parse_config(config, entity)
        where = compile_filters(filters, entity)
        return await self._read(where, lambda: read(self._store, where, cfg, count=count))

    async def _read(
        self, where: Node, work: Callable[[], Awaitable[T]], *, search: bool = False
    ) -> T:
        """Run ``work`` as a search (customer lists, or any ``q``) or as a plain bounded read.

        The filters were compiled (so checked) before: bad input is ``invalid_data`` before
        any admission, whichever path answers.
        """
        if search or has_text(where):
            return await self.gate.search(work)
        return await self.gate.bounded(work)
