"""OpenAPI 3.1, generated from the routes and the pydantic models that validate them.

Each view is marked with :func:`documented` (its query, body and response models and who may
call it); :func:`build_spec` walks the app's URL map, so a route added by another blueprint
(e.g. the search route) appears as soon as it is registered and documented. ``/docs`` renders
the same document as plain HTML on the server (no CDN assets).

The error statuses of an operation are derived from what the route is (:func:`_statuses`), so
a new route documents every status it can answer without listing them: 400 when it takes
input, 401 and 429 when it needs credentials, 403 when it writes with admin ones (a ``read``
key may not), 404 when its path names an entity, 409, 413 and 415 when it takes a body, and
500 and 503 everywhere. A route adds what only it can answer
(``documented(responses={422: ...})``). Conditional requests are two flags: ``etag`` (the
200 answer carries an ``ETag`` header) and ``if_match`` (the ``If-Match`` header and its 412).
The limits of ``app.limits`` reach the document through the request models (``maxLength``,
``maxItems``, ``maximum`` ...).
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from flask import Flask
from pydantic import BaseModel

from app.api.schemas import ErrorResponse, UnauthorizedResponse
from app.credentials import READ_METHODS
from app.limits import MAX_ID_CHARS

__all__ = ["build_spec", "documented", "render_docs"]

F = TypeVar("F", bound=Callable[..., Any])
Response = str | tuple[str, type[BaseModel]]
"""A documented response: its description, and its body model when not ``ErrorResponse``."""

_REF = "#/components/schemas/{model}"
_RULE_ARG = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")
# reST inline markup of docstrings: ``literal``, `interpreted` and :role:`target`
_RST_CODE = re.compile(r"``(.+?)``|(?::[\w.-]+:)?`([^`]+)`")
_ETAG_HEADER = {
    "description": "The resource's version (a strong tag): send it as `If-Match` to change or "
    "delete the resource only if nobody else changed it meanwhile.",
    "schema": {"type": "string"},
}
_IF_MATCH = {
    "name": "If-Match",
    "in": "header",
    "required": False,
    "description": "Apply only if the resource's ETag is this one (or one of these; `*`: any); "
    "else 412 `precondition_failed` and nothing is written.",
    "schema": {"type": "string"},
}
_AUTH: dict[str | None, list[dict[str, list[str]]]] = {
    "admin": [{"apiKeyBasic": []}, {"bearer": []}],
    "store": [{"bearer": []}],
    None: [],
}


def documented(
    *,
    summary: str,
    response: type[BaseModel] | None = None,
    query: type[BaseModel] | None = None,
    body: type[BaseModel] | None = None,
    auth: str | None = None,
    tag: str | None = None,
    responses: Mapping[int, Response] | None = None,
    etag: bool = False,
    if_match: bool = False,
    status: int = 200,
    download: Mapping[str, str] | None = None,
) -> Callable[[F], F]:
    """Attach OpenAPI metadata to a view function.

    ``status``: the success status (202 for a job accepted). ``download``: the answer is a
    file, not ``response``'s JSON: its media types, each with a description (``response`` is
    then not needed).

    ``responses`` adds (or replaces) statuses only this route answers, e.g.
    ``{422: "Email already registered"}`` or ``{503: ("Not ready", HealthResponse)}``.
    ``etag``: the answer carries the resource's ``ETag``; ``if_match``: the route takes
    ``If-Match`` (412 when it no longer matches).
    """

    def mark(view: F) -> F:
        # a function attribute the spec builder reads back; functions do not declare it
        view.__openapi__ = {  # type: ignore[attr-defined]
            "summary": summary,
            "response": response,
            "query": query,
            "body": body,
            "auth": auth,
            "tag": tag,
            "responses": dict(responses or {}),
            "etag": etag,
            "if_match": if_match,
            "status": status,
            "download": dict(download or {}),
        }
        return view

    return mark


class _Components:
    def __init__(self) -> None:
        self.schemas: dict[str, Any] = {}

    def ref(self, model: type[BaseModel], mode: str = "validation") -> dict[str, str]:
        name = model.__name__
        if name not in self.schemas:
            # ``mode`` is one of pydantic's JsonSchemaMode literals, passed through as a str
            schema = model.model_json_schema(ref_template=_REF, mode=mode)  # type: ignore[arg-type]
            for key, sub in schema.pop("$defs", {}).items():
                self.schemas.setdefault(key, sub)
            self.schemas[name] = schema
        return {"$ref": _REF.format(model=name)}

    def inline(self, model: type[BaseModel]) -> dict[str, Any]:
        schema = model.model_json_schema(ref_template=_REF)
        for key, sub in schema.pop("$defs", {}).items():
            self.schemas.setdefault(key, sub)
        return schema


def _parameters(model: type[BaseModel], components: _Components) -> list[dict[str, Any]]:
    schema = components.inline(model)
    required = set(schema.get("required", []))
    params = []
    for name, prop in schema.get("properties", {}).items():
        param: dict[str, Any] = {
            "name": name,
            "in": "query",
            "required": name in required,
            "schema": prop,
        }
        if prop.get("description"):
            param["description"] = prop["description"]
        if "$ref" in prop or "anyOf" in prop or "oneOf" in prop or prop.get("type") == "object":
            param["style"] = "deepObject"
            param["explode"] = True
        params.append(param)
    return params


_RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds to wait before trying again.",
        "schema": {"type": "integer", "minimum": 1},
    }
}
_RETRY_STATUSES = (429, 503)


def _error(
    description: str, model: type[BaseModel], components: _Components, status: int = 400
) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": description,
        "content": {"application/json": {"schema": components.ref(model)}},
    }
    if status in _RETRY_STATUSES:
        response["headers"] = _RETRY_AFTER
    return response


def _statuses(meta: Mapping[str, Any], path: str, method: str) -> dict[int, Response]:
    """Every error status the route can answer, from what the route is."""
    takes_body = meta["body"] is not None and method in ("POST", "PUT", "PATCH")
    statuses: dict[int, Response] = {}
    if meta["query"] is not None or takes_body or "{" in path:
        statuses[400] = "Invalid request (`invalid_data`), e.g. a value over a limit"
    if meta["auth"]:
        statuses[401] = ("Unauthorized", UnauthorizedResponse)
        statuses[429] = "Too many failed attempts; retry after `Retry-After` seconds"
    if meta["auth"] == "admin" and method not in READ_METHODS:
        statuses[403] = "The API key's scope is `read` (`not_allowed`)"
    if "{" in path:
        statuses[404] = "Not found (`not_found`)"
    if meta.get("if_match"):
        statuses[412] = "`If-Match` no longer matches the resource's ETag (`precondition_failed`)"
    if takes_body:
        statuses[409] = "A concurrent change won; try again (`conflict`)"
        statuses[413] = "Body larger than 1 MiB (`invalid_data`)"
        statuses[415] = "Body is not JSON (`invalid_data`)"
    statuses[500] = "Unexpected error (`unknown_error`)"
    statuses[503] = (
        "Database unavailable or service overloaded (`unexpected_state`); "
        "retry after `Retry-After` seconds"
    )
    statuses.update(meta.get("responses") or {})
    return dict(sorted(statuses.items()))


_DISPOSITION_HEADER = {
    "Content-Disposition": {
        "description": 'The file\'s name: `attachment; filename="…"`.',
        "schema": {"type": "string"},
    }
}


def _success(meta: Mapping[str, Any], components: _Components) -> dict[str, Any]:
    """The success answer: ``response``'s JSON, or a file of the ``download`` media types."""
    if meta.get("download"):
        return {
            "description": "The file, streamed",
            "headers": dict(_DISPOSITION_HEADER),
            "content": {
                media_type: {"schema": {"type": "string", "description": description}}
                for media_type, description in meta["download"].items()
            },
        }
    description = "Accepted" if meta.get("status") == 202 else "OK"
    schema = components.ref(meta["response"], "serialization")
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _responses(
    meta: Mapping[str, Any], path: str, method: str, components: _Components
) -> dict[str, Any]:
    ok = str(meta.get("status", 200))
    responses: dict[str, Any] = {ok: _success(meta, components)}
    if meta.get("etag"):
        responses[ok]["headers"] = {"ETag": _ETAG_HEADER}
    for status, response in _statuses(meta, path, method).items():
        description, model = response if isinstance(response, tuple) else (response, ErrorResponse)
        responses[str(status)] = _error(description, model, components, status)
    return responses


def build_spec(app: Flask, *, title: str = "Customers API", version: str = "0.1.0") -> dict:
    """Return the OpenAPI 3.1 document of every documented route of ``app``."""
    components = _Components()
    paths: dict[str, dict[str, Any]] = {}
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        view = app.view_functions.get(rule.endpoint)
        meta = getattr(view, "__openapi__", None)
        if meta is None:
            continue
        path = _RULE_ARG.sub(r"{\1}", rule.rule)
        params: list[dict[str, Any]] = [
            {
                "name": arg,
                "in": "path",
                "required": True,
                "schema": {"type": "string", "minLength": 1, "maxLength": MAX_ID_CHARS},
            }
            for arg in _RULE_ARG.findall(rule.rule)
        ]
        if meta["query"] is not None:
            params.extend(_parameters(meta["query"], components))
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            operation: dict[str, Any] = {
                "operationId": rule.endpoint.replace(".", "_"),
                "summary": meta["summary"],
                "tags": [meta["tag"] or rule.endpoint.split(".")[0]],
                "parameters": [*params, _IF_MATCH] if meta.get("if_match") else params,
                "responses": _responses(meta, path, method, components),
                "security": _AUTH[meta["auth"]],
            }
            doc = (view.__doc__ or "").strip()
            if doc:
                operation["description"] = doc
            if meta["body"] is not None and method in ("POST", "PUT", "PATCH"):
                operation["requestBody"] = {
                    "required": True,
                    "content": {"application/json": {"schema": components.ref(meta["body"])}},
                }
            paths.setdefault(path, {})[method.lower()] = operation
    return {
        "openapi": "3.1.0",
        "info": {
            "title": title,
            "version": version,
            "description": "Medusa-compatible customer, address and customer group API.",
        },
        "paths": paths,
        "components": {
            "schemas": dict(sorted(components.schemas.items())),
            "securitySchemes": {
                "apiKeyBasic": {
                    "type": "http",
                    "scheme": "basic",
                    "description": 'Secret API key as the user name: base64("sk_…:")',
                },
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "JWT or sk_ API key",
                },
            },
        },
    }


def _type_of(schema: dict[str, Any]) -> str:
    if "$ref" in schema:
        return schema["$ref"].rsplit("/", 1)[-1]
    for key in ("anyOf", "oneOf"):
        if key in schema:
            return " | ".join(_type_of(s) for s in schema[key])
    kind = schema.get("type", "any")
    if kind == "array":
        return f"array of {_type_of(schema.get('items', {}))}"
    return str(kind)


def _fields_table(schema: dict[str, Any]) -> str:
    props = schema.get("properties", {})
    if not props:
        return ""
    required = set(schema.get("required", []))
    rows = "".join(
        f"<tr><td><code>{html.escape(name)}</code></td><td>{html.escape(_type_of(prop))}</td>"
        f"<td>{'yes' if name in required else ''}</td></tr>"
        for name, prop in props.items()
    )
    return f"<table><tr><th>field</th><th>type</th><th>required</th></tr>{rows}</table>"


def _prose(text: str) -> str:
    """Docstring text as HTML paragraphs: escaped, with reST inline code as ``<code>``."""

    def code(match: re.Match[str]) -> str:
        return f"<code>{match.group(1) or match.group(2)}</code>"

    paragraphs = re.split(r"\n\s*\n", text.strip())
    return "".join(
        f"<p>{_RST_CODE.sub(code, html.escape(' '.join(p.split())))}</p>" for p in paragraphs
    )


def render_docs(spec: dict[str, Any]) -> str:
    """Render the OpenAPI document as one self-contained HTML page."""
    schemas = spec["components"]["schemas"]
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>{html.escape(spec['info']['title'])}</title><style>",
        "body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}",
        "h3{font-family:monospace;background:#f4f4f4;padding:.4rem}",
        "table{border-collapse:collapse;margin:.5rem 0}td,th{border:1px solid #ddd;",
        "padding:.2rem .5rem;text-align:left}</style></head><body>",
        f"<h1>{html.escape(spec['info']['title'])} {html.escape(spec['info']['version'])}</h1>",
        f"<p>{html.escape(spec['info']['description'])} Machine-readable: ",
        "<a href='/openapi.json'>/openapi.json</a>.</p>",
    ]
    for path, operations in spec["paths"].items():
        for method, op in operations.items():
            parts.append(f"<h3 id='{html.escape(op['operationId'])}'>")
            parts.append(f"{method.upper()} {html.escape(path)}</h3>")
            parts.append(f"<p><b>{html.escape(op['summary'])}</b></p>")
            if op.get("description"):
                parts.append(_prose(op["description"]))
            auth = ", ".join(next(iter(s)) for s in op["security"]) or "none"
            parts.append(f"<p>Auth: {html.escape(auth)}</p>")
            query = [p for p in op["parameters"] if p["in"] == "query"]
            if query:
                parts.append("<p>Query parameters:</p>")
                parts.append(
                    _fields_table(
                        {
                            "properties": {p["name"]: p["schema"] for p in query},
                            "required": [p["name"] for p in query if p["required"]],
                        }
                    )
                )
            body = op.get("requestBody")
            if body:
                ref = body["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
                parts.append(f"<p>Body (<code>{html.escape(ref)}</code>):</p>")
                parts.append(_fields_table(schemas.get(ref, {})))
            status, ok = next(iter(op["responses"].items()))
            for media_type, content in ok["content"].items():
                kind = _type_of(content["schema"])
                parts.append(
                    f"<p>{status} ({html.escape(media_type)}): <code>{html.escape(kind)}</code></p>"
                )
    parts.append("</body></html>")
    return "".join(parts)
