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


IDEMPOTENCY_PARAMETER = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "schema": {"type": "string", "minLength": 1, "maxLength": 255},
    "description": (
        "Any unique text (a UUID) per request, kept 24 hours per user: the same key again with "
        "the same request answers the first answer (header `Idempotent-Replayed: true`) and "
        "writes nothing; with another request, 409. A second request while the first still "
        "runs waits for it (then replays), or answers 409 after 30 s."
    ),
}
IDEMPOTENCY_CONFLICT = {
    "description": "The Idempotency-Key was used for another request, or is still in use.",
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "properties": {"Idempotency-Key": {"type": "array", "items": {"type": "string"}}},
            }
        }
    },
}
# POSTs that no signed-in user sends (the token exchange, the mail endpoint's own token).
NOT_IDEMPOTENT = ("/api/auth/token/", "/api/mail/inbound/")


def idempotency_key_documented(result, generator, request, public):
    """Every authenticated POST of the API takes an Idempotency-Key (idempotency.middleware)."""
    for path, operations in result.get("paths", {}).items():
        post = operations.get("post")
        if post is None or path in NOT_IDEMPOTENT:
            continue
        post.setdefault("parameters", []).append(IDEMPOTENCY_PARAMETER)
        post.setdefault("responses", {}).setdefault("409", IDEMPOTENCY_CONFLICT)
    return result
