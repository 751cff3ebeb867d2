"""A list page written in one piece (:func:`app.api.listing.page_response`) is the JSON the app's
encoder writes from the page's dict: the same bytes, for every list shape and varied data."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest
from flask import Flask, Response
from prometheus_client import CollectorRegistry
from pydantic import BaseModel

from app.api import init_app
from app.api.fields import Shape
from app.api.listing import page, page_response
from app.api.serialize import (
    ADMIN_ADDRESS,
    ADMIN_CUSTOMER,
    GROUP,
    STORE_ADDRESS,
    dump_many,
    dump_many_json,
    select,
)
from app.config import Settings
from app.dto import CustomerAddressDTO, CustomerDTO, CustomerGroupDTO

AT = datetime(2024, 2, 29, 23, 59, 59, 999000, tzinfo=UTC)
METADATA: list[Any] = [
    None,
    {},
    {"tier": "gold", "score": 4.25, "big": 2**53 + 1, "none": None, "flag": False},
    {"list": [1, "two", None, {"deep": ["ü", 3.0]}], "ключ": "значение", "emoji": "🦊"},
    {"quote": 'a "b" \\ c </script> & \u2028 \x00 \t'},
]
TEXTS = ["Ann", "Zoë 🦊", 'Ωmega <b>&amp;</b> "q"', "Line\nbreak\ttab", "Ĉeĥo\u0301", ""]


def customers() -> list[CustomerDTO]:
    return [
        CustomerDTO(
            id=f"cus_{n:02d}",
            email=f"{TEXTS[n % len(TEXTS)][:3]}{n}@exämple.de" if n % 4 else None,
            first_name=TEXTS[n % len(TEXTS)],
            last_name=TEXTS[(n + 2) % len(TEXTS)] if n % 3 else None,
            company_name=TEXTS[(n + 1) % len(TEXTS)],
            phone="+1 555 0100" if n % 2 else None,
            has_account=bool(n % 2),
            created_by="user_01" if n % 5 == 0 else None,
            metadata=METADATA[n % len(METADATA)],
            created_at=AT,
            updated_at=AT,
            deleted_at=AT if n == 3 else None,
        )
        for n in range(12)
    ]


def loaded(model: type[BaseModel], relations: tuple[str, ...], **values: Any) -> Any:
    """A DTO holding every field (``None`` unless given), as a stored document loads it."""
    names = [f for f in model.model_fields if f not in relations]
    return model(**{name: values.get(name) for name in names})


def groups() -> list[CustomerGroupDTO]:
    return [
        loaded(CustomerGroupDTO, ("customers",), id=f"cusgroup_{n}", name=TEXTS[n],
               metadata=METADATA[n % 5], created_at=AT, updated_at=AT)
        for n in range(len(TEXTS))
    ]  # fmt: skip


def addresses() -> list[CustomerAddressDTO]:
    return [
        loaded(CustomerAddressDTO, ("customer",), id=f"cuaddr_{n}", customer_id="cus_01",
               city=TEXTS[n], address_1=TEXTS[-n], metadata=METADATA[n % 5],
               is_default_billing=n == 1, is_default_shipping=False, created_at=AT, updated_at=AT)
        for n in range(len(TEXTS))
    ]  # fmt: skip


@pytest.fixture(scope="module")
def app() -> Flask:
    flask_app = Flask(__name__)
    init_app(flask_app, Settings(), CollectorRegistry())
    return flask_app


def query(limit: int = 50, offset: int = 0) -> Any:
    return SimpleNamespace(limit=limit, offset=offset)


def reordered(shape: Shape) -> Shape:
    """``shape`` with its fields in reverse order (a page's keys follow the selection's)."""
    return Shape(fields=shape.fields[::-1], defaults=shape.defaults[::-1])


CASES: list[tuple[str, Any, Shape, str | None]] = [
    ("customers", customers, ADMIN_CUSTOMER, None),
    ("customers", customers, ADMIN_CUSTOMER, "email,id"),
    ("customers", customers, ADMIN_CUSTOMER, "-metadata,-email"),
    ("customer_groups", groups, GROUP, None),
    ("addresses", addresses, ADMIN_ADDRESS, None),
    ("addresses", addresses, STORE_ADDRESS, "+address_name"),
    ("customers", customers, reordered(ADMIN_CUSTOMER), None),
]


@pytest.mark.parametrize(("key", "items", "shape", "fields"), CASES)
def test_a_page_written_in_one_piece_is_the_bytes_of_its_dict(
    app: Flask, key: str, items: Any, shape: Shape, fields: str | None
) -> None:
    dtos: list[BaseModel] = items()
    selection = select(fields, shape)
    assert dump_many_json(dtos, selection) is not None  # these take the one-piece path
    for q in (query(), query(limit=5, offset=10), query(limit=0)):
        with app.app_context():
            written = page_response(key, dtos, 1234, q, selection)
            encoded = app.json.response(page(key, dump_many(dtos, selection), 1234, q))
        assert isinstance(written, Response) and isinstance(encoded, Response)
        assert written.mimetype == "application/json"
        assert written.get_data() == encoded.get_data()


def test_relations_and_fields_a_dto_lacks_take_the_dict_path(app: Flask) -> None:
    dtos = customers()
    for fields in ("+groups", "*addresses", "email,id,groups.name"):
        assert dump_many_json(dtos, select(fields, ADMIN_CUSTOMER)) is None
    partial = [*dtos[:2], CustomerDTO(id="cus_x", email="x@y.z")]  # a DTO without some fields
    assert dump_many_json(partial, select(None, ADMIN_CUSTOMER)) is None
    with app.app_context():
        answer = page_response("customers", partial, 3, query(), select(None, ADMIN_CUSTOMER))
    assert isinstance(answer, dict) and answer["customers"][2]["first_name"] is None
    with app.app_context():
        answer = page_response("customers", dtos, 12, query(), select("+groups", ADMIN_CUSTOMER))
    assert isinstance(answer, dict) and answer["customers"][0]["groups"] == []


def test_an_empty_page_is_written_too(app: Flask) -> None:
    with app.app_context():
        written = page_response("customers", [], 0, query(), select(None, ADMIN_CUSTOMER))
    assert isinstance(written, Response)
    assert json.loads(written.get_data()) == {
        "customers": [], "count": 0, "offset": 0, "limit": 50,
    }  # fmt: skip
