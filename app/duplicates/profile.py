"""A customer as duplicate detection sees it: its normalised values, read once. Pure.

Built from a stored customer document (MongoDB's shape: ``_id``, embedded ``addresses``), so
the scan can read the collection with one projection and the single-customer lookup can load
its candidates by id, and both compare exactly the same values.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from app.duplicates.normalize import (
    fold_text,
    normalize_email,
    normalize_postcode,
    normalize_street,
    phone_key,
)

__all__ = ["PROJECTION", "DetectionOptions", "Profile", "profile_of"]

PROJECTION: dict[str, Any] = {
    "email": 1,
    "first_name": 1,
    "last_name": 1,
    "phone": 1,
    "company_name": 1,
    "has_account": 1,
    "addresses.first_name": 1,
    "addresses.last_name": 1,
    "addresses.company": 1,
    "addresses.phone": 1,
    "addresses.address_1": 1,
    "addresses.postal_code": 1,
    "addresses.deleted_at": 1,
}
"""The stored fields a profile reads (a scan of the whole base reads only these)."""

_MAX_NAME = 200  # characters of a stored name a candidate search looks up
_MAX_PLACES = 20  # addresses of one customer compared (a customer may hold 200)


@dataclass(frozen=True, slots=True)
class DetectionOptions:
    """How values are normalised (``CUSTOMERS_DUPLICATES_EMAIL_FOLDING`` and
    ``CUSTOMERS_DUPLICATES_PHONE_REGION``)."""

    email_folding: bool = False
    phone_region: str | None = "US"


@dataclass(frozen=True, slots=True)
class Profile:
    """The comparable values of one customer (``None`` / empty: not known)."""

    id: str
    has_account: bool
    email: str | None
    first: str | None
    last: str | None
    phones: frozenset[str]
    company: str | None
    places: frozenset[tuple[str, str]]
    postcodes: frozenset[str]
    name: str = ""
    """The name as stored ("first last", at most 200 characters): what a search looks up."""
    stored_email: str | None = None
    """The email trimmed and lower-cased but not folded (as stored): what a search looks up."""

    @property
    def email_parts(self) -> tuple[str, str] | None:
        """``(local part, domain)`` of the normalised email."""
        if self.email is None:
            return None
        local, _, domain = self.email.rpartition("@")
        return local, domain

    @property
    def has_name(self) -> bool:
        """Whether a first or a last name is known."""
        return self.first is not None or self.last is not None


def _live(addresses: Any) -> list[Mapping[str, Any]]:
    if not isinstance(addresses, list):
        return []
    live = [a for a in addresses if isinstance(a, Mapping) and a.get("deleted_at") is None]
    return live[:_MAX_PLACES]


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _first_known(*values: Any) -> str | None:
    for value in values:
        folded = fold_text(_text(value))
        if folded:
            return folded
    return None


def profile_of(doc: Mapping[str, Any], options: DetectionOptions) -> Profile:
    """The profile of a stored customer document.

    A name or company missing on the customer is taken from its first address that has one:
    a guest checkout often fills in only the address.
    """
    addresses = _live(doc.get("addresses"))
    names = [a for a in addresses if a.get("first_name") or a.get("last_name")]
    name_source: Mapping[str, Any] = (
        doc if doc.get("first_name") or doc.get("last_name") else (names[0] if names else {})
    )
    region = options.phone_region
    phones = {phone_key(_text(doc.get("phone")), region)}
    phones.update(phone_key(_text(a.get("phone")), region) for a in addresses)
    places = set()
    postcodes = set()
    for address in addresses:
        postcode = normalize_postcode(_text(address.get("postal_code")))
        if postcode is None:
            continue
        postcodes.add(postcode)
        street = normalize_street(_text(address.get("address_1")))
        if street is not None:
            places.add((postcode, street))
    return Profile(
        id=str(doc["_id"]),
        has_account=bool(doc.get("has_account")),
        email=normalize_email(_text(doc.get("email")), folding=options.email_folding),
        stored_email=normalize_email(_text(doc.get("email"))),
        first=fold_text(_text(name_source.get("first_name"))),
        last=fold_text(_text(name_source.get("last_name"))),
        phones=frozenset(p for p in phones if p),
        company=_first_known(doc.get("company_name"), *(a.get("company") for a in addresses)),
        places=frozenset(places),
        postcodes=frozenset(postcodes),
        name=" ".join(
            text.strip()
            for text in (_text(name_source.get("first_name")), _text(name_source.get("last_name")))
            if text and text.strip()
        )[:_MAX_NAME],
    )
