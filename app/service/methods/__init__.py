"""The methods of ``CustomerModuleService``, one module per entity, on a shared base."""
