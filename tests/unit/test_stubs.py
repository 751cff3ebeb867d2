"""The type stubs of the generated models match the declarations."""

from __future__ import annotations

import pytest

from app.stubs import MODULES, render, stub_path


@pytest.mark.parametrize("module", MODULES)
def test_stub_is_up_to_date(module: str) -> None:
    assert stub_path(module).read_text() == render(module), "run: python -m app.stubs"


def test_a_stub_spells_every_field() -> None:
    text = render("app.dto")
    assert "class CustomerDTO(DTO):\n    id: str\n    email: str | None = ...\n" in text
    assert "    addresses: list[CustomerAddressDTO] | None = ...\n" in text
    assert "    customer_id: str\n" in render("app.service.inputs")  # CreateAddress, GroupPair
