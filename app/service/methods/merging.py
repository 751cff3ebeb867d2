"""The service's merge methods: preview and merge customers, resolve a merged customer, and
link a new account's guest (``CUSTOMERS_LINK_GUEST_ON_REGISTER``).

The rules are :mod:`app.service.survivorship`'s, the transaction :mod:`app.service.merging`'s;
here input is validated and the outcome becomes a DTO (the customer with its addresses and
groups, as the merge left it or would leave it).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from app.dto import CustomerDTO
from app.entities import CUSTOMER
from app.errors import InvalidData
from app.input_checks import validate
from app.limits import MAX_ID_CHARS
from app.service import merging, queries
from app.service.etags import IfMatch
from app.service.findconfig import parse_config
from app.service.merge_models import MergeReport, MergeRequest
from app.service.methods.base import Data, ServiceBase

__all__ = ["MergeMethods", "MergeResult"]

_WITH_RELATIONS = parse_config({"relations": ["addresses", "groups"]}, CUSTOMER)


class MergeResult(MergeReport):
    """A merge's (or its preview's) outcome: the resulting customer and the report."""

    customer: CustomerDTO


def _request(data: Data | None, customer_ids: Sequence[str] | None) -> MergeRequest:
    body: dict[str, Any] = {"customer_ids": list(customer_ids or [])}
    if data is not None:
        body["keep"] = data
    return validate(MergeRequest, body)


class MergeMethods(ServiceBase):
    """Merging customers (our extension: Medusa has no merge)."""

    async def preview_customer_merge(
        self, target_id: str, customer_ids: Sequence[str], keep: Data | None = None
    ) -> MergeResult:
        """What :meth:`merge_customers` would do now; nothing is written."""
        request = _request(keep, customer_ids)
        outcome = await merging.preview(
            self._store, _checked_id(target_id), request.customer_ids, _keep(request)
        )
        return await self._result(outcome)

    async def merge_customers(
        self,
        target_id: str,
        customer_ids: Sequence[str],
        keep: Data | None = None,
        *,
        by: str | None = None,
        if_match: IfMatch = None,
    ) -> MergeResult:
        """Merge ``customer_ids`` into ``target_id`` (one transaction; see
        :mod:`app.service.survivorship` for which values survive). ``keep``: a customer id per
        field, an address id per default; ``by``: who merges (recorded in the target's
        ``provenance``); ``if_match``: the target's ETag the merge is based on. A retry of a
        merge that happened answers ``already_merged`` and writes nothing."""
        request = _request(keep, customer_ids)
        outcome = await merging.merge(
            self._store,
            _checked_id(target_id),
            request.customer_ids,
            _keep(request),
            by=by,
            if_match=if_match,
        )
        return await self._result(outcome)

    async def resolve_merged_customer(self, customer_id: str) -> str:
        """The id a store token naming ``customer_id`` acts as: the live customer it was
        merged into (following chains), or ``customer_id`` itself."""
        return await merging.resolve(self._store, customer_id)

    async def _result(self, outcome: merging.Merged) -> MergeResult:
        customer = (
            await queries.customers_to_dtos(self._store, [outcome.target], _WITH_RELATIONS)
        )[0]
        return MergeResult(customer=customer, **dict(outcome.report))


def _keep(request: MergeRequest) -> dict[str, Any] | None:
    return None if request.keep is None else request.keep.model_dump(exclude_none=True)


def _checked_id(target_id: object) -> str:
    """The target's id; callers of the service may be untyped."""
    if not isinstance(target_id, str) or not 0 < len(target_id) <= MAX_ID_CHARS:
        raise InvalidData(
            f"Invalid request: The target customer id must be a string of 1 to {MAX_ID_CHARS} "
            "characters"
        )
    return target_id
