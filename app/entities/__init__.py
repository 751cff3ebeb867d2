"""Each entity declared once: its fields, their traits, and the views everything else reads.

The storage documents (``app.models``), the service's inputs and DTOs, the HTTP models and
OpenAPI document, the filter compiler, ``q``'s fields and the search index's fields are all
derived from :data:`CUSTOMER`, :data:`ADDRESS`, :data:`GROUP` and :data:`MEMBERSHIP`. The
README's "Adding a field" says what that means in practice.

For the search index, :class:`Entity` answers (on :data:`CUSTOMER`):

* ``q_fields``: the text fields ``q`` searches, in order; ``q_digits``: the phone field and
  the stored field holding its digits, compared digit to digit; ``q_terms``: the stored field
  derived from the ``q`` fields that MongoDB's ``q`` reads (on every entity ``q`` searches);
* ``exact_fields``: text fields it filters exactly (``id`` first); ``range_fields``: dates it
  filters by range; ``flag_fields``: booleans it filters by equality;
* ``sort_fields``: fields it can order by; ``dates``: every date field;
* ``ranked``: the ranked lookup's field for each :class:`Role`;
* ``indexed``: every field the search document needs.
"""

from app.entities.declarations import ADDRESS, CUSTOMER, ENTITIES, GROUP, MEMBERSHIP
from app.entities.entity import Entity
from app.entities.traits import (
    ANYONE,
    NEW_ID,
    NOW,
    Field,
    Filter,
    Index,
    Kind,
    Op,
    Relation,
    Role,
    Who,
)

__all__ = [
    "ADDRESS",
    "ANYONE",
    "CUSTOMER",
    "ENTITIES",
    "GROUP",
    "MEMBERSHIP",
    "NEW_ID",
    "NOW",
    "Entity",
    "Field",
    "Filter",
    "Index",
    "Kind",
    "Op",
    "Relation",
    "Role",
    "Who",
]
