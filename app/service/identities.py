"""Auth identities → customers: the link Medusa keeps as ``app_metadata.customer_id``.

A registration token names an auth identity; registering creates a customer and links the
identity to it. The link document's ``_id`` is the identity id, so the database itself refuses
a second customer for one identity, under any race. The link is written in the same transaction
as the customer (:func:`app.service.customers.create_account`) and removed in the same
transaction that deletes the customer, so neither ever exists without the other; a deleted
customer's identity can register again, as in Medusa.
"""

from __future__ import annotations

from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.errors import PyMongoError

from app import errors
from app.models import utcnow
from app.service.common import duplicate_key
from app.service.store import Store

__all__ = ["link", "unlink_customers"]


async def link(
    store: Store, auth_identity_id: str, customer_id: str, *, session: AsyncClientSession
) -> None:
    """Record that ``auth_identity_id`` registered ``customer_id``; refuse a second customer."""
    doc = {"_id": auth_identity_id, "customer_id": customer_id, "created_at": utcnow()}
    try:
        await store.identity_links.insert_one(doc, session=session)
    except PyMongoError as exc:
        if duplicate_key(exc) is not None:
            raise errors.identity_already_linked() from None
        raise


async def unlink_customers(
    store: Store, customer_ids: list[str], *, session: AsyncClientSession | None = None
) -> None:
    """Forget the identities of these customers, so each identity may register again."""
    await store.identity_links.delete_many({"customer_id": {"$in": customer_ids}}, session=session)
