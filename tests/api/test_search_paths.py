"""The two ways a customer list is answered: the search index (the package's ``app``, as
``customers serve`` runs it) and MongoDB (``mongodb_app``, the fallback path)."""

from __future__ import annotations

import time
from typing import Any

import pytest
from flask import Flask

from app.webapp import runtime_of
from tests.api.conftest import BOTH_PATHS


def test_the_app_answers_lists_and_lookups_from_the_search_index(
    app: Flask, client: Any, admin: dict[str, str], make_customer: Any, monkeypatch: Any
) -> None:
    search = runtime_of(app).search
    assert search is not None and search.indexer is not None and search.indexer.active
    asked: list[str] = []
    for method in ("list_documents", "search"):
        original = getattr(search.backend, method)

        async def counted(*args: Any, _original: Any = original, _name: str = method) -> Any:
            asked.append(_name)
            return await _original(*args)

        monkeypatch.setattr(search.backend, method, counted)
    ann = make_customer(email="ann@doe.io")
    body = client.get("/admin/customers?q=doe", headers=admin).json
    assert [c["id"] for c in body["customers"]] == [ann["id"]]  # read-your-writes
    assert client.get("/admin/customers/search?q=doe", headers=admin).json["count"] == 1
    # a list read right after a write may run twice: once beside the freshness probe, and
    # again once the indexer applied the write the probe showed (indexers.freshness)
    assert asked[0] == "list_documents" and asked[-1] == "search"
    assert set(asked) == {"list_documents", "search"} and len(asked) <= 3
    ready = client.get("/health/ready")
    assert ready.status_code == 200, ready.json
    assert ready.json["checks"]["indexer"]["where"] == "this process"


def test_the_fallback_app_has_no_search_index(mongodb_app: Flask) -> None:
    assert runtime_of(mongodb_app).search is None
    assert runtime_of(mongodb_app).service.index is None
    ready = mongodb_app.test_client().get("/health/ready")
    assert ready.status_code == 503
    assert ready.json["checks"]["index"] == {"ok": False, "error": "not attached in this process"}


@BOTH_PATHS
def test_ranked_search_route(app: Flask, client: Any, admin: dict[str, str]) -> None:
    """The index ranks and highlights; MongoDB answers the same words, unranked."""
    for email, first_name in (("ann@doe.io", "Ann"), ("bob@x.io", "Bob"), ("jo@doe.io", "Doe")):
        body = {"email": email, "first_name": first_name}
        assert client.post("/admin/customers", json=body, headers=admin).status_code == 200
    started = time.perf_counter()
    response = client.get("/admin/customers/search?q=doe&limit=5&fields=email", headers=admin)
    elapsed_ms = (time.perf_counter() - started) * 1000
    assert response.status_code == 200
    body = response.get_json()
    assert body["count"] == 2
    assert {h["customer"]["email"] for h in body["hits"]} == {"ann@doe.io", "jo@doe.io"}
    assert all(set(h["customer"]) == {"id", "email"} for h in body["hits"])
    assert isinstance(body["took_ms"], float) and 0 < body["took_ms"] <= elapsed_ms
    scores = [hit["score"] for hit in body["hits"]]
    if runtime_of(app).search is not None:
        assert all(isinstance(score, float) and score > 0 for score in scores)
        assert scores == sorted(scores, reverse=True)
        for hit in body["hits"]:
            [(start, end)] = hit["highlights"]["email"]
            assert hit["customer"]["email"][start:end] == "doe"
    else:
        assert scores == [None, None] and all(hit["highlights"] == {} for hit in body["hits"])
    assert client.get("/admin/customers/search", headers=admin).status_code == 400
    assert client.get("/admin/customers/search?q=a&limit=1001", headers=admin).status_code == 400
    assert client.get("/admin/customers/search?q=a").status_code == 401


@pytest.mark.parametrize("query", ["q=do", "email[$in][0]=ann@doe.io", "order=email&limit=1"])
@BOTH_PATHS
def test_both_paths_answer_alike(
    app: Flask, client: Any, admin: dict[str, str], make_customer: Any, query: str
) -> None:
    make_customer(email="ann@doe.io", first_name="Ann", last_name="Doe")
    make_customer(email="bob@x.io", first_name="Bob")
    body = client.get(f"/admin/customers?{query}&fields=email", headers=admin).json
    assert [c["email"] for c in body["customers"]] == ["ann@doe.io"]
    assert body["count"] == (2 if "order" in query else 1)


def test_highlights_are_ranges_of_the_stored_value(client: Any, admin: dict[str, str]) -> None:
    """A value holding markup comes back as stored, and only ranges say what matched."""
    body = {"first_name": "a<em>b</em>", "last_name": "Quuxley", "email": "h@quuxley.example"}
    assert client.post("/admin/customers", json=body, headers=admin).status_code == 200
    hits = client.get("/admin/customers/search?q=quuxley", headers=admin).json["hits"]
    assert hits[0]["customer"]["first_name"] == "a<em>b</em>"
    assert hits[0]["highlights"] == {"last_name": [[0, 7]], "email": [[2, 9]]}
    hits = client.get("/admin/customers/search?q=quuxley%20em", headers=admin).json["hits"]
    assert hits[0]["highlights"]["first_name"] == [[2, 4], [8, 10]]
