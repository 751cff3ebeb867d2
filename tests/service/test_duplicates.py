"""Duplicate detection through the service on a real MongoDB: the scan and the lookup agree."""

from __future__ import annotations

import random
from typing import Any

import pytest

from app.errors import InvalidData, NotFound

FIRST = ["Anna", "Jörg", "María", "Pierre", "Olga", "Tomasz", "Chen", "Fatima", "Liam", "Zoë"]
LAST = ["Müller", "García", "Dubois", "Nowak", "Smith", "Rossi", "Ivanova", "Okafor", "Lee"]


def _base(rng: random.Random) -> list[dict[str, Any]]:
    """About 70 customers: singles, each fifth with a varied second record, a few with a
    second record at their address, an account, a sibling."""
    people: list[dict[str, Any]] = []
    for n in range(50):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        home = {"address_1": f"Hauptstraße {n + 1}", "postal_code": f"{10_000 + n}"}
        person: dict[str, Any] = {
            "email": f"p{n}@example.com",
            "first_name": first,
            "last_name": last,
            "phone": f"+49 30 {1_000_000 + n * 7919}",
            "addresses": [home],
        }
        people.append(person)
        if n % 5 == 0:
            people.append(
                {
                    "email": f"other{n}@example.org",
                    "first_name": last,  # swapped
                    "last_name": first.upper(),
                    "phone": f"030 {1_000_000 + n * 7919}",  # national form
                }
            )
        if n % 10 == 3:  # linked by name and address only
            people.append(
                {
                    "email": f"alt{n}@example.net",
                    "first_name": first,
                    "last_name": last,
                    "addresses": [dict(person["addresses"][0])],
                }
            )
    people.append({**people[0], "email": "P0@example.com", "has_account": True})
    people.append({**people[1], "email": "sibling@example.com", "first_name": "Quentin"})
    return people


@pytest.fixture
def base(service) -> list[str]:
    return [c.id for c in service.create_customers(_base(random.Random(3)))]


def test_the_scan_and_the_lookup_give_the_same_pairs(service, base) -> None:
    reports: list[tuple[int, int]] = []

    async def progress(done: int, total: int) -> None:
        reports.append((done, total))

    clusters = service.scan_duplicates(progress=progress)
    partners: dict[str, set[str]] = {}
    for cluster in clusters:
        for member in cluster.customer_ids:
            partners[member] = set(cluster.customer_ids) - {member}
    assert len(clusters) == 15  # every fifth person (with the first's account), 5 at home
    assert reports[-1] == (2 * len(base), 2 * len(base))
    for customer_id in base:
        found = service.find_duplicates(customer_id)
        assert {d.customer.id for d in found} == partners.get(customer_id, set()), customer_id
    first = service.find_duplicates(base[0])
    assert [d.reasons[0] for d in first] == ["same email", "same phone"]


def test_clusters_are_sorted_and_scored_by_their_weakest_link(service, base) -> None:
    clusters = service.scan_duplicates()
    scores = [c.score for c in clusters]
    assert scores == sorted(scores, reverse=True)
    (three,) = [c for c in clusters if len(c.customer_ids) == 3]
    pairs = [d.score for member in three.customer_ids for d in service.find_duplicates(member)]
    assert three.score == min(pairs)


def test_a_stopped_scan_stops(service, base) -> None:
    class Stop(Exception):
        pass

    async def progress(done: int, total: int) -> None:
        if done > total // 2:
            raise Stop

    with pytest.raises(Stop):
        service.scan_duplicates(progress=progress)


def test_bad_arguments_and_unknown_customers(service, base) -> None:
    with pytest.raises(NotFound, match="Customer with id: cus_nope not found"):
        service.find_duplicates("cus_nope")
    for bad in (-0.1, 1.5, float("nan"), "0.5", True):
        with pytest.raises(InvalidData, match="min_score"):
            service.find_duplicates(base[0], min_score=bad)
        with pytest.raises(InvalidData, match="min_score"):
            service.scan_duplicates(min_score=bad)
    with pytest.raises(InvalidData, match="limit"):
        service.find_duplicates(base[0], limit=0)
    assert service.find_duplicates(base[0], min_score=0, limit=3)[2].score < 0.6


def test_email_folding_is_an_option(service) -> None:
    from app.duplicates import DetectionOptions

    guest, account = service.create_customers(
        [
            {"email": "John.Doe+shop@gmail.com"},
            {"email": "johndoe@gmail.com", "has_account": True},
        ]
    )
    exact = service.create_customers({"email": "john.doe+shop@gmail.com", "has_account": True})
    assert {d.customer.id for d in service.find_duplicates(guest.id)} == {exact.id}
    service.aio.configure_duplicates(DetectionOptions(email_folding=True), min_score=0.6)
    try:
        found = service.find_duplicates(guest.id)
        assert {d.customer.id for d in found} == {exact.id, account.id}
        (cluster,) = service.scan_duplicates()
        assert set(cluster.customer_ids) == {guest.id, account.id, exact.id}
    finally:
        service.aio.configure_duplicates(DetectionOptions(), min_score=0.6)
