"""Property: whatever JSON a client sends, or whatever query string, the answer is never a 500."""

from __future__ import annotations

import json
import os
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

KEYS = [
    "email", "first_name", "last_name", "company_name", "phone", "metadata", "name", "add",
    "remove", "city", "is_default_shipping", "is_default_billing", "address_name", "has_account",
    "additional_data", "$set", "a.b", "",
]  # fmt: skip

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=12,
)
bodies = st.dictionaries(st.sampled_from(KEYS), values, max_size=4) | values

ROUTES = [
    "/admin/customers",
    "/admin/customers/{cid}",
    "/admin/customers/{cid}/addresses",
    "/admin/customers/{cid}/customer-groups",
    "/admin/customer-groups",
    "/admin/customer-groups/{gid}/customers",
]
FUZZ = settings(
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", "120")),  # raise it for a longer hunt
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture
def targets(make_customer, make_group) -> dict[str, str]:
    """A real customer and group, so that valid bodies reach the service's writes."""
    return {"cid": make_customer(email="fuzz@example.com")["id"], "gid": make_group("fuzz")["id"]}


@FUZZ
@given(route=st.sampled_from(ROUTES), body=bodies, real=st.booleans())
def test_random_bodies_never_500(client, admin, targets, route, body, real) -> None:
    ids = targets if real else {"cid": "cus_fuzz", "gid": "cusgroup_fuzz"}
    url = route.format(**ids)
    response = client.post(url, data=json.dumps(body), headers=admin)
    assert response.status_code < 500, (url, body, response.json)
    assert isinstance(response.json, dict)


query_keys = st.sampled_from(
    [
        "limit",
        "offset",
        "order",
        "fields",
        "q",
        "email",
        "groups",
        "has_account",
        "created_at",
        "$or",
        "id",
        "with_deleted",
    ]
)
suffixes = st.sampled_from(["", "[]", "[0]", "[1]", "[id]", "[$gt]", "[$in][0]", "[0][email]", "."])


@FUZZ
@given(
    pairs=st.lists(
        st.tuples(st.builds(lambda k, s: k + s, query_keys, suffixes), st.text(max_size=12)),
        max_size=5,
    ),
    path=st.sampled_from(["/admin/customers", "/admin/customer-groups"]),
)
def test_random_query_strings_never_500(client, admin, pairs, path) -> None:
    response = client.get(f"{path}?{urlencode(pairs)}", headers=admin)
    assert response.status_code < 500, (pairs, response.json)
    assert isinstance(response.json, dict)
