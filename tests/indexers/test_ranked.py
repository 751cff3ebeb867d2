"""Relevance cases for the ranked admin lookup (typo, reversed name, phone, email, tiers)."""

from __future__ import annotations

from indexers.backends.base import SearchBackend
from indexers.query import ListQuery, RankedQuery
from indexers.ranking import edit_distance, plan_ranked
from tests.indexers.conftest import Engine, customer, upserts

PEOPLE = [
    customer(
        1,
        first_name="John",
        last_name="Doe",
        email="john.doe@example.com",
        phone="+1 (555) 123-4567",
    ),
    customer(
        2,
        first_name="Jane",
        last_name="Smith",
        email="jane@acme.io",
        company_name="Acme Corporation",
        phone="555-987-6543",
    ),
    customer(3, first_name="Doe", last_name="Johnson", email="djohnson@mail.net"),
    customer(4, first_name="Jonathan", last_name="Doerr", email="jd@example.com"),
    customer(
        5,
        first_name="Maria",
        last_name="Gonzalez",
        email="maria@example.com",
        phone="+44 20 7946 0958",
    ),
    customer(7, first_name="Zoë", last_name="Quartermaine", email="zq@letters.org"),
    customer(
        8,
        first_name="José",
        last_name="Müller",
        email="josé.müller@letters.org",
        company_name="Société Générale",
    ),
    customer(9, first_name="Jose", last_name="Muller", email="jm@plain.net"),
    customer(
        6,
        first_name="Alexander",
        last_name="Hamilton",
        email="alex@treasury.gov",
        deleted_at=customer(0)["created_at"],
    ),
]


def run(engine: Engine, checks) -> None:  # type: ignore[no-untyped-def]
    async def body(b: SearchBackend) -> None:
        await b.apply(upserts(PEOPLE))
        await b.refresh()

        async def top(q: str, **kw: object) -> list[str]:
            hits, _ = await b.search(RankedQuery(q=q, limit=10, **kw))  # type: ignore[arg-type]
            return [h.id for h in hits]

        await checks(b, top)

    engine.run(body)


def test_typo_tolerance(engine: Engine) -> None:
    async def checks(b, top) -> None:  # type: ignore[no-untyped-def]
        assert (await top("Jhon Doe"))[0] == "cus_000001"  # transposition = 1 edit
        assert (await top("Gonzales"))[0] == "cus_000005"  # 8 letters: 2 edits allowed
        assert (await top("Gnozalez"))[0] == "cus_000005"
        assert (await top("smiht"))[0] == "cus_000002"
        assert await top("Jxx") == []  # 3 letters: no edits

    run(engine, checks)


def test_full_name_in_either_order(engine: Engine) -> None:
    async def checks(b, top) -> None:  # type: ignore[no-untyped-def]
        forward, _ = await b.search(RankedQuery(q="john doe", limit=10))
        reverse, _ = await b.search(RankedQuery(q="doe john", limit=10))
        assert forward[0].id == reverse[0].id == "cus_000001"
        # the reversed name is the same full-name match, not a weaker one
        assert reverse[0].score == forward[0].score
        # "Doe Johnson" (first name Doe, "john" a prefix of Johnson) is found, below it
        assert [h.id for h in reverse[:2]] == ["cus_000001", "cus_000003"]
        assert "cus_000003" in await top("doe johnson")

    run(engine, checks)


def test_phone_in_any_formatting_or_last_digits(engine: Engine) -> None:
    async def checks(b, top) -> None:  # type: ignore[no-untyped-def]
        assert (await top("4567"))[0] == "cus_000001"
        assert (await top("555.123.4567"))[0] == "cus_000001"
        assert (await top("15551234567"))[0] == "cus_000001"
        assert (await top("6543"))[0] == "cus_000002"
        assert (await top("0958"))[0] == "cus_000005"

    run(engine, checks)


def test_email_local_part_or_domain(engine: Engine) -> None:
    async def checks(b, top) -> None:  # type: ignore[no-untyped-def]
        assert set(await top("example.com")) == {"cus_000001", "cus_000004", "cus_000005"}
        assert (await top("john.doe"))[0] == "cus_000001"
        assert (await top("jane@acme.io"))[0] == "cus_000002"

    run(engine, checks)


def test_accents_do_not_matter(engine: Engine) -> None:
    async def checks(b, top) -> None:  # type: ignore[no-untyped-def]
        assert await top("zoe") == ["cus_000007"]
        hits, _ = await b.search(RankedQuery(q="zoe"))
        assert hits[0].highlights["first_name"] == [(0, 3)]
        # both ways: plain query finds accented names, accented query finds plain ones
        assert set((await top("jose muller"))[:2]) == {"cus_000008", "cus_000009"}
        assert set((await top("José Müller"))[:2]) == {"cus_000008", "cus_000009"}
        assert await top("societe generale") == ["cus_000008"]
        assert "cus_000008" in await top("jose.muller")  # email local part (words: names too)
        hits, _ = await b.search(RankedQuery(q="muller"))
        assert {h.id for h in hits} == {"cus_000008", "cus_000009"}
        assert hits[0].score == hits[1].score  # neither spelling is preferred

    run(engine, checks)


def test_tiers_exact_email_then_full_name_then_prefix_then_fuzzy(engine: Engine) -> None:
    async def checks(b, top) -> None:  # type: ignore[no-untyped-def]
        hits, _count = await b.search(RankedQuery(q="djohnson@mail.net"))
        assert hits[0].id == "cus_000003" and hits[0].score >= 1000
        assert hits[0].highlights["email"] == [(0, len("djohnson@mail.net"))]
        # as-you-type: the last word is a prefix
        assert "cus_000004" in await top("jonat")
        assert (await top("Maria Gonz"))[0] == "cus_000005"
        hits, _ = await b.search(RankedQuery(q="john"))
        scores = {h.id: h.score for h in hits}
        assert scores["cus_000001"] > scores["cus_000003"]  # exact word > prefix "johnson"
        assert scores["cus_000003"] > scores.get("cus_000004", 0)

    run(engine, checks)


def test_filters_and_soft_deleted(engine: Engine) -> None:
    async def checks(b, top) -> None:  # type: ignore[no-untyped-def]
        assert await top("hamilton") == []
        assert await top("hamilton", filters=ListQuery(with_deleted=True)) == ["cus_000006"]
        hits, count = await b.search(RankedQuery(q="example", limit=1))
        assert len(hits) == 1 and count == 3

    run(engine, checks)


def test_plan_and_edit_distance() -> None:
    plan = plan_ranked("John  Do")
    assert plan is not None and plan.words == ("john", "do") and plan.prefix_last
    assert plan_ranked("john ").prefix_last is False  # type: ignore[union-attr]
    assert plan_ranked("   ") is None
    assert plan_ranked("(555) 123-4567").phone_digits == "5551234567"  # type: ignore[union-attr]
    assert edit_distance("john", "jhon") == 1
    assert edit_distance("gonzalez", "gnozales") == 2
