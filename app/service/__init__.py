"""The customer module's service layer: ``CustomerModuleService`` and its parts."""

from app.service.module import CustomerIndex, CustomerModuleService

__all__ = ["CustomerIndex", "CustomerModuleService"]
