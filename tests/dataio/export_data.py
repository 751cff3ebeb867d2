"""A known data set for the export tests, stored as the service stores it (literal documents,
so the tests do not build their input with the code they test).

- groups: "VIP" (metadata), "Newsletter, weekly" (a comma), "Empty" (no members), "Old"
  (soft-deleted, still linked to Zoë);
- Zoë (``cus_01``): unicode, quotes, a comma and newlines in metadata; two live addresses (the
  second the default shipping one) and a deleted one; member of VIP, Newsletter and Old;
- Bob (``cus_02``): an account, no addresses, no groups, a quoted company name;
- Del (``cus_03``): soft-deleted with the address its delete took along;
- Sho (``cus_04``): imported from Shopify (``metadata["shopify"]``, provenance), one address.
"""

from __future__ import annotations

from datetime import UTC, datetime

from app.entities import ADDRESS, CUSTOMER, GROUP, Entity
from app.service.documents import q_terms

T0 = datetime(2026, 11, 30, 4, 55, 0, 123000, tzinfo=UTC)
T1 = datetime(2026, 11, 30, 5, 0, 1, 5000, tzinfo=UTC)


def _group(gid: str, name: str, metadata=None, deleted_at=None) -> dict:
    return {
        "_id": gid, "name": name, "metadata": metadata, "created_by": "user_1",
        "created_at": T0, "updated_at": T0, "deleted_at": deleted_at, "version": 1,
    }  # fmt: skip


def _address(aid: str, cid: str, **fields) -> dict:
    doc = {
        "id": aid, "address_name": None, "is_default_shipping": False,
        "is_default_billing": False, "customer_id": cid, "company": None, "first_name": None,
        "last_name": None, "address_1": None, "address_2": None, "city": None,
        "country_code": None, "province": None, "postal_code": None, "phone": None,
        "metadata": None, "created_at": T0, "updated_at": T0, "deleted_at": None,
    }  # fmt: skip
    doc.update(fields)
    return doc


def _membership(mid: str, gid: str, deleted_at=None) -> dict:
    return {
        "id": mid, "customer_group_id": gid, "metadata": None, "created_by": None,
        "created_at": T0, "updated_at": T0, "deleted_at": deleted_at,
    }  # fmt: skip


def _customer(cid: str, **fields) -> dict:
    doc = {
        "_id": cid, "email": None, "company_name": None, "first_name": None, "last_name": None,
        "phone": None, "phone_digits": None, "has_account": False, "metadata": None,
        "created_by": None, "addresses": [], "groups": [], "created_at": T0, "updated_at": T0,
        "deleted_at": None, "merged_into": None, "provenance": None, "version": 1,
    }  # fmt: skip
    doc.update(fields)
    return doc


GROUPS = [
    _group("cusgroup_a", "VIP", {"tier": "gold"}),
    _group("cusgroup_b", "Newsletter, weekly"),
    _group("cusgroup_c", "Empty"),
    _group("cusgroup_d", "Old", deleted_at=T1),
]

CUSTOMERS = [
    _customer(
        "cus_01", email="zoe@example.com", first_name="Zoë", last_name="O'Brien",
        phone="+33 6 12 34 56 78", phone_digits="33612345678",
        metadata={"note": 'says "hi",\nthen left', "emoji": "🎉"},
        addresses=[
            _address("cuaddr_1a", "cus_01", address_name="Home", first_name="Zoë",
                     address_1="1, Rue de la Paix", city="Paris", country_code="fr",
                     postal_code="75002", metadata={"floor": 3}),
            _address("cuaddr_1b", "cus_01", address_name="Office", is_default_shipping=True,
                     is_default_billing=True, company="Acme, Inc.", address_1="2 Main St",
                     address_2="Line 2\nLine 3", city="Lyon", country_code="fr",
                     province="ARA", postal_code="69001", phone="0400"),
            _address("cuaddr_1c", "cus_01", address_1="Gone", deleted_at=T1),
        ],
        groups=[
            _membership("cusgc_1a", "cusgroup_a"),
            _membership("cusgc_1b", "cusgroup_b"),
            _membership("cusgc_1d", "cusgroup_d"),
        ],
    ),
    _customer("cus_02", email="bob@example.com", company_name='Quote "Co"', first_name="Bob",
              has_account=True, created_by="user_1"),
    _customer(
        "cus_03", email="del@example.com", first_name="Del", deleted_at=T1,
        addresses=[_address("cuaddr_3a", "cus_03", city="Berlin", deleted_at=T1)],
        groups=[_membership("cusgc_3a", "cusgroup_a")],
    ),
    _customer(
        "cus_04", email="sho@example.com", first_name="Sho", last_name="Pify", phone="555",
        phone_digits="555",
        metadata={"shopify": {"customer_id": "7001", "note": "Likes tea",
                              "accepts_email_marketing": True, "tax_exempt": "yes"}},
        addresses=[_address("cuaddr_4a", "cus_04", is_default_shipping=True, address_1="9 Elm",
                            city="Austin", province="TX", country_code="us", postal_code="78701")],
        groups=[_membership("cusgc_4b", "cusgroup_b")],
        provenance={"imported": {"format": "shopify", "source": "c.csv", "line": 2, "at": T1}},
    ),
]  # fmt: skip


def with_q_terms(entity: Entity, doc: dict) -> dict:
    """``doc`` with the ``q`` terms the service stores beside its fields (MongoDB's ``q``
    compares them)."""
    return {**doc, entity.q_terms: q_terms(entity, doc)}


def stored_groups() -> list[dict]:
    """The groups as the service stores them."""
    return [with_q_terms(GROUP, g) for g in GROUPS]


def stored_customers() -> list[dict]:
    """The customers as the service stores them (their addresses with terms of their own)."""
    return [
        with_q_terms(
            CUSTOMER, {**c, "addresses": [with_q_terms(ADDRESS, a) for a in c["addresses"]]}
        )
        for c in CUSTOMERS
    ]


def store_data_set(service) -> None:
    """Insert the data set into the service's database."""
    service.run(service.aio.store.groups.insert_many(stored_groups()))
    service.run(service.aio.store.customers.insert_many(stored_customers()))
