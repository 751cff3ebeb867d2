"""Deterministic, realistic fake customers for benchmarks (one implementation for all of them).

Faker fills small pools once (names, companies, streets, cities); a seeded ``random.Random``
combines them, which is fast enough for a million customers and identical on every run.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

from faker import Faker

__all__ = ["customer_batches", "fake_customers"]

_POOL = 400


class _Pools:
    def __init__(self, seed: int) -> None:
        fake = Faker(["en_US", "fr_FR", "de_DE"])
        fake.seed_instance(seed)
        self.first = [fake.first_name() for _ in range(_POOL)]
        self.last = [fake.last_name() for _ in range(_POOL)]
        self.company = [fake.company() for _ in range(_POOL)]
        self.street = [fake.street_address() for _ in range(_POOL)]
        self.city = [fake.city() for _ in range(_POOL)]
        self.postal = [fake.postcode() for _ in range(_POOL)]
        self.domain = [fake.free_email_domain() for _ in range(20)] + ["acme.io", "example.com"]


def _phone(rng: random.Random) -> str:
    area, mid, end = rng.randint(200, 999), rng.randint(200, 999), rng.randint(0, 9999)
    style = rng.randint(0, 2)
    if style == 0:
        return f"+1 ({area}) {mid}-{end:04d}"
    if style == 1:
        return f"{area}-{mid}-{end:04d}"
    pairs = " ".join(str(rng.randint(10, 99)) for _ in range(4))
    return f"+33 6 {pairs}"


def fake_customers(count: int, *, seed: int = 42, start: int = 0) -> Iterator[dict[str, Any]]:
    """Yield ``count`` customer inputs with 1-2 addresses each; emails are unique."""
    pools = _Pools(seed)
    rng = random.Random(seed * 1_000_003 + start)
    for n in range(start, start + count):
        first, last = rng.choice(pools.first), rng.choice(pools.last)
        company = rng.choice(pools.company) if rng.random() < 0.4 else None
        local = f"{first}.{last}".lower().replace(" ", "").replace("'", "")
        addresses = [
            {
                "first_name": first,
                "last_name": last,
                "address_1": rng.choice(pools.street),
                "city": rng.choice(pools.city),
                "postal_code": rng.choice(pools.postal),
                "country_code": rng.choice(["us", "fr", "de"]),
                "is_default_shipping": i == 0,
                "is_default_billing": i == 0,
            }
            for i in range(rng.randint(1, 2))
        ]
        yield {
            "email": f"{local}{n}@{rng.choice(pools.domain)}",
            "first_name": first,
            "last_name": last,
            "company_name": company,
            "phone": _phone(rng) if rng.random() < 0.8 else None,
            "metadata": {"source": rng.choice(["web", "store", "import"])},
            "addresses": addresses,
        }


def customer_batches(
    count: int, size: int = 1_000, *, seed: int = 42
) -> Iterator[list[dict[str, Any]]]:
    """``fake_customers`` in lists of ``size``."""
    batch: list[dict[str, Any]] = []
    for customer in fake_customers(count, seed=seed):
        batch.append(customer)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch
