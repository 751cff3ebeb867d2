"""``q`` with international text, on both paths: a word of a field is a run of Unicode letters
and digits, and text is compared in NFC (see ``app.textsearch``)."""

from __future__ import annotations

import unicodedata
from typing import Any

import pytest

from tests.api.conftest import BOTH_PATHS


def _nfd(text: str) -> str:
    return unicodedata.normalize("NFD", text)


def _found(client: Any, admin: dict[str, str], q: str) -> set[str]:
    response = client.get("/admin/customers", query_string={"q": q, "fields": "id"}, headers=admin)
    assert response.status_code == 200, response.json
    return {c["id"] for c in response.json["customers"]}


@BOTH_PATHS
@pytest.mark.parametrize(
    ("name", "inside", "start"),
    [("Adèle", "le", "Ad"), ("Amélie", "Li", "am"), ("Bégot", "Go", "bé")],
)
def test_an_accented_letter_does_not_start_a_word(
    client: Any, admin: dict[str, str], make_customer: Any, name: str, inside: str, start: str
) -> None:
    customer = make_customer(first_name=name, last_name="Martin")
    assert _found(client, admin, inside) == set()  # 2 characters inside the word
    assert _found(client, admin, start) == {customer["id"]}
    assert _found(client, admin, name.upper()) == {customer["id"]}


@BOTH_PATHS
def test_decomposed_and_composed_text_are_equal(
    client: Any, admin: dict[str, str], make_customer: Any
) -> None:
    decomposed = make_customer(first_name=_nfd("Zoë"), last_name=_nfd("Ørsted-Émile"))
    composed = make_customer(first_name="Zoë", last_name="Ørsted-Émile")
    both = {decomposed["id"], composed["id"]}
    assert decomposed["first_name"] == _nfd("Zoë")  # stored as given
    for q in ("zoë", _nfd("zoë"), "Zo", "ém", _nfd("Ém"), "sted-é", "Ør"):
        assert _found(client, admin, q) == both, q
    assert _found(client, admin, "oë") == set()  # "oë" is 2 characters (in NFC), inside a word


@BOTH_PATHS
def test_greek_and_cyrillic_words(client: Any, admin: dict[str, str], make_customer: Any) -> None:
    greek = make_customer(first_name="Νίκος", last_name="Παπαδόπουλος")
    cyrillic = make_customer(first_name="Иван", last_name="Горев_Петров")
    assert _found(client, admin, "πα") == {greek["id"]}
    assert _found(client, admin, "ΝΊ") == {greek["id"]}
    assert _found(client, admin, "ος") == set()  # ends a word, starts none
    assert _found(client, admin, "ΠΟΥΛΟΣ") == {greek["id"]}  # lower-cased with a final "ς"
    assert _found(client, admin, "πουλοσ") == set()  # not case-folded: "σ" is not "ς"
    assert _found(client, admin, "пе") == {cyrillic["id"]}  # after "_": a word starts
    assert _found(client, admin, "ре") == set()


def test_group_and_address_q_use_the_same_words(
    client: Any, admin: dict[str, str], make_customer: Any
) -> None:
    """Groups and addresses are listed by MongoDB on either app: the same rule applies."""
    response = client.post(
        "/admin/customer-groups", json={"name": "Clients fidèles"}, headers=admin
    )
    assert response.status_code == 200, response.json
    group = response.json["customer_group"]["id"]
    groups = client.get("/admin/customer-groups?q=le", headers=admin).json["customer_groups"]
    assert groups == []
    groups = client.get("/admin/customer-groups?q=fi", headers=admin).json["customer_groups"]
    assert [g["id"] for g in groups] == [group]
    customer = make_customer(first_name="Ann")
    path = f"/admin/customers/{customer['id']}/addresses"
    body = {"address_1": "Rue de l'Église", "city": _nfd("Besançon")}
    assert client.post(path, json=body, headers=admin).status_code == 200
    for q, count in (("gl", 0), ("ég", 1), ("l'é", 1), ("besançon", 1), ("an", 0)):
        found = client.get(path, query_string={"q": q}, headers=admin).json["addresses"]
        assert len(found) == count, q
