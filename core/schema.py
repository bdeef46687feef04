"""OpenAPI schema post-processing."""

from .money import MONEY_FIELDS

MONEY_NOTE = "Only for roles that may see money figures."


def money_fields_optional(result, generator, request, public):
    """Money fields (core.money) are left out for roles that may not see money (SPEC §2): an
    output component never requires them, and says so."""
    for component in result.get("components", {}).get("schemas", {}).values():
        properties = component.get("properties", {})
        money = {
            name
            for name in MONEY_FIELDS.intersection(properties)
            if properties[name].get("readOnly")
        }
        for name in money:
            properties[name]["description"] = MONEY_NOTE
        required = component.get("required")
        if not required or not money:
            continue
        kept = [name for name in required if name not in money]
        if kept:
            component["required"] = kept
        else:
            del component["required"]
    return result
