"""Declare one more customer field, then check the whole app side follows with no other edit.

Run as ``python -m tests.service.declared_field MONGODB_URI DATABASE`` (by
``test_declared_field.py``): the declaration is changed before the rest of :mod:`app` is
imported, as if the field had always been declared, so this needs a process of its own.
"""

from __future__ import annotations

import asyncio
import dataclasses
import sys

import app.entities as entities
from app.entities import declarations

NICKNAME = entities.Field(
    "nickname",
    entities.Kind.TEXT,
    create=entities.ANYONE,
    update=entities.ANYONE,
    filter=entities.Filter(),
    q=6,
    index=entities.Index.FILTER | entities.Index.SORT,
)
_members = declarations.CUSTOMER.members
_CUSTOMER = dataclasses.replace(
    declarations.CUSTOMER, members=(*_members[:3], NICKNAME, *_members[3:])
)
entities.CUSTOMER = declarations.CUSTOMER = declarations.ENTITIES["customer"] = _CUSTOMER

from app.api import schemas  # noqa: E402
from app.api.serialize import ADMIN_CUSTOMER, STORE_CUSTOMER  # noqa: E402
from app.models import Customer  # noqa: E402
from app.service import CustomerModuleService  # noqa: E402
from app.stubs import render  # noqa: E402


def check_models() -> None:
    for model in (
        schemas.AdminCustomerBody,
        schemas.StoreCustomerCreateBody,
        schemas.StoreCustomerUpdateBody,
        schemas.CustomerFilters,
        schemas.CustomerRelationFilter,
        schemas.CustomerOut,
        Customer,
    ):
        assert "nickname" in model.model_fields, model.__name__
    assert "nickname" in ADMIN_CUSTOMER.defaults and "nickname" in STORE_CUSTOMER.defaults
    assert "nickname" in _CUSTOMER.columns
    assert "    nickname: str | None = ...\n" in render("app.dto")


async def check_service(uri: str, database: str) -> None:
    service = await CustomerModuleService.connect(uri, database)
    try:
        ann = await service.create_customers({"first_name": "Ann", "nickname": "Zorro"})
        assert ann.nickname == "Zorro"  # type: ignore[attr-defined]  # declared in this subprocess only
        await service.create_customers({"first_name": "Bob", "nickname": "Ace"})
        await service.update_customers(ann.id, {"nickname": "Zed"})

        async def names(filters: dict, config: dict | None = None) -> list[str | None]:
            return [c.first_name for c in await service.list_customers(filters, config)]

        assert await names({"nickname": "Zed"}) == ["Ann"]
        assert await names({"nickname": {"$like": "A%"}}) == ["Bob"]
        assert await names({"q": "ace"}) == ["Bob"]
        assert await names({}, {"order": {"nickname": "DESC"}}) == ["Ann", "Bob"]
        retrieved = await service.retrieve_customer(ann.id)
        assert retrieved.model_dump()["nickname"] == "Zed"
    finally:
        await service.close()


if __name__ == "__main__":
    check_models()
    asyncio.run(check_service(sys.argv[1], sys.argv[2]))
    print("ok")
