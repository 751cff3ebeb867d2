"""Auth identities → customers: the link Medusa keeps as ``app_metadata.customer_id``.

A registration token names an auth identity; registering creates a customer and links the
identity to it, both in one transaction (:func:`app.service.customers.create_account`), so
neither exists without the other. The link document's ``_id`` is the identity id, so the
database itself refuses a second link for one identity, under any race.

Deleting a customer (soft or hard) removes its link afterwards, so the identity can register
again, as in Medusa. Deletes stay plain idempotent writes rather than transactions (a bulk
delete must not become one huge transaction): if one stops between the customer write and the
unlink, the link outlives its customer, and registration treats a link whose customer is no
longer live as free and takes it over in its own transaction. The unlink only removes links
that still point at the deleted customers, so it never undoes a newer registration.
"""

from __future__ import annotations

from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.errors import PyMongoError

from app import errors
from app.entities.values import utcnow
from app.service.mongo import duplicate_key
from app.service.store import RawDoc, Store

__all__ = ["link", "unlink_customers"]


async def link(
    store: Store, auth_identity_id: str, customer_id: str, *, session: AsyncClientSession
) -> None:
    """Record that ``auth_identity_id`` registered ``customer_id`` (inside the registration's
    transaction); ``invalid_data`` if the identity already has a live customer."""
    doc = {"_id": auth_identity_id, "customer_id": customer_id, "created_at": utcnow()}
    current = await store.identity_links.find_one({"_id": auth_identity_id}, session=session)
    if current is None:
        try:
            await store.identity_links.insert_one(doc, session=session)
        except PyMongoError as exc:  # a concurrent registration linked it first
            raise (
                errors.identity_already_linked() if duplicate_key(exc) is not None else exc
            ) from None
        return
    if await _is_live(store, current["customer_id"], session):
        raise errors.identity_already_linked()
    # The link outlived its customer (a delete stopped before unlinking): take it over. A
    # concurrent registration doing the same conflicts with this write and is retried.
    stale = {"_id": auth_identity_id, "customer_id": current["customer_id"]}
    result = await store.identity_links.replace_one(stale, doc, session=session)
    if not result.matched_count:
        raise errors.identity_already_linked()


async def _is_live(store: Store, customer_id: str, session: AsyncClientSession) -> bool:
    found: RawDoc | None = await store.customers.find_one(
        {"_id": customer_id, "deleted_at": None}, {"_id": 1}, session=session
    )
    return found is not None


async def unlink_customers(store: Store, customer_ids: list[str]) -> None:
    """Forget the identities of these (deleted) customers, so each may register again.

    Looks first: a read costs far less than a durable write, and most customers (guests) have
    no identity.
    """
    linked = {"customer_id": {"$in": customer_ids}}
    if await store.identity_links.find_one(linked, {"_id": 1}) is not None:
        await store.identity_links.delete_many(linked)
