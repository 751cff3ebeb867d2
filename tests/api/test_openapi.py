"""/openapi.json is generated from the routes and models; /docs and /health (see tests/ops)."""

from __future__ import annotations

import json

ROUTES = {
    ("get", "/admin/customers"), ("post", "/admin/customers"), ("get", "/admin/customers/search"),
    ("get", "/admin/customers/{customer_id}"), ("post", "/admin/customers/{customer_id}"),
    ("delete", "/admin/customers/{customer_id}"),
    ("post", "/admin/customers/{customer_id}/customer-groups"),
    ("get", "/admin/customers/{customer_id}/addresses"),
    ("post", "/admin/customers/{customer_id}/addresses"),
    ("get", "/admin/customers/{customer_id}/addresses/{address_id}"),
    ("post", "/admin/customers/{customer_id}/addresses/{address_id}"),
    ("delete", "/admin/customers/{customer_id}/addresses/{address_id}"),
    ("get", "/admin/customer-groups"), ("post", "/admin/customer-groups"),
    ("get", "/admin/customer-groups/{group_id}"), ("post", "/admin/customer-groups/{group_id}"),
    ("delete", "/admin/customer-groups/{group_id}"),
    ("post", "/admin/customer-groups/{group_id}/customers"),
    ("post", "/store/customers"), ("get", "/store/customers/me"), ("post", "/store/customers/me"),
    ("get", "/store/customers/me/addresses"), ("post", "/store/customers/me/addresses"),
    ("get", "/store/customers/me/addresses/{address_id}"),
    ("post", "/store/customers/me/addresses/{address_id}"),
    ("delete", "/store/customers/me/addresses/{address_id}"),
    ("get", "/health"), ("get", "/health/ready"),
}  # fmt: skip


def _refs(node):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def test_spec_covers_every_route_and_resolves(client) -> None:
    response = client.get("/openapi.json")
    assert response.status_code == 200
    spec = response.json
    assert spec["openapi"] == "3.1.0"
    found = {(m, p) for p, ops in spec["paths"].items() for m in ops}
    assert found == ROUTES
    schemas = spec["components"]["schemas"]
    for ref in set(_refs(spec)):
        assert ref.startswith("#/components/schemas/")
        assert ref.rsplit("/", 1)[-1] in schemas, ref
    json.dumps(spec)  # serialisable


def test_spec_is_built_from_the_validating_models(client) -> None:
    spec = client.get("/openapi.json").json
    schemas = spec["components"]["schemas"]
    body = schemas["AdminCustomerBody"]
    assert body["additionalProperties"] is False
    assert "has_account" not in body["properties"]
    assert schemas["AdminGroupCreateBody"]["required"] == ["name"]
    list_op = spec["paths"]["/admin/customers"]["get"]
    params = {p["name"]: p for p in list_op["parameters"]}
    assert params["limit"]["schema"]["maximum"] == 1000
    assert params["limit"]["schema"]["default"] == 50
    assert {"groups", "$or", "created_at", "q", "fields", "has_account"} <= set(params)
    assert params["created_at"]["style"] == "deepObject"
    assert list_op["security"] == [{"apiKeyBasic": []}, {"bearer": []}]
    store = spec["paths"]["/store/customers/me"]["get"]
    assert store["security"] == [{"bearer": []}]
    assert "401" in store["responses"]


def test_docs_page_is_self_contained_html(client) -> None:
    response = client.get("/docs")
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert "GET /admin/customers" in page and "/store/customers/me/addresses" in page
    assert "<script src" not in page


def test_docs_page_renders_docstring_code_as_code(client) -> None:
    page = client.get("/docs").get_data(as_text=True)
    # "Update a customer; ``metadata`` is merged (``""`` removes a key)."
    assert "<code>metadata</code> is merged (<code>&quot;&quot;</code> removes a key)" in page
    assert "``" not in page


def test_health_is_liveness_only(client) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json == {"status": "ok"}
