"""Customers through the service: creation, uniqueness, updates, deletes, config."""

from __future__ import annotations

import pytest

from app.errors import CustomerModuleError
from app.service.customers import CREATE_CHUNK


def error_of(call, *args):
    with pytest.raises(CustomerModuleError) as info:
        call(*args)
    return info.value


def test_one_in_one_out_and_list_in_list_out(service):
    one = service.create_customers({"email": "a@x.com", "first_name": "Ann"})
    many = service.create_customers([{"email": "b@x.com"}, {"email": "c@x.com"}])
    assert one.id.startswith("cus_") and len(one.id) == 4 + 26
    assert one.model_dump(mode="json")["first_name"] == "Ann"
    assert [c.email for c in many] == ["b@x.com", "c@x.com"]
    dumped = one.model_dump(mode="json")
    assert set(dumped) == {
        "id", "email", "company_name", "first_name", "last_name", "phone", "has_account",
        "metadata", "created_by", "addresses", "created_at", "updated_at", "deleted_at",
    }  # fmt: skip
    assert dumped["has_account"] is False and dumped["deleted_at"] is None


def test_default_order_is_creation_order_even_within_a_millisecond(service):
    made = service.create_customers([{"first_name": f"n{i}"} for i in range(30)])
    made += [service.create_customers({"first_name": f"s{i}"}) for i in range(10)]
    listed = service.list_customers()
    assert [c.id for c in listed] == [c.id for c in made]


def test_caller_supplied_id_is_kept_and_duplicate_id_is_refused(service):
    c = service.create_customers({"id": "cus_custom", "email": "x@x.com"})
    assert c.id == "cus_custom"
    assert service.retrieve_customer("cus_custom").email == "x@x.com"
    err = error_of(service.create_customers, {"id": "cus_custom"})
    assert err.type == "invalid_data"


def test_email_is_normalised_and_unique_per_has_account(service):
    c = service.create_customers({"email": "  Hello@X.com "})
    assert c.email == "hello@x.com"
    err = error_of(service.create_customers, {"email": "HELLO@x.com"})
    assert err.type == "invalid_data"
    assert err.message == "Customer with email: hello@x.com, has_account: false, already exists."
    registered = service.create_customers({"email": "hello@x.com", "has_account": True})
    assert registered.has_account is True
    err = error_of(service.create_customers, {"email": "hello@x.com", "has_account": True})
    assert err.message == "Customer with email: hello@x.com, has_account: true, already exists."


def test_null_emails_are_unlimited_and_soft_deleted_rows_do_not_count(service):
    service.create_customers([{"first_name": "a"}, {"first_name": "b"}, {"email": None}])
    old = service.create_customers({"email": "gone@x.com"})
    service.soft_delete_customers([old.id])
    again = service.create_customers({"email": "gone@x.com"})
    assert again.id != old.id
    err = error_of(service.restore_customers, [old.id])
    assert err.message == "Customer with email: gone@x.com, has_account: false, already exists."


def test_a_batch_with_a_duplicate_creates_nothing(service):
    err = error_of(
        service.create_customers,
        [{"email": "a@x.com"}, {"email": "b@x.com"}, {"email": "A@x.com"}],
    )
    assert err.message == "Customer with email: a@x.com, has_account: false, already exists."
    assert service.list_and_count_customers()[1] == 0


def test_nested_addresses_are_created_with_the_customer(service):
    c = service.create_customers(
        {
            "email": "a@x.com",
            "addresses": [{"city": "Paris", "is_default_billing": True}, {"city": "Rome"}],
        }
    )
    assert [a.city for a in c.addresses] == ["Paris", "Rome"]
    assert all(a.customer_id == c.id and a.id.startswith("cuaddr_") for a in c.addresses)
    got = service.retrieve_customer(c.id, {"relations": ["addresses"]})
    assert [a.is_default_billing for a in got.addresses] == [True, False]


def test_two_nested_defaults_of_one_kind_are_refused_and_nothing_is_written(service):
    err = error_of(
        service.create_customers,
        {
            "id": "cus_two",
            "addresses": [{"is_default_shipping": True}, {"is_default_shipping": True}],
        },
    )
    assert err.message == "Customer address with customer_id: cus_two, already exists."
    assert service.list_customers() == []


def test_retrieve_errors_and_soft_deleted_visibility(service):
    assert error_of(service.retrieve_customer, "cus_nope").message == (
        "Customer with id: cus_nope was not found"
    )
    err = error_of(service.retrieve_customer, None)
    assert (err.type, err.message) == ("not_found", "customer - id must be defined")
    c = service.create_customers({"email": "a@x.com"})
    service.soft_delete_customers(c.id)
    assert error_of(service.retrieve_customer, c.id).type == "not_found"
    assert service.retrieve_customer(c.id, {"with_deleted": True}).deleted_at is not None


def test_update_by_id_ids_and_selector(service):
    a, b, c = service.create_customers(
        [
            {"email": "a@x.com", "last_name": "Doe"},
            {"email": "b@x.com", "last_name": "Doe"},
            {"email": "c@x.com"},
        ]
    )
    one = service.update_customers(a.id, {"first_name": "Ann"})
    assert one.first_name == "Ann" and one.updated_at >= a.updated_at
    assert [x.id for x in service.update_customers([a.id, c.id], {"company_name": "Acme"})] == [
        a.id,
        c.id,
    ]
    by_selector = service.update_customers({"last_name": "Doe"}, {"phone": "555"})
    assert sorted(x.id for x in by_selector) == sorted([a.id, b.id])
    assert service.update_customers({"last_name": "Nobody"}, {"phone": "1"}) == []
    assert service.retrieve_customer(b.id).phone == "555"


def test_update_of_missing_ids_is_not_found_and_changes_nothing(service):
    a = service.create_customers({"email": "a@x.com"})
    err = error_of(service.update_customers, [a.id, "cus_x", "cus_y"], {"first_name": "Z"})
    assert (err.type, err.message) == ("not_found", 'Customer with id "cus_x, cus_y" not found')
    assert service.retrieve_customer(a.id).first_name is None
    assert (
        error_of(service.update_customers, "cus_x", {}).message
        == 'Customer with id "cus_x" not found'
    )


def test_batch_update_is_all_or_nothing(service):
    a, b = service.create_customers([{"email": "a@x.com"}, {"email": "b@x.com"}])
    service.create_customers({"email": "taken@x.com"})
    err = error_of(
        service.update_customers, [a.id, b.id], {"email": "taken@x.com", "first_name": "Q"}
    )
    assert err.message == "Customer with email: taken@x.com, has_account: false, already exists."
    assert service.retrieve_customer(a.id).first_name is None
    assert service.retrieve_customer(a.id).email == "a@x.com"


@pytest.mark.parametrize(
    ("before", "update", "after"),
    [
        ({"a": 1, "b": 2}, {"b": 3, "c": None}, {"a": 1, "b": 3, "c": None}),
        ({"a": 1, "b": 2}, {"a": ""}, {"b": 2}),
        ({"a": 1}, {}, {}),
        ({"a": 1}, None, None),
        ({"a": {"x": 1, "y": 2}}, {"a": {"x": 3}}, {"a": {"x": 3}}),
        (None, {"a": 1}, {"a": 1}),
    ],
)
def test_metadata_merge(service, before, update, after):
    c = service.create_customers({"metadata": before})
    assert service.update_customers(c.id, {"metadata": update}).metadata == after
    assert service.retrieve_customer(c.id).metadata == after


def test_guest_to_account_conversion_checks_uniqueness(service):
    service.create_customers({"email": "a@x.com", "has_account": True})
    guest = service.create_customers({"email": "a@x.com"})
    err = error_of(service.update_customers, guest.id, {"has_account": True})
    assert err.message == "Customer with email: a@x.com, has_account: true, already exists."
    other = service.create_customers({"email": "b@x.com"})
    assert service.update_customers(other.id, {"has_account": True}).has_account is True


def test_wrong_types_and_unknown_keys_are_invalid_data(service):
    err = error_of(service.create_customers, {"first_name": 5})
    assert (
        err.message
        == "Invalid request: Expected type: 'string' for field 'first_name', got: 'number'"
    )
    err = error_of(service.create_customers, {"nope": 1, "bad": 2})
    assert err.message == "Invalid request: Unrecognized fields: 'nope, bad'"
    err = error_of(service.update_customers, "cus_x", {"email": {"$gt": ""}})
    assert err.type == "invalid_data"


def test_hard_delete_by_id_and_selector(service):
    a, _b, c = service.create_customers(
        [
            {"last_name": "Doe", "addresses": [{"city": "X"}]},
            {"last_name": "Doe"},
            {"last_name": "Roe"},
        ]
    )
    service.delete_customers(a.id)
    assert service.list_customer_addresses({"customer_id": a.id}, {"with_deleted": True}) == []
    service.delete_customers({"last_name": "Doe"})
    assert [x.id for x in service.list_customers({}, {"with_deleted": True})] == [c.id]
    service.delete_customers([])


def test_soft_delete_cascades_to_addresses_and_restore_brings_them_back(service):
    c = service.create_customers({"addresses": [{"city": "A"}, {"city": "B"}, {"city": "C"}]})
    earlier = c.addresses[2].id
    service.soft_delete_customer_addresses([earlier])
    service.soft_delete_customers([c.id])
    assert service.list_customers() == []
    assert service.list_customer_addresses({"customer_id": c.id}) == []
    service.restore_customers([c.id])
    back = service.list_customer_addresses({"customer_id": c.id})
    assert [a.city for a in back] == ["A", "B"]  # C was deleted on its own, before
    assert service.retrieve_customer(c.id).deleted_at is None


def test_select_and_relations_shape_the_dto(service):
    c = service.create_customers(
        {"email": "a@x.com", "first_name": "A", "addresses": [{"city": "X"}]}
    )
    plain = service.retrieve_customer(c.id).model_dump(mode="json")
    assert "addresses" not in plain and "groups" not in plain
    picked = service.retrieve_customer(c.id, {"select": ["email"]}).model_dump(mode="json")
    assert picked == {"id": c.id, "email": "a@x.com"}
    rel = service.retrieve_customer(c.id, {"relations": ["addresses", "groups"]}).model_dump(
        mode="json"
    )
    assert rel["groups"] == [] and rel["addresses"][0]["city"] == "X"
    err = error_of(service.list_customers, {}, {"relations": ["orders"]})
    assert err.type == "invalid_data"


def test_pagination_order_and_count(service):
    made = service.create_customers(
        [{"email": f"u{i:02d}@x.com", "first_name": "N"} for i in range(12)]
    )
    page, count = service.list_and_count_customers({}, {"skip": 5, "take": 4})
    assert count == 12 and [c.id for c in page] == [c.id for c in made[5:9]]
    desc = service.list_customers({}, {"order": {"email": "DESC"}, "take": 2})
    assert [c.email for c in desc] == ["u11@x.com", "u10@x.com"]
    err = error_of(service.list_customers, {}, {"order": {"password": "ASC"}})
    assert err.message == "Order field password is not valid"


def test_concurrent_creates_of_one_account_email_leave_exactly_one(service):
    results = service.gather(
        *(
            service.aio.create_customers({"email": "race@x.com", "has_account": True})
            for _ in range(20)
        )
    )
    created = [r for r in results if not isinstance(r, Exception)]
    failed = [r for r in results if isinstance(r, Exception)]
    assert len(created) == 1 and len(failed) == 19
    assert all(
        isinstance(f, CustomerModuleError)
        and f.message == "Customer with email: race@x.com, has_account: true, already exists."
        for f in failed
    )
    assert service.list_and_count_customers({"email": "race@x.com"})[1] == 1


def test_stored_documents_match_the_beanie_models(service):
    from app.models import Customer, CustomerGroup

    c = service.create_customers(
        {"email": "a@x.com", "phone": "+1 (555) 010", "addresses": [{"city": "X"}]}
    )
    g = service.create_customer_groups({"name": "G"})
    service.add_customer_to_group({"customer_id": c.id, "customer_group_id": g.id})
    raw = service.run(service.aio.store.customers.find_one({"_id": c.id}))
    model = Customer.model_validate(raw)
    assert model.id == c.id and model.phone_digits == "1555010"
    assert model.addresses[0].customer_id == c.id and model.groups[0].customer_group_id == g.id
    assert (
        CustomerGroup.model_validate(
            service.run(service.aio.store.groups.find_one({"_id": g.id}))
        ).name
        == "G"
    )
    info = service.run(service.aio.store.customers.index_information())
    names = set(info)
    assert {"live_email_has_account_unique", "group_refs", "address_ids"} <= names


@pytest.mark.parametrize(
    "data",
    [
        {"first_name": "\ud800"},
        {"first_name": "a\x00b"},
        {"metadata": {"n": 2**70}},
        {"metadata": {"$where": "1"}},
        {"metadata": {"a": {"$gt": 1}}},
        {
            "metadata": {
                "deep": [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]
            }
        },
    ],
)
def test_unstorable_input_is_invalid_data_and_writes_nothing(service, data):
    err = error_of(service.create_customers, data)
    assert err.type == "invalid_data" and err.message.startswith("Invalid request: ")
    assert service.list_customers() == []


def test_unstorable_filter_values_and_ids_are_invalid_data(service):
    assert error_of(service.list_customers, {"email": "\ud800"}).type == "invalid_data"
    assert error_of(service.list_customers, {"q": "\ud800"}).type == "invalid_data"
    assert error_of(service.retrieve_customer, "\ud800").type in ("invalid_data", "not_found")
    assert error_of(service.update_customers, ["\ud800"], {}).type == "invalid_data"


def test_take_zero_is_an_empty_page_with_the_count(service):
    service.create_customers([{}, {}, {}])
    assert service.list_and_count_customers({}, {"take": 0}) == ([], 3)
    assert service.list_and_count_customer_addresses({}, {"take": 0}) == ([], 0)
    assert service.list_and_count_customer_groups({}, {"take": 0}) == ([], 0)


def test_concurrent_updates_of_several_customers_lose_no_change(service):
    """Each call reads both customers once and writes both in one bulk write; racing calls
    must still merge every metadata key (a lost race is retried, never overwritten)."""
    a, b = service.create_customers([{"email": "a@x.com"}, {"email": "b@x.com"}])
    results = service.gather(
        *(service.aio.update_customers([a.id, b.id], {"metadata": {f"k{i}": i}}) for i in range(8))
    )
    assert not [r for r in results if isinstance(r, Exception)]
    for customer in (a, b):
        stored = service.retrieve_customer(customer.id)
        assert stored.metadata == {f"k{i}": i for i in range(8)}


@pytest.mark.parametrize("bad", ["duplicate", "two_defaults"])
def test_a_large_batch_fails_whole_in_its_last_chunk(service, bad):
    """A batch is written chunk by chunk (built while the previous chunk is written); a
    failure in the last chunk still leaves none of it."""
    batch: list[dict[str, object]] = [
        {"email": f"big{i}@x.com"} for i in range(3 * CREATE_CHUNK - 10)
    ]
    if bad == "duplicate":
        batch.append({"email": "big0@x.com"})
    else:
        two = [{"is_default_shipping": True}, {"is_default_shipping": True}]
        batch.append({"email": "last@x.com", "addresses": two})
    with pytest.raises(CustomerModuleError):
        service.create_customers(batch)
    assert service.list_and_count_customers({}, {"take": 1})[1] == 0
    made = service.create_customers(batch[:-1])
    assert [c.email for c in made] == [c["email"] for c in batch[:-1]]
    assert service.list_and_count_customers({}, {"take": 1})[1] == len(batch) - 1
