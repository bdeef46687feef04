"""Writes on customers. Views, the API, tasks and commands call these; nothing else writes."""

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from simple_history.utils import bulk_create_with_history, bulk_update_with_history

from events.names import EventName
from events.services import event_publish

from .models import ChannelConsent, Customer, CustomerEmail, CustomerFact, email_normalise

# Fields a customer manager (or admin) may set through the profile form and the API: the one
# list the API's serializers, the profile form and the admin derive theirs from.
EDITABLE_FIELDS = (
    "kind",
    "name",
    "email",
    "phone",
    "external_ref",
    "status",
    "acquired_on",
    "acquisition_source",
    "referred_by",
    "preferred_channel",
    "wallet_annual",
    "wallet_source",
)
# Those of them that name another record (unique across portfolios, or a customer elsewhere):
# set in the API and the admin, where they are checked against what the caller may see.
REFERENCE_FIELDS = ("external_ref", "referred_by")


# Profile fields that feed the figures (share of customer, growth potential, tenure), and the
# owner, which the figures row copies for the portfolio's reads.
FIGURE_INPUTS = {"wallet_annual", "acquired_on", "owner"}


WALLET_NEEDS_SOURCE = "Say where the wallet figure comes from."


def customer_wallet_check(*, wallet_annual, wallet_source: str) -> None:
    """A wallet figure says where it comes from (stated, estimated...). Forms that show the
    error before saving (the Django admin) call this; the services always do."""
    if wallet_annual is not None and not wallet_source:
        raise ValidationError({"wallet_source": WALLET_NEEDS_SOURCE})


def _profile_clean(customer: Customer, *, wallet_changed: bool) -> None:
    """Validate the profile (the model's validators) and the profile rules, all errors at once.

    A wallet figure always says where it comes from (stated, estimated...): checked when the
    wallet or its source is set, so older rows without a source can still be edited otherwise.
    """
    errors: dict[str, list] = {}
    try:
        customer.full_clean()
    except ValidationError as error:
        errors = dict(error.error_dict)
    if wallet_changed:
        try:
            customer_wallet_check(
                wallet_annual=customer.wallet_annual, wallet_source=customer.wallet_source
            )
        except ValidationError as error:
            for field, field_errors in error.error_dict.items():
                errors.setdefault(field, []).extend(field_errors)
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def customer_create(*, name: str, owner=None, **fields) -> Customer:
    unknown = set(fields) - set(EDITABLE_FIELDS)
    if unknown:
        raise TypeError(f"customer_create() got unknown fields: {sorted(unknown)}")
    customer = Customer(name=name, owner=owner, **fields)
    _profile_clean(customer, wallet_changed=True)
    customer.save()
    event_publish(EventName.CUSTOMER_CREATED, customer_id=customer.pk)
    return customer


@transaction.atomic
def customer_update(*, customer: Customer, data: dict) -> Customer:
    unknown = set(data) - set(EDITABLE_FIELDS) - {"owner"}
    if unknown:
        raise TypeError(f"customer_update() got unknown fields: {sorted(unknown)}")
    wallet = ("wallet_annual", "wallet_source")
    before = Customer.objects.filter(pk=customer.pk).values(*{*data, *wallet}).first() or {}
    for field, value in data.items():
        setattr(customer, field, value)
    _profile_clean(
        customer, wallet_changed=any(before.get(f) != getattr(customer, f) for f in wallet)
    )
    customer.save()
    changed = [
        field for field in data if _stored(before.get(field)) != _stored(getattr(customer, field))
    ]
    if changed:
        event_publish(
            EventName.CUSTOMER_CHANGED, customer_id=customer.pk, payload={"changed": changed}
        )
    return customer


# --- Addresses and triage --------------------------------------------------------------------


@transaction.atomic
def customer_email_add(*, customer: Customer, address: str) -> CustomerEmail | None:
    """Record another address the customer writes from; None when it is already theirs (the
    main address, or one recorded before)."""
    address = email_normalise(address)
    CustomerEmail(customer=customer, address=address).full_clean(
        exclude=["customer"], validate_unique=False, validate_constraints=False
    )
    if email_normalise(customer.email) == address:
        return None
    created, is_new = CustomerEmail.objects.get_or_create(customer=customer, address=address)
    if is_new:
        event_publish(
            EventName.CUSTOMER_CHANGED, customer_id=customer.pk, payload={"changed": ["emails"]}
        )
    return created if is_new else None


def customer_email_remove(*, customer: Customer, address: str) -> bool:
    deleted, _ = CustomerEmail.objects.filter(
        customer=customer, address=email_normalise(address)
    ).delete()
    return bool(deleted)


@transaction.atomic
def customer_prospect_create(*, name: str, email: str, source: str) -> Customer:
    """Someone we do not know wrote to us (a message, a web form): a new prospect with no
    owner, flagged for triage, never merged into anyone silently."""
    customer = customer_create(
        name=(name.strip() or email)[:200],
        email=email_normalise(email),
        status="prospect",
        acquisition_source=source[:100],
    )
    Customer.objects.filter(pk=customer.pk).update(needs_triage=True)
    customer.needs_triage = True
    return customer


@transaction.atomic
def customer_triage_clear(*, customer: Customer) -> bool:
    """Support has looked at a flagged customer; returns whether it was flagged."""
    cleared = Customer.objects.filter(pk=customer.pk, needs_triage=True).update(needs_triage=False)
    customer.needs_triage = False
    return bool(cleared)


# --- Bulk writes (imports) -------------------------------------------------------------------
#
# The imports validate every row themselves (the model's validators, `full_clean` less what
# needs a query per row: dataio.imports.field_error), build unsaved or loaded Customer
# instances and hand them here in batches. These services do not validate again (a
# `full_clean` per row would cost more than the insert); they enforce what is cheap: only the
# fields a customer manager may set are written, created customers are new, updated ones exist.
# They publish no per-customer event: the import rebuilds the figures in one pass afterwards.


def customers_bulk_create(
    *, customers: list[Customer], with_history: bool, batch_size: int | None = None
) -> list[Customer]:
    """Insert new customers, already validated by the caller (`full_clean`), in bulk: one
    INSERT per `batch_size` rows (and, `with_history`, one for their history records). The
    same instances come back with their keys."""
    if any(customer.pk is not None for customer in customers):
        raise ValueError("customers_bulk_create() writes new customers only.")
    if with_history:
        return bulk_create_with_history(customers, Customer, batch_size=batch_size)
    return Customer.objects.bulk_create(customers, batch_size=batch_size)


def customers_bulk_update(
    *, customers: list[Customer], fields: list[str], batch_size: int | None = None
) -> None:
    """Write `fields` of existing customers, already validated by the caller (`full_clean`),
    in bulk with their history records: one UPDATE per `batch_size` rows and one INSERT of
    history. Only the profile fields (EDITABLE_FIELDS) and the owner can be written so."""
    unknown = set(fields) - set(EDITABLE_FIELDS) - {"owner"}
    if unknown:
        raise TypeError(f"customers_bulk_update() got unknown fields: {sorted(unknown)}")
    if any(customer.pk is None for customer in customers):
        raise ValueError("customers_bulk_update() writes saved customers only.")
    bulk_update_with_history(customers, Customer, fields=fields, batch_size=batch_size)


def _stored(value):
    """A field's value as stored: a related row by its key (values() gives ids)."""
    return getattr(value, "pk", value)


# What erased text reads as, wherever personal data was (customers, interactions).
ERASED = "[erased]"


def customer_personal_data_erase(*, customer_id: int, by) -> Customer:
    """Erase what the customers' tables hold of a person (SPEC §7), in the erasure's
    transaction (customers.handlers, on `customer.erased`): identity, contact details, what
    they told us, their consents, and all of it in the audit history."""
    customer = Customer.objects.select_for_update().get(pk=customer_id)
    # Deleting a consent writes a history record of it: delete first, then the history.
    ChannelConsent.objects.filter(customer_id=customer_id).delete()
    Customer.history.filter(id=customer_id).delete()
    CustomerFact.history.filter(customer_id=customer_id).delete()
    ChannelConsent.history.filter(customer_id=customer_id).delete()
    CustomerFact.objects.filter(customer_id=customer_id).update(value=ERASED)
    CustomerEmail.objects.filter(customer_id=customer_id).delete()
    customer.name = f"Erased customer {customer_id}"
    customer.email = ""
    customer.phone = ""
    customer.external_ref = None
    customer.acquisition_source = ""
    customer.referred_by = None
    customer.preference_link_version = None  # withdraws every preference-centre link for good
    customer._change_reason = "Personal data erased on request"  # type: ignore[attr-defined]  # read by simple_history
    customer._history_user = by  # type: ignore[attr-defined]  # read by simple_history
    customer.save()
    return customer


# --- Batches (POST /api/customers/batch/) -----------------------------------------------------

BATCH_MAX_ITEMS = 1000
EXTERNAL_REF_NOT_YOURS = "External references are set by admins and imports."
EXTERNAL_REF_TWICE = "This external reference is already an earlier item of the batch."
OWNER_ADMINS_ONLY = "Only admins reassign customers."
NO_SUCH_USER = "No such active user."
NO_SUCH_CUSTOMER = "No such customer."
NOT_COMMITTED = "Not committed: another item of this all-or-nothing batch was refused."


@dataclass
class CustomerBatchResult:
    id: int | None = None
    created: bool = False
    errors: dict[str, list[str]] | None = None


@transaction.atomic
def customers_batch_upsert(
    *,
    items: list[dict],
    editable,
    visible,
    may_create: bool,
    may_set_owner: bool,
    owner=None,
    atomic: bool = False,
) -> list[CustomerBatchResult]:
    """Create or update customers by `external_ref`, a few statements for the whole batch.

    `items` in input order: each the validated fields of one customer (`external_ref` always
    set, `owner` and `referred_by` as ids), or {"errors": ...} for an input already refused.
    A known reference among `editable` (customers_editable_by) updates the given fields;
    an unknown one creates the customer when `may_create` (admins), owned by `owner` unless
    the item names one (`may_set_owner`). For anyone else a reference they cannot edit,
    elsewhere or nowhere, gets one refusal, so nothing is learned of other portfolios.
    `referred_by` is looked up among `visible`. Valid items are written, refused ones are
    not; with `atomic`, one refused item writes nothing.

    The same rules as customer_create / customer_update (the model's validators, the wallet
    rule), checked in Python; then one INSERT (with history), one UPDATE (with history) and
    one `customers.batch_written` event for the batch.
    """
    results = [CustomerBatchResult() for _ in items]
    refs = [item["external_ref"] for item in items if "errors" not in item]
    known = {c.external_ref: c for c in editable.select_for_update().filter(external_ref__in=refs)}
    referred_ids = {item["referred_by"] for item in items if item.get("referred_by") is not None}
    referred = visible.in_bulk(referred_ids) if referred_ids else {}
    owner_ids = {item["owner"] for item in items if item.get("owner") is not None}
    User = Customer._meta.get_field("owner").related_model
    owners = User.objects.filter(is_active=True).in_bulk(owner_ids) if owner_ids else {}
    creates: list[tuple[int, Customer]] = []
    updates: list[tuple[int, Customer, list[str]]] = []
    seen: set[str] = set()
    for index, item in enumerate(items):
        if "errors" in item:
            results[index].errors = item["errors"]
            continue
        errors: dict[str, list[str]] = {}
        data = dict(item)
        ref = data["external_ref"]
        if ref in seen:
            errors["external_ref"] = [EXTERNAL_REF_TWICE]
        customer = known.get(ref)
        if customer is None and not may_create:
            errors["external_ref"] = [EXTERNAL_REF_NOT_YOURS]
        if "owner" in data:
            if not may_set_owner:
                errors["owner"] = [OWNER_ADMINS_ONLY]
            elif data["owner"] is not None:
                data["owner"] = owners.get(data["owner"])
                if data["owner"] is None:
                    errors["owner"] = [NO_SUCH_USER]
        if data.get("referred_by") is not None:
            data["referred_by"] = referred.get(data["referred_by"])
            if data["referred_by"] is None:
                errors["referred_by"] = [NO_SUCH_CUSTOMER]
        if errors:
            results[index].errors = errors
            continue
        seen.add(ref)
        if customer is None:
            customer = Customer(owner=data.pop("owner", owner), **data)
            wallet_changed = True
            changed = []
        else:
            before = {name: _stored(getattr(customer, name)) for name in data}
            wallet = (customer.wallet_annual, customer.wallet_source)
            for name, value in data.items():
                setattr(customer, name, value)
            wallet_changed = wallet != (customer.wallet_annual, customer.wallet_source)
            changed = [name for name in data if before[name] != _stored(getattr(customer, name))]
        try:
            _batch_clean(customer, wallet_changed=wallet_changed)
        except ValidationError as error:
            results[index].errors = error.message_dict
            if customer.pk is not None:  # leave the loaded row as it was for the others
                customer.refresh_from_db()
            continue
        if customer.pk is None:
            creates.append((index, customer))
        else:
            updates.append((index, customer, changed))
    if atomic and any(result.errors for result in results):
        return _batch_not_committed(results)
    created = customers_bulk_create(customers=[c for _, c in creates], with_history=True)
    for (index, _), customer in zip(creates, created, strict=True):
        results[index] = CustomerBatchResult(id=customer.pk, created=True)
    fields = sorted({name for _, _, changed in updates for name in changed})
    if fields:
        customers_bulk_update(customers=[c for _, c, changed in updates if changed], fields=fields)
    for index, customer, _ in updates:
        results[index] = CustomerBatchResult(id=customer.pk)
    changes = {str(c.pk): changed for _, c, changed in updates if changed}
    if created or changes:
        event_publish(
            EventName.CUSTOMERS_BATCH_WRITTEN,
            payload={
                "created_ids": [customer.pk for customer in created],
                "changed": changes,
                "customer_ids": sorted({c.pk for c in created} | {int(pk) for pk in changes}),
            },
        )
    return results


def _batch_clean(customer: Customer, *, wallet_changed: bool) -> None:
    """_profile_clean without its queries: the references were looked up for the batch, and
    `external_ref`, the one unique field, was checked against the database and the batch."""
    errors: dict[str, list] = {}
    try:
        customer.full_clean(
            exclude=["owner", "referred_by"], validate_unique=False, validate_constraints=False
        )
    except ValidationError as error:
        errors = dict(error.error_dict)
    if wallet_changed:
        try:
            customer_wallet_check(
                wallet_annual=customer.wallet_annual, wallet_source=customer.wallet_source
            )
        except ValidationError as error:
            for name, field_errors in error.error_dict.items():
                errors.setdefault(name, []).extend(field_errors)
    if errors:
        raise ValidationError(errors)


def _batch_not_committed(results: list[CustomerBatchResult]) -> list[CustomerBatchResult]:
    return [
        CustomerBatchResult(errors=result.errors or {"non_field_errors": [NOT_COMMITTED]})
        for result in results
    ]
