"""The one seam through which domain events leave the app that caused them.

A service publishes an event (``events.services.event_publish``) inside its transaction: the
event row is written with the change (a transactional outbox). Subscribers registered for
the event's name run either inside that transaction (``in_transaction=True``: part of the
write, e.g. folding an interaction into the running summary) or after the commit, relayed
from the outbox (the default: the recompute request, and later webhooks, email, the portal).
The publisher never knows who listens. See docs/architecture.md, "The event seam".
"""
