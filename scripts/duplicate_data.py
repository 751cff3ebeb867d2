"""Customers with planted duplicates and hard negatives, and the truth about them (for
``bench_duplicates.py``). Deterministic: one seed, one base.

Every record belongs to a *person*; two records of one person are a true duplicate pair, all
other pairs are not. The base is made of:

* single persons with one record each (international names from six Faker locales, an email
  built from the name in one of several styles, a phone in its country's national or
  international format, an address, a company for some);
* planted duplicates (``--dup-share`` of the records): a second (sometimes third) record of a
  person with one to three variations: a guest + account pair of one email, names in another
  case, accents dropped, a transposed, dropped or doubled letter, first and last names swapped,
  the phone in the other format, a typo in the email's local part, a work email or no email,
  the phone, the address or the company missing;
* hard negatives: namesakes (same first and last name, nothing else in common), families at
  one address (one last name, different first names, often one home phone), colleagues sharing
  a company's phone and name.
"""

from __future__ import annotations

import random
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from faker import Faker

__all__ = ["Base", "make_base"]

_LOCALES = {
    "US": "en_US",
    "DE": "de_DE",
    "FR": "fr_FR",
    "ES": "es_ES",
    "IT": "it_IT",
    "PL": "pl_PL",
}
_CODES = {"US": "1", "DE": "49", "FR": "33", "ES": "34", "IT": "39", "PL": "48"}
_POOL = 1500
Record = dict[str, Any]


@dataclass
class Base:
    """The records to insert, each with its person and what kind of record it is."""

    records: list[Record] = field(default_factory=list)
    persons: list[int] = field(default_factory=list)
    record_kinds: list[str] = field(default_factory=list)
    _stored: set[str] = field(default_factory=set)

    def add(self, record: Record, person: int, kind: str) -> None:
        email = (record.get("email") or "").lower()
        if email:  # one email per has_account among live customers, as the service enforces
            key = f"{email}|{bool(record.get('has_account'))}"
            if key in self._stored:
                record = {**record, "email": None}
            self._stored.add(key)
        self.records.append(record)
        self.persons.append(person)
        self.record_kinds.append(kind)

    def true_pairs(self) -> set[tuple[int, int]]:
        """Index pairs ``(i, j)``, ``i < j``, of records of one person."""
        by_person: dict[int, list[int]] = {}
        for index, person in enumerate(self.persons):
            by_person.setdefault(person, []).append(index)
        return {
            (a, b)
            for members in by_person.values()
            for n, a in enumerate(members)
            for b in members[n + 1 :]
        }


class _Pools:
    def __init__(self, seed: int) -> None:
        self.first: dict[str, list[str]] = {}
        self.last: dict[str, list[str]] = {}
        self.street: dict[str, list[str]] = {}
        self.postcode: dict[str, list[str]] = {}
        self.company: list[str] = []
        for country, locale in _LOCALES.items():
            fake = Faker(locale)
            fake.seed_instance(seed)
            size = _POOL // 3 if country != "US" else _POOL
            self.first[country] = sorted({fake.first_name() for _ in range(size)})
            self.last[country] = sorted({fake.last_name() for _ in range(size)})
            self.street[country] = sorted({fake.street_name() for _ in range(size)})
            self.postcode[country] = sorted({fake.postcode() for _ in range(size)})
            self.company += [fake.company() for _ in range(100)]
        self.domains = ["gmail.com", "yahoo.com", "outlook.com", "gmx.de", "orange.fr", "web.de"]


def _ascii(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.replace("ł", "l").replace("Ł", "L"))
    return "".join(c for c in decomposed if not unicodedata.combining(c))


class _Maker:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.pools = _Pools(seed)
        self.emails: set[str] = set()
        self.serial = 0

    def country(self) -> str:
        return self.rng.choices(list(_LOCALES), weights=[50, 12, 12, 10, 8, 8])[0]

    def unique_email(self, first: str, last: str, domain: str | None = None) -> str:
        f, la = (_ascii(p).lower().replace(" ", "").replace("'", "") for p in (first, last))
        style = self.rng.randint(0, 4)
        local = [f"{f}.{la}", f"{f[0]}{la}", f"{f}{la}", f"{f}_{la}", f"{la}.{f}"][style]
        domain = domain or self.rng.choice(self.pools.domains)
        email = f"{local}@{domain}"
        while email.lower() in self.emails:
            self.serial += 1
            email = f"{local}{self.serial % 1000}@{domain}"
        self.emails.add(email.lower())
        return email

    def phone(self, country: str) -> tuple[str, str]:
        """``(national, international)`` forms of one new number."""
        if country == "US":
            area, mid, end = (
                self.rng.randint(201, 989),
                self.rng.randint(200, 999),
                self.rng.randint(0, 9999),
            )
            return f"({area}) {mid}-{end:04d}", f"+1 {area} {mid} {end:04d}"
        prefix = self.rng.randint(20, 899)
        rest = f"{self.rng.randint(0, 9_999_999):07d}"
        return f"0{prefix} {rest}", f"+{_CODES[country]} {prefix} {rest}"

    def address(self, country: str, first: str, last: str) -> Record:
        street = self.rng.choice(self.pools.street[country])
        return {
            "first_name": first,
            "last_name": last,
            "address_1": f"{street} {self.rng.randint(1, 299)}",
            "postal_code": self.rng.choice(self.pools.postcode[country]),
            "country_code": country.lower(),
            "is_default_shipping": True,
            "is_default_billing": True,
        }

    def person(self, country: str | None = None, last: str | None = None) -> Record:
        country = country or self.country()
        first = self.rng.choice(self.pools.first[country])
        last = last or self.rng.choice(self.pools.last[country])
        national, international = self.phone(country)
        return {
            "email": self.unique_email(first, last),
            "first_name": first,
            "last_name": last,
            "phone": self.rng.choice([national, international])
            if self.rng.random() < 0.85
            else None,
            "company_name": self.rng.choice(self.pools.company)
            if self.rng.random() < 0.25
            else None,
            "addresses": [self.address(country, first, last)] if self.rng.random() < 0.9 else [],
            "_country": country,
            "_phones": (national, international),
        }


# -- variations of a duplicate ------------------------------------------------------------------
def _typo(rng: random.Random, word: str) -> str:
    if len(word) < 4:
        return word
    i = rng.randint(1, len(word) - 2)
    kind = rng.randint(0, 2)
    if kind == 0:  # transposed letters
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    if kind == 1:  # dropped letter
        return word[:i] + word[i + 1 :]
    return word[:i] + word[i] + word[i:]  # doubled letter


def _names(rng: random.Random, rec: Record, change: Callable[[str], str]) -> None:
    key = rng.choice(["first_name", "last_name"])
    if rec.get(key):
        rec[key] = change(rec[key])


def _vary(maker: _Maker, rec: Record, kinds: list[str]) -> None:
    rng = maker.rng
    for kind in kinds:
        if kind == "case":
            rec["first_name"], rec["last_name"] = (
                rec["first_name"].upper(),
                rec["last_name"].lower(),
            )
        elif kind == "accents":
            rec["first_name"], rec["last_name"] = (
                _ascii(rec["first_name"]),
                _ascii(rec["last_name"]),
            )
        elif kind == "typo":
            _names(rng, rec, lambda w: _typo(rng, w))
        elif kind == "swap":
            rec["first_name"], rec["last_name"] = rec["last_name"], rec["first_name"]
        elif kind == "phone_format" and rec.get("phone"):
            national, international = rec["_phones"]
            rec["phone"] = international if rec["phone"] == national else national
        elif kind == "email_typo" and rec.get("email"):
            local, _, domain = rec["email"].partition("@")
            varied = f"{_typo(rng, local)}@{domain}"
            if varied.lower() not in maker.emails:
                maker.emails.add(varied.lower())
                rec["email"] = varied
        elif kind == "work_email":
            rec["email"] = maker.unique_email(
                rec["first_name"], rec["last_name"], "corp-mail.example"
            )
        elif kind == "no_email":
            rec["email"] = None
        elif kind in ("no_phone", "no_address", "no_company"):
            rec[
                {"no_phone": "phone", "no_address": "addresses", "no_company": "company_name"}[kind]
            ] = [] if kind == "no_address" else None


_NAME_KINDS = ["case", "accents", "typo", "swap", "typo", "accents"]
_CONTACT_KINDS = [
    "phone_format",
    "email_typo",
    "work_email",
    "no_email",
    "no_phone",
    "no_address",
    "no_company",
]


def _duplicate(maker: _Maker, original: Record) -> tuple[Record, Record, str]:
    """(the original, possibly made an account; the duplicate; what varies)."""
    rng = maker.rng
    dup = {**original, "addresses": [dict(a) for a in original["addresses"]]}
    kinds = [rng.choice(_NAME_KINDS)] if rng.random() < 0.8 else []
    guest_account = rng.random() < 0.35 and original.get("email")
    if guest_account:
        original = {**original, "has_account": True}
        kinds.append("guest_account")
    else:  # the duplicate's email is varied from the original's
        kinds.append(rng.choice(["email_typo", "work_email", "no_email"]))
    extra = [
        k
        for k in _CONTACT_KINDS
        if not guest_account or k not in ("email_typo", "work_email", "no_email")
    ]
    kinds += rng.sample(extra, rng.randint(0, 1))
    _vary(maker, dup, kinds)
    if not guest_account and dup.get("email") == original.get("email"):
        dup["email"] = None  # one email for two guests cannot be stored
    if not (dup.get("email") or dup.get("phone") or dup["addresses"]) and original["addresses"]:
        dup["addresses"] = [dict(a) for a in original["addresses"]]  # keep one link
    return original, dup, "+".join(sorted(set(kinds)))


def make_base(count: int, *, dup_share: float = 0.04, seed: int = 7) -> Base:
    """About ``count`` records: ``dup_share`` planted duplicates, hard negatives, singles."""
    maker = _Maker(seed)
    rng = maker.rng
    base = Base()
    person = 0

    def clean(rec: Record) -> Record:
        return {k: v for k, v in rec.items() if not k.startswith("_")}

    while len(base.records) < count:
        roll = rng.random()
        if roll < dup_share / 2:  # a person with a duplicate record (sometimes two)
            original = maker.person()
            copies = [_duplicate(maker, original) for _ in range(1 if rng.random() < 0.9 else 2)]
            base.add(clean(copies[0][0]), person, "planted original")
            for _, dup, kinds in copies:
                base.add(clean(dup), person, f"planted duplicate ({kinds})")
        elif roll < dup_share / 2 + 0.01:  # namesakes
            first = maker.person()
            other = maker.person(first["_country"], last=first["last_name"])
            other["first_name"] = first["first_name"]
            other["email"] = maker.unique_email(other["first_name"], other["last_name"])
            base.add(clean(first), person, "namesake")
            person += 1
            base.add(clean(other), person, "namesake")
        elif roll < dup_share / 2 + 0.02:  # a family at one address
            head = maker.person()
            phone = head["phone"] if rng.random() < 0.6 else None
            base.add(clean(head), person, "family")
            used = {head["first_name"]}
            for _ in range(rng.randint(1, 2)):
                member = maker.person(head["_country"], last=head["last_name"])
                if member["first_name"] in used:
                    continue
                used.add(member["first_name"])
                member["addresses"] = [
                    {**a, "first_name": member["first_name"]} for a in head["addresses"]
                ]
                member["phone"] = phone or member["phone"]
                person += 1
                base.add(clean(member), person, "family")
        elif roll < dup_share / 2 + 0.025:  # colleagues sharing the company's phone
            company = rng.choice(maker.pools.company)
            national, _ = maker.phone("US")
            for _ in range(rng.randint(2, 4)):
                colleague = maker.person("US")
                colleague["company_name"], colleague["phone"] = company, national
                base.add(clean(colleague), person, "colleague")
                person += 1
        else:
            base.add(clean(maker.person()), person, "single")
        person += 1
    return base
