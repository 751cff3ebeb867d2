"""/openapi.json is generated from the routes and models; /docs and /health (see tests/ops)."""

from __future__ import annotations

import json

from flask import Blueprint, Flask
from openapi_spec_validator import OpenAPIV31SpecValidator
from pydantic import BaseModel

from app.api.openapi import build_spec, documented
from app.api.schemas import FieldsQuery, HealthResponse
from app.limits import MAX_EMAIL_CHARS, MAX_ID_CHARS, MAX_LIST_ITEMS, MAX_TEXT_CHARS

ROUTES = {
    ("get", "/admin/customers"), ("post", "/admin/customers"), ("get", "/admin/customers/search"),
    ("get", "/admin/customers/{customer_id}"), ("post", "/admin/customers/{customer_id}"),
    ("delete", "/admin/customers/{customer_id}"),
    ("post", "/admin/customers/{customer_id}/customer-groups"),
    ("post", "/admin/customers/{customer_id}/restore"),
    ("post", "/admin/customers/{customer_id}/merge"),
    ("post", "/admin/customers/{customer_id}/merge/preview"),
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
    ("get", "/health"), ("get", "/health/ready"), ("get", "/admin/me"),
    ("get", "/admin/customers/{customer_id}/duplicates"),
    ("post", "/admin/customers/duplicates/scans"),
    ("get", "/admin/customers/duplicates/scans/{job_id}"),
    ("get", "/admin/customers/duplicates/scans/{job_id}/clusters"),
    ("get", "/admin/customers/export"), ("post", "/admin/customers/export"),
    ("get", "/admin/customers/exports/{job_id}"), ("get", "/admin/customers/exports/{job_id}/file"),
    ("get", "/admin/customers/{customer_id}/data-export"),
    ("post", "/admin/customers/{customer_id}/erase"),
    ("post", "/admin/customers/imports"), ("get", "/admin/customers/imports/{import_id}"),
    ("get", "/admin/customers/imports/{import_id}/errors"),
    ("post", "/admin/customers/imports/{import_id}/cancel"),
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


def test_spec_passes_the_openapi_validator(client) -> None:
    errors = list(OpenAPIV31SpecValidator(client.get("/openapi.json").json).iter_errors())
    assert errors == []


def test_spec_declares_the_input_limits(client) -> None:
    spec = client.get("/openapi.json").json
    schemas = spec["components"]["schemas"]
    body = schemas["AdminCustomerBody"]["properties"]
    assert body["first_name"]["anyOf"][0]["maxLength"] == MAX_TEXT_CHARS
    assert body["email"]["anyOf"][0]["maxLength"] == MAX_EMAIL_CHARS
    assert "5 levels deep and 65536 bytes" in body["metadata"]["anyOf"][0]["description"]
    assert schemas["StoreAddressBody"]["properties"]["city"]["anyOf"][0]["maxLength"] == 1000
    link = schemas["BatchLinkBody"]["properties"]["add"]["anyOf"][0]
    assert link["maxItems"] == MAX_LIST_ITEMS and link["items"]["maxLength"] == MAX_ID_CHARS
    assert "default" not in schemas["StoreAddressBody"]["properties"]["is_default_billing"]
    assert "default" not in schemas["AdminGroupUpdateBody"]["properties"]["name"]
    retrieve = spec["paths"]["/admin/customers/{customer_id}"]["get"]
    path_param = next(p for p in retrieve["parameters"] if p["in"] == "path")
    assert path_param["schema"]["maxLength"] == MAX_ID_CHARS
    listing = {p["name"]: p for p in spec["paths"]["/admin/customers"]["get"]["parameters"]}
    assert listing["order"]["schema"]["anyOf"][0]["maxLength"] == MAX_TEXT_CHARS


def _codes(spec: dict, method: str, path: str) -> set[str]:
    return set(spec["paths"][path][method]["responses"])


def test_every_status_the_service_answers_is_documented(client) -> None:
    spec = client.get("/openapi.json").json
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            codes = set(operation["responses"])
            assert {"500", "503"} <= codes and codes & {"200", "202"}, (method, path)
            assert "Retry-After" in operation["responses"]["503"]["headers"]
            if operation["security"]:
                assert {"401", "429"} <= codes, (method, path)
                assert "Retry-After" in operation["responses"]["429"]["headers"]
            if "{" in path:
                assert {"400", "404"} <= codes, (method, path)
            if "requestBody" in operation:
                assert {"400", "409", "413", "415"} <= codes, (method, path)
    assert "422" in _codes(spec, "post", "/store/customers")
    assert "422" not in _codes(spec, "post", "/admin/customers")
    assert _codes(spec, "get", "/health") == {"200", "500", "503"}
    ready_503 = spec["paths"]["/health/ready"]["get"]["responses"]["503"]["content"]
    assert ready_503["application/json"]["schema"]["$ref"].endswith("/ReadinessResponse")


CONDITIONAL = {  # the routes that take If-Match; each answers 412 and documents the header
    ("post", "/admin/customers/{customer_id}"),
    ("delete", "/admin/customers/{customer_id}"),
    ("post", "/admin/customers/{customer_id}/merge"),
    ("post", "/admin/customers/{customer_id}/addresses/{address_id}"),
    ("delete", "/admin/customers/{customer_id}/addresses/{address_id}"),
    ("post", "/admin/customer-groups/{group_id}"),
    ("delete", "/admin/customer-groups/{group_id}"),
}
TAGGED = {  # the routes whose answer carries the resource's ETag
    ("get", "/admin/customers/{customer_id}"),
    ("post", "/admin/customers"),
    ("post", "/admin/customers/{customer_id}"),
    ("post", "/admin/customers/{customer_id}/restore"),
    ("post", "/admin/customers/{customer_id}/merge"),
    ("get", "/admin/customers/{customer_id}/addresses/{address_id}"),
    ("post", "/admin/customers/{customer_id}/addresses"),
    ("post", "/admin/customers/{customer_id}/addresses/{address_id}"),
    ("get", "/admin/customer-groups/{group_id}"),
    ("post", "/admin/customer-groups"),
    ("post", "/admin/customer-groups/{group_id}"),
}


def test_conditional_requests_are_documented(client) -> None:
    spec = client.get("/openapi.json").json
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            route = (method, path)
            headers = {p["name"] for p in operation["parameters"] if p["in"] == "header"}
            assert ("If-Match" in headers) == (route in CONDITIONAL), route
            assert ("412" in operation["responses"]) == (route in CONDITIONAL), route
            success = next(r for c, r in operation["responses"].items() if c.startswith("2"))
            tagged = "ETag" in success.get("headers", {})
            assert tagged == (route in TAGGED), route
    written = spec["paths"]["/admin/customers/{customer_id}"]["post"]["responses"]
    assert written["412"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/ErrorResponse"
    )


class _Thing(BaseModel):
    id: str


def test_a_route_that_queues_a_job_documents_202(client) -> None:
    responses = client.get("/openapi.json").json["paths"]["/admin/customers/duplicates/scans"]
    assert "202" in responses["post"]["responses"] and "200" not in responses["post"]["responses"]


def test_a_new_route_gets_its_statuses_without_listing_them() -> None:
    bp = Blueprint("things", __name__)

    @bp.post("/things/<thing_id>")
    @documented(
        summary="Change a thing",
        query=FieldsQuery,
        body=_Thing,
        response=_Thing,
        auth="admin",
        responses={418: "Teapot", 503: ("Not ready", HealthResponse)},
    )
    def change(thing_id: str) -> dict:
        return {}

    @bp.get("/things/ready")
    @documented(summary="Ready?", response=HealthResponse)
    def ready() -> dict:
        return {}

    app = Flask(__name__)
    app.register_blueprint(bp)
    spec = build_spec(app)
    changed = spec["paths"]["/things/{thing_id}"]["post"]["responses"]
    assert set(changed) == {
        "200",
        "400",
        "401",
        "403",  # a write: a read-only key may not
        "404",
        "409",
        "413",
        "415",
        "418",
        "429",
        "500",
        "503",
    }
    assert changed["503"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/HealthResponse"
    )
    assert set(spec["paths"]["/things/ready"]["get"]["responses"]) == {"200", "500", "503"}
    assert list(OpenAPIV31SpecValidator(spec).iter_errors()) == []
