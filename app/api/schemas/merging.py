"""Request and response models of the merge routes (``/admin/customers/{id}/merge``).

The body's ``keep`` is the service's model (:class:`app.service.merge_models.Keep`: one
optional customer id per mergeable field, read from the declarations), and the report is the
X; only the envelope is written here.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from app.api.schemas.derive import Body
from app.api.schemas.responses import CustomerOut
from app.bounded import Id
from app.limits import MAX_MERGE_CUSTOMERS
from app.service.merge_models import Keep, MergeReport

__all__ = ["MergeBody", "MergeResponse"]


class MergeBody(Body):
    """Merge ``customer_ids`` into the customer of the path, keeping the values ``keep``
    names (else the survivorship rules decide: an account beats a guest, then the most
    recently updated non-empty value)."""

    customer_ids: Annotated[list[Id], Field(min_length=1, max_length=MAX_MERGE_CUSTOMERS)] = Field(
        description="The customers merged into the target (soft-deleted by the merge)."
    )
    keep: Keep | None = Field(
        default=None,
        description="Per field, the customer whose value the result keeps (the target or one "
        "of `customer_ids`); `default_shipping_address_id` / `default_billing_address_id`: "
        "the address that becomes that default.",
    )


class MergeResponse(MergeReport):
    """The merged customer (with its addresses and groups unless ``fields`` says otherwise)
    and what the merge did (or, from the preview, would do)."""

    customer: CustomerOut
