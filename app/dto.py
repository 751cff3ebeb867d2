"""What the service returns: pydantic DTOs with Medusa's names, generated from the declarations.

Each entity's DTO has its public fields and its relations, in declared order (see
:mod:`app.entities`); ``app/dto.pyi`` spells them out for type checkers. A DTO holds only the
fields that were loaded: with ``select`` or without a relation, the
missing keys are simply absent from ``model_dump()`` (not ``None``), as Medusa returns them.
"""

from __future__ import annotations

from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    SerializerFunctionWrapHandler,
    create_model,
    model_serializer,
)

from app.entities import ADDRESS, CUSTOMER, ENTITIES, GROUP, MEMBERSHIP, Entity, Relation
from app.textsearch import Highlights

__all__ = [
    "DTO",
    "CustomerAddressDTO",
    "CustomerDTO",
    "CustomerGroupCustomerDTO",
    "CustomerGroupDTO",
    "CustomerSearchHit",
    "CustomerSearchResult",
]


class DTO(BaseModel):
    """Base DTO: dumps only the fields that were set when it was built."""

    model_config = ConfigDict(extra="forbid")

    @model_serializer(mode="wrap")
    def _only_loaded(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data = handler(self)
        loaded = self.model_fields_set
        return {key: value for key, value in data.items() if key in loaded}


def _name(entity: Entity) -> str:
    """The DTO class of an entity: Medusa's model name + ``DTO`` (``CustomerGroupDTO``)."""
    return f"{entity.model}DTO"


def _dto(entity: Entity, doc: str) -> Any:
    """The DTO of ``entity``: every public field and relation in declared order, all but the
    id optional."""
    fields: dict[str, Any] = {}
    for member in entity.members:
        if isinstance(member, Relation):
            target = _name(ENTITIES[member.target])
            fields[member.name] = (
                f"list[{target}] | None" if member.many else f"{target} | None",
                None,
            )
        elif member.name == "id":  # always loaded, whatever ``select`` says
            fields["id"] = (str, ...)
        elif not member.internal:
            fields[member.name] = (member.kind.python_type | None, None)
    return create_model(_name(entity), __base__=DTO, __module__=__name__, __doc__=doc, **fields)


CustomerAddressDTO = _dto(ADDRESS, "An address of a customer.")
CustomerGroupDTO = _dto(
    GROUP, "A customer group; ``customers`` only when that relation was asked for."
)
CustomerDTO = _dto(
    CUSTOMER, "A customer; ``addresses`` and ``groups`` only when those relations were asked for."
)
CustomerGroupCustomerDTO = _dto(
    MEMBERSHIP, "One membership of a customer in a group (Medusa's pivot entity)."
)
for _model in (CustomerAddressDTO, CustomerGroupDTO, CustomerDTO, CustomerGroupCustomerDTO):
    _model.model_rebuild()


class CustomerSearchHit(BaseModel):
    """One ranked hit: the customer, its score and the matched ranges per field.

    ``score`` is ``None`` when the search index was unavailable and MongoDB answered unranked.
    """

    customer: CustomerDTO
    score: float | None = None
    highlights: Highlights = {}


class CustomerSearchResult(BaseModel):
    """The answer of ``search_customers``: best hits first, the total match count, time taken."""

    hits: list[CustomerSearchHit]
    count: int
    took_ms: float
