"""Writes on customers. Views, the API, tasks and commands call these; nothing else writes."""

from collections.abc import Iterable
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from simple_history.utils import bulk_create_with_history, bulk_update_with_history

from accounts.roles import Role, role_of
from events.names import EventName
from events.services import event_publish

from .duplicates import KEY_FIELDS, customer_keys_fill, duplicate_pairs_find, email_key
from .models import (
    ChannelConsent,
    Customer,
    CustomerEmail,
    CustomerFact,
    CustomerMerge,
    DuplicatePair,
    email_normalise,
)

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


# Profile fields that feed the figures (share of customer, growth potential, tenure, the peers
# of an inferred wallet), and the owner, which the figures row copies for the portfolio's reads.
FIGURE_INPUTS = {"wallet_annual", "acquired_on", "owner", "kind"}


WALLET_NEEDS_SOURCE = "Say where the wallet figure comes from."


def customer_wallet_check(*, wallet_annual, wallet_source: str) -> None:
    """A wallet figure says where it comes from (stated, estimated...). Forms that show the
    error before saving (the Django admin) call this; the services always do."""
    if wallet_annual is not None and not wallet_source:
        raise ValidationError({"wallet_source": WALLET_NEEDS_SOURCE})


def _profile_clean(
    customer: Customer, *, wallet_changed: bool, other_emails: Iterable[str] | None = None
) -> None:
    """Validate the profile (the model's validators) and the profile rules, all errors at once.

    A wallet figure always says where it comes from (stated, estimated...): checked when the
    wallet or its source is set, so older rows without a source can still be edited otherwise.
    Other addresses, when given, are checked with the rest.
    """
    errors: dict[str, list] = {}
    try:
        customer.full_clean()
    except ValidationError as error:
        errors = dict(error.error_dict)
    if other_emails is not None:
        try:
            customer_other_emails_clean(addresses=other_emails, main=customer.email)
        except ValidationError as error:
            errors.update(error.error_dict)
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
def customer_create(
    *, name: str, owner=None, other_emails: Iterable[str] | None = None, **fields
) -> Customer:
    unknown = set(fields) - set(EDITABLE_FIELDS)
    if unknown:
        raise TypeError(f"customer_create() got unknown fields: {sorted(unknown)}")
    if other_emails is not None:
        other_emails = list(other_emails)
    customer = Customer(name=name, owner=owner, **fields)
    _profile_clean(customer, wallet_changed=True, other_emails=other_emails)
    customer_keys_fill(customer)
    customer.save()
    event_publish(EventName.CUSTOMER_CREATED, customer_id=customer.pk)
    if other_emails is not None:
        customer_other_emails_set(customer=customer, addresses=other_emails)
    return customer


@transaction.atomic
def customer_update(
    *, customer: Customer, data: dict, other_emails: Iterable[str] | None = None
) -> Customer:
    """Change the profile fields in `data`; with `other_emails`, make those the customer's
    other addresses (customer_other_emails_set)."""
    unknown = set(data) - set(EDITABLE_FIELDS) - {"owner"}
    if unknown:
        raise TypeError(f"customer_update() got unknown fields: {sorted(unknown)}")
    wallet = ("wallet_annual", "wallet_source")
    before = Customer.objects.filter(pk=customer.pk).values(*{*data, *wallet}).first() or {}
    for field, value in data.items():
        setattr(customer, field, value)
    if other_emails is not None:
        other_emails = list(other_emails)
    _profile_clean(
        customer,
        wallet_changed=any(before.get(f) != getattr(customer, f) for f in wallet),
        other_emails=other_emails,
    )
    customer_keys_fill(customer)
    customer.save()
    if other_emails is not None:
        customer_other_emails_set(customer=customer, addresses=other_emails)
    changed = [
        field for field in data if _stored(before.get(field)) != _stored(getattr(customer, field))
    ]
    if changed:
        event_publish(
            EventName.CUSTOMER_CHANGED, customer_id=customer.pk, payload={"changed": changed}
        )
    return customer


NO_SUCH_CUSTOMERS = "No such customer: {ids}."
OWNER_NOT_A_MANAGER = "Portfolios belong to active customer managers (or admins)."


def customer_owner_check(*, owner) -> None:
    """A portfolio's owner is an active customer manager or admin (None: unassigned)."""
    if owner is None:
        return
    if not owner.is_active or role_of(owner) not in (Role.MANAGER, Role.ADMIN):
        raise ValidationError({"owner": OWNER_NOT_A_MANAGER})


@transaction.atomic
def customers_reassign(*, customer_ids, owner) -> list[int]:
    """Hand these customers to ``owner`` (None: unassigned), in a few statements whatever
    their number: the customers locked and read, one UPDATE, one INSERT of their history, one
    ``customer.changed`` event naming them all (``customer_ids``, ``changed: ["owner"]``), so
    the copies of the owner (valuation's figures row, workspace's agenda) follow in the same
    transaction, one statement each. Returns the ids that changed hands."""
    customer_owner_check(owner=owner)
    wanted = sorted(set(customer_ids))
    customers = list(Customer.objects.select_for_update().filter(pk__in=wanted).order_by("pk"))
    missing = sorted(set(wanted) - {customer.pk for customer in customers})
    if missing:
        raise ValidationError(
            {"customers": NO_SUCH_CUSTOMERS.format(ids=", ".join(map(str, missing)))}
        )
    owner_id = getattr(owner, "pk", None)
    moving = [customer for customer in customers if customer.owner_id != owner_id]
    for customer in moving:
        customer.owner = owner
    if not moving:
        return []
    bulk_update_with_history(moving, Customer, fields=["owner"])
    moved = [customer.pk for customer in moving]
    event_publish(
        EventName.CUSTOMER_CHANGED,
        payload={"customer_ids": moved, "changed": ["owner"], "owner_id": owner_id},
    )
    return moved


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
    created, is_new = CustomerEmail.objects.get_or_create(
        customer=customer, address=address, defaults={"address_key": email_key(address)}
    )
    if is_new:
        event_publish(
            EventName.CUSTOMER_CHANGED, customer_id=customer.pk, payload={"changed": ["emails"]}
        )
    return created if is_new else None


@transaction.atomic
def customer_email_remove(*, customer: Customer, address: str) -> bool:
    deleted, _ = CustomerEmail.objects.filter(
        customer=customer, address=email_normalise(address)
    ).delete()
    if deleted:
        event_publish(
            EventName.CUSTOMER_CHANGED, customer_id=customer.pk, payload={"changed": ["emails"]}
        )
    return bool(deleted)


OTHER_EMAILS_MAX = 20


def customer_other_emails_clean(*, addresses: Iterable[str], main: str) -> list[str]:
    """The addresses normalised, each once, the main address left out; errors named by their
    place in the list (`other_emails[1]`), all at once."""
    wanted: list[str] = []
    errors: dict[str, list] = {}
    for index, raw in enumerate(addresses):
        address = email_normalise(str(raw))
        try:
            CustomerEmail(address=address).full_clean(
                exclude=["customer"], validate_unique=False, validate_constraints=False
            )
        except ValidationError as error:
            errors[f"other_emails[{index}]"] = error.message_dict.get("address", error.messages)
            continue
        if address != email_normalise(main) and address not in wanted:
            wanted.append(address)
    if len(wanted) > OTHER_EMAILS_MAX:
        errors["other_emails"] = [f"At most {OTHER_EMAILS_MAX} other addresses."]
    if errors:
        raise ValidationError(errors)
    return wanted


@transaction.atomic
def customer_other_emails_set(*, customer: Customer, addresses: Iterable[str]) -> list[str]:
    """Make the customer's other addresses exactly these (customer_other_emails_clean); one
    customer.changed event when anything changed. Returns the addresses kept."""
    wanted = customer_other_emails_clean(addresses=addresses, main=customer.email)
    current = set(customer.other_emails.values_list("address", flat=True))
    gone = current - set(wanted)
    new = [address for address in wanted if address not in current]
    if gone:
        CustomerEmail.objects.filter(customer=customer, address__in=gone).delete()
    CustomerEmail.objects.bulk_create(
        [
            CustomerEmail(customer=customer, address=address, address_key=email_key(address))
            for address in new
        ]
    )
    if gone or new:
        event_publish(
            EventName.CUSTOMER_CHANGED, customer_id=customer.pk, payload={"changed": ["emails"]}
        )
    return wanted


@transaction.atomic
def customer_prospect_create(*, name: str, email: str, source: str, phone: str = "") -> Customer:
    """Someone we do not know wrote to us (a message, a web form): a new prospect with no
    owner, flagged for triage, never merged into anyone silently. A phone number they gave
    (a web form asks for one) is kept on the profile."""
    customer = customer_create(
        name=(name.strip() or email)[:200],
        email=email_normalise(email),
        phone=phone.strip()[:40],
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
    for customer in customers:
        customer_keys_fill(customer)
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
    if {"name", "email", "phone"} & set(fields):
        for customer in customers:
            customer_keys_fill(customer)
        fields = [*fields, *KEY_FIELDS]
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
    customer_keys_fill(customer)
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
    User = get_user_model()
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


# --- Duplicates and merging (customers.duplicates; docs/dataio.md "Duplicates") -------------


@transaction.atomic
def customer_duplicates_report() -> int:
    """Rewrite the admins' duplicate report (customers.tasks, celery beat): every scored
    pair, found by set-based SQL (customers.duplicates.duplicate_pairs_find). Returns how many."""
    from django.utils import timezone

    pairs = duplicate_pairs_find()
    now = timezone.now()
    DuplicatePair.objects.all().delete()
    DuplicatePair.objects.bulk_create(
        [
            DuplicatePair(first_id=a, second_id=b, score=score, reasons=reasons, found_at=now)
            for a, b, score, reasons in pairs
        ],
        batch_size=1000,
    )
    return len(pairs)


MERGE_ITSELF = "A customer cannot be merged into itself."
MERGE_ACROSS_PORTFOLIOS = (
    "These customers are in different portfolios: only an admin merges across portfolios."
)
MERGE_FACT_CHOICES = ("survivor", "duplicate")
# Profile fields a survivor takes from its duplicate when it has none itself.
MERGE_FILLED_FIELDS = (
    "email",
    "phone",
    "acquisition_source",
    "preferred_channel",
    "referred_by",
)


def _blank(value) -> bool:
    return value in (None, "")


def _merge_profile(survivor: Customer, duplicate: Customer) -> list[dict]:
    """Fill the survivor's blanks from the duplicate; what both hold and differs is a
    conflict, the survivor's value kept (the duplicate's stays in the merge record)."""
    conflicts = []
    for name in (*MERGE_FILLED_FIELDS, "kind", "status", "wallet_annual"):
        mine, theirs = getattr(survivor, name), getattr(duplicate, name)
        if name == "referred_by":
            mine, theirs = survivor.referred_by_id, duplicate.referred_by_id
            if theirs == survivor.pk:
                theirs = None
        if _blank(theirs) or mine == theirs:
            continue
        if _blank(mine):
            setattr(survivor, f"{name}_id" if name == "referred_by" else name, theirs)
        else:
            conflicts.append({"field": name, "kept": str(mine), "other": str(theirs)})
    if survivor.wallet_annual is None and duplicate.wallet_annual is not None:
        survivor.wallet_annual = duplicate.wallet_annual
        survivor.wallet_source = duplicate.wallet_source
    if duplicate.acquired_on and (
        survivor.acquired_on is None or duplicate.acquired_on < survivor.acquired_on
    ):
        survivor.acquired_on = duplicate.acquired_on  # the customer since the earlier date
    return conflicts


def _merge_facts(survivor: Customer, duplicate: Customer, choices: dict[str, str]) -> dict:
    """Both customers' facts are kept with their provenance; where both hold a current value
    of a key, the one chosen (`choices[key]`: "survivor" or "duplicate") or else the more
    recent stays current, the other becomes history."""
    current = {
        (fact.customer_id, fact.key.key): fact
        for fact in CustomerFact.objects.filter(
            customer_id__in=[survivor.pk, duplicate.pk], is_current=True
        ).select_related("key")
    }
    retired = []
    for (owner_id, key), fact in current.items():
        if owner_id != duplicate.pk or (survivor.pk, key) not in current:
            continue
        theirs, mine = fact, current[(survivor.pk, key)]
        choice = choices.get(key)
        if choice is None:
            choice = (
                "duplicate"
                if (theirs.recorded_at, theirs.pk) > (mine.recorded_at, mine.pk)
                else "survivor"
            )
        retired.append(mine.pk if choice == "duplicate" else theirs.pk)
    CustomerFact.objects.filter(pk__in=retired).update(is_current=False)
    moved = CustomerFact.objects.filter(customer=duplicate).update(customer=survivor)
    return {"moved": moved, "made_history": len(retired)}


def _merge_consents(survivor: Customer, duplicate: Customer) -> dict:
    """One consent per channel: the stricter wins (a refusal on either side stays a
    refusal); a channel only the duplicate answered moves."""
    mine = {c.channel: c for c in ChannelConsent.objects.filter(customer=survivor)}
    merged = 0
    for consent in ChannelConsent.objects.filter(customer=duplicate):
        kept = mine.get(consent.channel)
        if kept is None:
            continue
        if kept.granted and not consent.granted:
            kept.granted = False
            kept.how = f"{consent.how} (kept from merged customer {duplicate.pk})"[:120]
            kept.save()
        consent.delete()
        merged += 1
    moved = ChannelConsent.objects.filter(customer=duplicate).update(customer=survivor)
    return {"moved": moved, "merged": merged}


def _merge_emails(survivor: Customer, duplicate: Customer) -> dict:
    """The duplicate's addresses (its main one too) become the survivor's other addresses,
    each once."""
    have = {email_normalise(survivor.email)} | set(
        survivor.other_emails.values_list("address", flat=True)
    )
    same = CustomerEmail.objects.filter(customer=duplicate, address__in=have)
    merged = same.count()
    same.delete()
    moved = CustomerEmail.objects.filter(customer=duplicate).update(customer=survivor)
    main = email_normalise(duplicate.email)
    added = 0
    if main and main not in have and survivor.email:
        CustomerEmail.objects.create(customer=survivor, address=main, address_key=email_key(main))
        added = 1
    return {"moved": moved, "merged": merged, "added_main_address": added}


def customer_merge_related_models() -> list:
    """Every relation that points at a customer (Django's introspection): each must be
    handled by a merge, here or in the owning app's `customer.merged` subscriber."""
    return [rel for rel in Customer._meta.related_objects if not rel.many_to_many]


def _label(rel) -> str:
    return f"{rel.related_model._meta.label}.{rel.field.name}"


@transaction.atomic
def customer_merge(
    *, survivor_id: int, duplicate_id: int, by, fact_choices: dict[str, str] | None = None
) -> CustomerMerge:
    """Merge the duplicate into the survivor, in one transaction with both rows locked:
    everything that points at the duplicate moves (customers' own rows here, every other
    app's in its `customer.merged` subscriber), derived rows are recomputed; then the
    duplicate row goes, its id and external reference recorded (CustomerMerge: the redirect
    and the alias). Refuses when any related row would be lost. The caller checks that `by`
    may edit both; across portfolios only an admin merges."""
    if survivor_id == duplicate_id:
        raise ValidationError({"duplicate": MERGE_ITSELF})
    locked = Customer.objects.select_for_update().filter(pk__in=[survivor_id, duplicate_id])
    customers = {c.pk: c for c in locked.order_by("pk")}
    if survivor_id not in customers or duplicate_id not in customers:
        raise ValidationError({"duplicate": NO_SUCH_CUSTOMER})
    survivor, duplicate = customers[survivor_id], customers[duplicate_id]
    if survivor.owner_id != duplicate.owner_id and role_of(by) != Role.ADMIN:
        raise ValidationError({"duplicate": MERGE_ACROSS_PORTFOLIOS})
    choices = dict(fact_choices or {})
    bad = {k: v for k, v in choices.items() if v not in MERGE_FACT_CHOICES}
    if bad:
        raise ValidationError({f"facts.{key}": "Choose survivor or duplicate." for key in bad})
    profile = {
        f.attname: _stored_json(getattr(duplicate, f.attname))
        for f in Customer._meta.concrete_fields
    }
    moved: dict[str, dict] = {}
    conflicts = _merge_profile(survivor, duplicate)
    moved["customers.CustomerFact.customer"] = _merge_facts(survivor, duplicate, choices)
    moved["customers.ChannelConsent.customer"] = _merge_consents(survivor, duplicate)
    moved["customers.CustomerEmail.customer"] = _merge_emails(survivor, duplicate)
    moved["customers.Customer.referred_by"] = {
        "moved": Customer.objects.filter(referred_by=duplicate)
        .exclude(pk=survivor.pk)
        .update(referred_by=survivor)
    }
    Customer.objects.filter(pk=survivor.pk, referred_by=duplicate).update(referred_by=None)
    moved["customers.CustomerMerge.survivor"] = {
        "moved": CustomerMerge.objects.filter(survivor=duplicate).update(survivor=survivor)
    }
    for name in ("first", "second"):
        dropped, _ = DuplicatePair.objects.filter(**{name: duplicate}).delete()
        moved[f"customers.DuplicatePair.{name}"] = {"dropped": dropped, "why": "re-reported"}
    event_publish(
        EventName.CUSTOMER_MERGED,
        customer_id=survivor.pk,
        payload={"duplicate_id": duplicate.pk},
        subject={"moved": moved, "survivor": survivor, "duplicate": duplicate},
    )
    _merge_check_nothing_left(duplicate, moved)
    ref = duplicate.external_ref
    record = CustomerMerge.objects.create(
        survivor=survivor,
        duplicate_id=duplicate.pk,
        duplicate_name=duplicate.name,
        duplicate_external_ref=ref,
        duplicate_profile=profile,
        merged_by=by,
        moved=moved,
        conflicts=conflicts,
    )
    duplicate._change_reason = f"Merged into customer {survivor.pk}"  # type: ignore[attr-defined]  # read by simple_history
    duplicate._history_user = by  # type: ignore[attr-defined]  # read by simple_history
    duplicate.delete()
    if survivor.external_ref is None and ref:
        survivor.external_ref = ref
    survivor.refresh_from_db(fields=["referred_by"])
    survivor._change_reason = f"Merged customer {duplicate_id} in"  # type: ignore[attr-defined]  # read by simple_history
    survivor._history_user = by  # type: ignore[attr-defined]  # read by simple_history
    customer_keys_fill(survivor)
    survivor.save()
    return record


def _stored_json(value):
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


class MergeIncomplete(RuntimeError):
    """A relation to the customer that no merge step handled: the merge is rolled back rather
    than let the database's cascade delete those rows."""


def _merge_check_nothing_left(duplicate: Customer, moved: dict) -> None:
    for rel in customer_merge_related_models():
        label = _label(rel)
        left = rel.related_model._base_manager.filter(**{rel.field.name: duplicate.pk})
        if label not in moved:
            raise MergeIncomplete(f"{label} is not handled by the merge")
        if left.exists():
            raise MergeIncomplete(f"{label}: rows of customer {duplicate.pk} were not moved")
