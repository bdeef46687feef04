"""OpenAPI schema post-processing."""

from customers.api import MONEY_FIELDS


def money_fields_optional(result, generator, request, public):
    """Money figures are left out for roles that may not see money (SPEC §2): say so."""
    for component in result.get("components", {}).get("schemas", {}).values():
        required = component.get("required")
        if not required:
            continue
        kept = [name for name in required if name not in MONEY_FIELDS]
        if len(kept) != len(required):
            for name in MONEY_FIELDS:
                prop = component.get("properties", {}).get(name)
                if prop is not None:
                    prop["description"] = "Only for roles that may see money figures."
        if kept:
            component["required"] = kept
        else:
            del component["required"]
    return result
