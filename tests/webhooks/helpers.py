"""What the webhook tests share: the verification snippet of docs/webhooks.md, endpoints."""

import re
from pathlib import Path

from webhooks import services
from webhooks.models import Delivery, Endpoint

DOCS = Path(__file__).resolve().parents[2] / "docs" / "webhooks.md"


def documented_verify():
    """The `verify` function exactly as docs/webhooks.md shows it to receivers."""
    text = DOCS.read_text()
    section = text.split("### Verifying the signature (Python)", 1)[1]
    snippet = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    namespace: dict = {}
    exec(compile(snippet, str(DOCS), "exec"), namespace)
    return namespace["verify"]


def endpoint_for(receiver, *events: str) -> Endpoint:
    return services.endpoint_create(url=receiver.url, events=list(events) or ["customer.created"])


def send_pending() -> list[str]:
    """What the tasks would do, in this process: send every claimed pending delivery."""
    return [
        services.delivery_send(delivery_id=pk, claim=claim)
        for pk, claim in Delivery.objects.filter(status="pending").values_list("pk", "claim")
    ]
