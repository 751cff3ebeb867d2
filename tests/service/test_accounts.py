"""Store accounts through the service: one customer per auth identity, freed by deletes."""

from __future__ import annotations

import pytest

from app.errors import CustomerModuleError

ALREADY_LINKED = "Key customer_id already exists in app metadata"


def error_of(call, *args):
    with pytest.raises(CustomerModuleError) as info:
        call(*args)
    return info.value


def links(service) -> dict[str, str]:
    docs = service.run(service.store.identity_links.find({}).to_list())
    return {doc["_id"]: doc["customer_id"] for doc in docs}


def count(service, query=None) -> int:
    return service.run(service.store.customers.count_documents(query or {}))


def test_account_is_linked_to_its_identity(service):
    customer = service.create_customer_account(
        {"email": "Ann@X.com", "first_name": "Ann"}, "authid_1"
    )
    assert customer.has_account is True and customer.email == "ann@x.com"
    assert links(service) == {"authid_1": customer.id}
    assert service.retrieve_customer(customer.id).first_name == "Ann"


def test_an_identity_registers_one_customer_and_a_failure_leaves_nothing(service):
    first = service.create_customer_account({"email": "a@x.com"}, "authid_1")
    err = error_of(service.create_customer_account, {"email": "b@x.com"}, "authid_1")
    assert (err.type, err.message) == ("invalid_data", ALREADY_LINKED)
    # the customer insert of the refused registration was rolled back with it
    assert count(service) == 1 and count(service, {"email": "b@x.com"}) == 0
    # Medusa checks the email first: an existing account is 422 whatever the identity
    err = error_of(service.create_customer_account, {"email": "A@x.com"}, "authid_2")
    assert (err.type, err.message) == (
        "duplicate_error",
        "Customer with this email already has an account",
    )
    assert links(service) == {"authid_1": first.id}  # no link without its customer


def test_guest_with_the_same_email_does_not_block_registration(service):
    service.create_customers({"email": "g@x.com"})
    customer = service.create_customer_account({"email": "g@x.com"}, "authid_1")
    assert customer.has_account is True
    assert count(service, {"email": "g@x.com"}) == 2


def test_registration_input_is_checked(service):
    err = error_of(service.create_customer_account, {"first_name": "x"}, "authid_1")
    assert err.message == "Email is required to create a customer"
    for identity in ("", "x" * 65, None):
        err = error_of(service.create_customer_account, {"email": "a@x.com"}, identity)
        assert err.type == "invalid_data" and "auth_identity_id" in err.message
    assert count(service) == 0 and links(service) == {}


def test_parallel_registrations_of_one_identity_make_one_customer(service):
    results = service.gather(
        *(
            service.aio.create_customer_account({"email": f"p{i}@x.com"}, "authid_race")
            for i in range(20)
        )
    )
    made = [r for r in results if not isinstance(r, BaseException)]
    refused = [r for r in results if isinstance(r, BaseException)]
    assert len(made) == 1
    assert all(isinstance(e, CustomerModuleError) and e.message == ALREADY_LINKED for e in refused)
    assert count(service) == 1
    assert links(service) == {"authid_race": made[0].id}


@pytest.mark.parametrize("delete", ["soft_delete_customers", "delete_customers"])
def test_deleting_the_customer_frees_its_identity(service, delete):
    first = service.create_customer_account({"email": "a@x.com"}, "authid_1")
    other = service.create_customer_account({"email": "o@x.com"}, "authid_2")
    getattr(service, delete)([first.id])
    assert links(service) == {"authid_2": other.id}
    again = service.create_customer_account({"email": "a@x.com"}, "authid_1")
    assert again.id != first.id
    assert links(service) == {"authid_1": again.id, "authid_2": other.id}


def test_a_restored_customer_does_not_take_its_identity_back(service):
    first = service.create_customer_account({"email": "a@x.com"}, "authid_1")
    service.soft_delete_customers([first.id])
    again = service.create_customer_account({"email": "b@x.com"}, "authid_1")
    service.restore_customers([first.id])
    assert service.retrieve_customer(first.id).deleted_at is None
    assert links(service) == {"authid_1": again.id}


@pytest.mark.parametrize("gone", ["soft", "hard"])
def test_a_link_that_outlived_its_customer_is_taken_over(service, gone):
    """A delete that stopped before unlinking leaves a link to a dead customer: it is free."""
    first = service.create_customer_account({"email": "a@x.com"}, "authid_1")
    if gone == "soft":
        service.run(
            service.store.customers.update_one(
                {"_id": first.id}, {"$set": {"deleted_at": first.created_at}}
            )
        )
    else:
        service.run(service.store.customers.delete_one({"_id": first.id}))
    assert links(service) == {"authid_1": first.id}
    results = service.gather(
        *(
            service.aio.create_customer_account({"email": f"r{i}@x.com"}, "authid_1")
            for i in range(10)
        )
    )
    made = [r for r in results if not isinstance(r, BaseException)]
    assert len(made) == 1
    assert all(getattr(r, "message", "") == ALREADY_LINKED for r in results if r not in made)
    assert links(service) == {"authid_1": made[0].id}
    # the late unlink of the old customer leaves the new link alone
    service.soft_delete_customers([first.id])
    assert links(service) == {"authid_1": made[0].id}


def test_deleting_by_selector_frees_identities(service):
    customer = service.create_customer_account({"email": "a@x.com"}, "authid_1")
    service.delete_customers({"email": "a@x.com"})
    assert links(service) == {}
    assert service.create_customer_account({"email": "a@x.com"}, "authid_1").id != customer.id
