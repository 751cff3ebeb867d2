"""The admin web app at ``/app``: one HTML page, its ES modules and its CSS (``static/``).

Every client-side route (``/app``, ``/app/customers/<id>``, ``/app/groups/<id>``, ...) answers
the same page, so a reload, back/forward or a pasted link opens the view the URL names: the
page's script reads the path and the query string. Nothing here needs credentials: the page
holds no data, and every request it makes goes to the admin API with the key the user typed
(kept in the browser's ``sessionStorage``, never sent to these routes).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Blueprint, Response

__all__ = ["bp"]

# The one page, read once: two kilobytes, the same for every client-side route, and no
# file left open per request (the modules and styles are served as files, with validators).
PAGE = (Path(__file__).parent / "static" / "index.html").read_bytes()

bp = Blueprint(
    "web", __name__, url_prefix="/app", static_folder="static", static_url_path="/static"
)


@bp.url_value_preprocessor
def _forget_client_route(endpoint: str | None, values: dict[str, Any] | None) -> None:
    """A client-side route is the page's business, not an id: keep it away from the views and
    from the API's path-id length check (which reads every path parameter as an id)."""
    if values is not None:
        values.pop("route", None)


@bp.get("")
@bp.get("/")
@bp.get("/<path:route>")
def page() -> Response:
    """The app's single page, whatever the client-side route."""
    return Response(PAGE, mimetype="text/html")
