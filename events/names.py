"""The domain events, one word each. Importable without models; webhooks expose these names."""

from django.db import models


class EventName(models.TextChoices):
    CUSTOMER_CREATED = "customer.created", "Customer created"
    # payload["changed"]: the profile fields that changed; or, many customers handed to
    # another owner at once (customers_reassign): no customer_id, payload customer_ids,
    # changed ["owner"], owner_id.
    CUSTOMER_CHANGED = "customer.changed", "Customer changed"
    # A batch (customers.services.customers_batch_upsert), no customer_id: payload
    # created_ids, changed ({customer id: [fields]}), customer_ids (all of them).
    CUSTOMERS_BATCH_WRITTEN = "customers.batch_written", "Customers written in a batch"
    CUSTOMER_ERASED = "customer.erased", "Customer erased"
    # The customer (customer_id: the survivor) absorbed a duplicate (customers.services.
    # customer_merge): payload duplicate_id; in-transaction subscribers in each app that owns
    # rows of a customer move the duplicate's to the survivor and note what they moved or
    # dropped (derived rows, recomputed) in event.subject["moved"][model label].
    CUSTOMER_MERGED = "customer.merged", "Customers merged"
    # payload: fact_id, key, kind.
    FACT_LEARNED = "fact.learned", "Fact learned"
    # payload: interaction_id, type, channel, direction.
    INTERACTION_LOGGED = "interaction.logged", "Interaction logged"
    # A batch (interactions.services.interactions_batch_log), no customer_id: payload
    # interaction_ids (those written in bulk) and customer_ids (every customer of the batch;
    # items that teach facts publish their own interaction.logged too).
    INTERACTIONS_BATCH_LOGGED = "interactions.batch_logged", "Interactions logged in a batch"
    # payload: interaction_id, changed (first_response_at, resolved_at, satisfaction, assignee).
    INTERACTION_CHANGED = "interaction.changed", "Interaction changed"
    # payload: rating_id, offering_id, rating.
    RATING_RECORDED = "rating.recorded", "Offering rated"
    # A rating no longer counts (its review hidden in the portal): payload offering_id.
    RATING_WITHDRAWN = "rating.withdrawn", "Offering rating withdrawn"
    # payload: interaction_id, offering_id, outcome.
    OFFER_ANSWERED = "offer.answered", "Offer answered"
    # payload: customer_ids (the customers of a recompute pass) and changes: {customer id:
    # {"tier" | "predicted_clv": {before, after}, "at_risk": {before, after, p_alive_before,
    # p_alive_after}}} for those whose tier, at-risk side or CLV moved; or version: None (every
    # customer's figures rebuilt).
    FIGURES_CHANGED = "figures.changed", "Figures changed"
    # payload: offering_id.
    OFFERING_ARCHIVED = "offering.archived", "Offering archived"
    # payload: subscriptions [{subscription_id, next_due}], customer_ids (one per run batch).
    SUBSCRIPTION_DUE = "subscription.due", "Subscription due"
    # payload: subscription_id, status; or subscription_ids, customer_ids (many at once).
    SUBSCRIPTION_CHANGED = "subscription.changed", "Subscription changed"
    # payload: address, reason (a delivery report named it; mail.inbound).
    ADDRESS_BOUNCED = "address.bounced", "Address bounced"
    # payload: job_id, kind, status, rows.
    IMPORT_FINISHED = "import.finished", "Import finished"
