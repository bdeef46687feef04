"""Reads of customers, scoped to what the asking user may see (SPEC §2)."""

import re
from collections.abc import Iterable

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.db.models.functions import Lower

from accounts.roles import Role, role_of

from .duplicates import customer_duplicates_find, email_key, name_key, phone_key
from .models import Customer, CustomerEmail, email_normalise


def customers_visible_to(user) -> QuerySet[Customer]:
    """Customers whose profile the user may open: managers their own portfolio, others all."""
    role = role_of(user)
    customers = Customer.objects.select_related("owner")
    if role in (Role.ADMIN, Role.SUPPORT):
        return customers
    if role == Role.MANAGER:
        return customers.filter(owner=user)
    return customers.none()


def customers_editable_by(user) -> QuerySet[Customer]:
    role = role_of(user)
    if role == Role.ADMIN:
        return Customer.objects.all()
    if role == Role.MANAGER:
        return Customer.objects.filter(owner=user)
    return Customer.objects.none()


def customers_addresses_addable_by(user) -> QuerySet[Customer]:
    """Customers the user may record another address of: those whose profile they edit, and
    for support staff, who answer the mail, any customer (adding an address is recording what
    the customer told us; removing one, or any other change, stays the manager's)."""
    if role_of(user) == Role.SUPPORT:
        return Customer.objects.all()
    return customers_editable_by(user)


def customers_to_triage(user) -> QuerySet[Customer]:
    """Customers created from a message or a web form by someone we did not know, oldest
    first, among those the user sees (support and admins: all; a manager: their own)."""
    return customers_visible_to(user).filter(needs_triage=True).order_by("created_at", "id")


def customer_search(*, customers: QuerySet[Customer], query: str) -> QuerySet[Customer]:
    query = query.strip()
    if not query:
        return customers
    return customers.filter(
        Q(name__icontains=query) | Q(email__icontains=query) | Q(external_ref__iexact=query)
    )


# A phone number as people type one: digits with spaces, dots, dashes, slashes, brackets, a +.
PHONE_LIKE = re.compile(r"^\+?[\d\s()./-]{6,}$")
# Shorter than this, a name matches too much to help (and trigrams need three letters).
SEARCH_NAME_MIN = 2
# At most this many customers share another address (a household, a shared inbox).
SEARCH_IDS_MAX = 200


def customer_search_everywhere(*, viewer, query: str) -> QuerySet[Customer]:
    """Customers of every portfolio matching `query`, for the global search (SPEC §2: a
    manager searches the whole base by name or e-mail to avoid duplicates). Each clause reads
    an index: the name's key by containment (the GIN trigram index on `name_key`), the
    normalised e-mail (the profile's `email_key` or another address's `address_key`) and
    the normalised phone (`phone_key`) by equality. The external reference is matched among
    the customers `viewer` may open only: managers never see others' references, and a match
    would confirm a record elsewhere (docs/architecture.md "Errors never reveal other
    portfolios"). Annotated `visible`: whether `viewer` may open the full page. No money is
    read here; the caller picks the columns it shows.

    One query runs here, before the caller's: the ids found by another address or by the
    reference (an indexed UNION), read first because PostgreSQL does not combine an
    `IN (subquery)` with the other clauses' indexes and would scan every customer (200,000
    customers: 90 ms scanned, 5 ms with the ids)."""
    query = query.strip()
    if not query:
        return Customer.objects.none()
    matches = Q()
    name = name_key(query)
    if len(name) >= SEARCH_NAME_MIN:
        matches |= Q(name_key__contains=name)
    email = email_key(query)
    phone = phone_key(query) if PHONE_LIKE.match(query) else ""
    if phone:
        matches |= Q(phone_key=phone)
    visible = customers_visible_to(viewer)
    # A reference is at most 100 characters: a longer query is none.
    refs = visible.filter(external_ref=query) if len(query) <= 100 else visible.none()
    by_ref = refs.values_list("pk", flat=True)
    if "@" in email:
        matches |= Q(email_key=email)
        by_ref = by_ref.union(
            CustomerEmail.objects.filter(address_key=email).values_list("customer_id", flat=True)
        )
    found = list(by_ref[:SEARCH_IDS_MAX])
    if found:
        matches |= Q(pk__in=found)
    if not matches:
        return Customer.objects.none()
    return Customer.objects.filter(matches).annotate(
        visible=Exists(visible.filter(pk=OuterRef("pk")))
    )


def customer_portfolio(*, manager, filters: dict | None = None) -> QuerySet[Customer]:
    """The manager's customers by status and search (the figures' filters: workspace)."""
    filters = filters or {}
    customers = Customer.objects.filter(owner=manager)
    if filters.get("status"):
        customers = customers.filter(status=filters["status"])
    return customer_search(customers=customers, query=filters.get("search", ""))


def scoped_to_customers(
    queryset: QuerySet,
    field: str = "customer_id",
    *,
    customer_ids=None,
    id_range: tuple[int, int] | None = None,
) -> QuerySet:
    """Rows of the given customers (ids), or of the customers whose id lies in `id_range`
    (first, last, both included: the nightly recompute's chunks); all rows when neither."""
    if customer_ids is not None:
        queryset = queryset.filter(**{f"{field}__in": customer_ids})
    if id_range is not None:
        first, last = id_range
        queryset = queryset.filter(**{f"{field}__gte": first, f"{field}__lte": last})
    return queryset


def customers_visible_to_all() -> QuerySet[Customer]:
    """The whole base, for duplicate checks that reveal only names and owners."""
    return Customer.objects.all()


def customers_by_email(addresses: Iterable[str]) -> dict[str, list[int]]:
    """The customers each address belongs to (normalised address → customer ids, oldest
    first): the main address or another recorded one. Two indexed queries for any number of
    addresses; an address nobody has is absent."""
    wanted = {email_normalise(address) for address in addresses if address}
    found: dict[str, set[int]] = {}
    if not wanted:
        return {}
    main = (
        Customer.objects.annotate(address=Lower("email"))
        .filter(address__in=wanted)
        .values_list("address", "pk")
    )
    other = CustomerEmail.objects.filter(address__in=wanted).values_list("address", "customer_id")
    for address, customer_id in [*main, *other]:
        found.setdefault(address, set()).add(customer_id)
    return {address: sorted(ids) for address, ids in found.items()}


def customer_emails(customer: Customer) -> list[str]:
    """Every address of the customer, the main one first."""
    others = list(customer.other_emails.values_list("address", flat=True))
    main = [email_normalise(customer.email)] if customer.email else []
    return [*main, *(address for address in others if address not in main)]


# --- Merging (customers.services.customer_merge) ----------------------------------------------


def customer_merged_into(customer_id: int) -> int | None:
    """The customer an old id was merged into (followed through later merges), or None."""
    from .models import CustomerMerge

    seen = set()
    survivor = None
    while customer_id not in seen:
        seen.add(customer_id)
        found = CustomerMerge.objects.filter(duplicate_id=customer_id).values_list(
            "survivor_id", flat=True
        )
        next_id = found.first()
        if next_id is None:
            break
        survivor = customer_id = next_id
    return survivor


def customer_survivor_visible_to(user, customer_id: int) -> int | None:
    """The customer a merged id now is, when the user may see it (the redirect from an old
    id: whoever may not see the survivor gets the 404 of any missing customer)."""
    survivor = customer_merged_into(customer_id)
    if survivor is None or not customers_visible_to(user).filter(pk=survivor).exists():
        return None
    return survivor


def customers_by_external_ref(refs: Iterable[str], customers=None) -> dict[str, Customer]:
    """The customers these external references name, among `customers` (default: all): a
    merged customer's old reference names its survivor (CustomerMerge's alias)."""
    from .models import CustomerMerge

    customers = Customer.objects.all() if customers is None else customers
    refs = set(refs)
    found = {c.external_ref: c for c in customers.filter(external_ref__in=refs)}
    missing = refs - set(found)
    if missing:
        aliases = dict(
            CustomerMerge.objects.filter(duplicate_external_ref__in=missing).values_list(
                "duplicate_external_ref", "survivor_id"
            )
        )
        survivors = customers.in_bulk(set(aliases.values()))
        for ref, survivor_id in aliases.items():
            if survivor_id in survivors:
                found[ref] = survivors[survivor_id]
    return found


def customer_merge_preview(*, survivor: Customer, duplicate: Customer) -> dict:
    """What a merge of `duplicate` into `survivor` would move and what conflicts, nothing
    written: the rows of every table that points at the duplicate (introspection, one count
    each), the profile fields both hold differently and the facts both know differently."""
    from .models import CustomerFact

    moves = []
    for rel in Customer._meta.related_objects:
        if rel.many_to_many:
            continue
        rows = rel.related_model._base_manager.filter(**{rel.field.name: duplicate.pk}).count()
        moves.append(
            {
                "table": f"{rel.related_model._meta.label}.{rel.field.name}",
                "what": str(rel.related_model._meta.verbose_name_plural),
                "rows": rows,
            }
        )
    conflicts = []
    for name in ("email", "phone", "kind", "status", "acquisition_source", "preferred_channel"):
        mine, theirs = getattr(survivor, name), getattr(duplicate, name)
        if mine and theirs and mine != theirs:
            conflicts.append({"field": name, "kept": str(mine), "other": str(theirs)})
    if survivor.owner_id != duplicate.owner_id:
        conflicts.append(
            {
                "field": "owner",
                "kept": str(survivor.owner or "unassigned"),
                "other": str(duplicate.owner or "unassigned"),
            }
        )
    facts = CustomerFact.objects.filter(
        customer_id__in=[survivor.pk, duplicate.pk], is_current=True
    ).select_related("key")
    current: dict[str, dict[int, CustomerFact]] = {}
    for fact in facts:
        current.setdefault(fact.key.key, {})[fact.customer_id] = fact
    fact_conflicts = []
    for key, by_customer in sorted(current.items()):
        mine_fact, theirs_fact = by_customer.get(survivor.pk), by_customer.get(duplicate.pk)
        if mine_fact and theirs_fact and mine_fact.value != theirs_fact.value:
            newer = (
                "duplicate"
                if (
                    (theirs_fact.recorded_at, theirs_fact.pk)
                    > (mine_fact.recorded_at, mine_fact.pk)
                )
                else "survivor"
            )
            fact_conflicts.append(
                {
                    "key": key,
                    "label": mine_fact.key.label,
                    "money": mine_fact.key.money,
                    "survivor": mine_fact.value,
                    "duplicate": theirs_fact.value,
                    "current": newer,
                }
            )
    return {
        "moves": moves,
        "rows": sum(move["rows"] for move in moves),
        "conflicts": conflicts,
        "facts": fact_conflicts,
        "across_portfolios": survivor.owner_id != duplicate.owner_id,
    }


def customer_lookalikes(
    *,
    viewer,
    name: str,
    email: str = "",
    phone: str = "",
    other_emails: Iterable[str] = (),
    exclude_id: int | None = None,
) -> list[dict]:
    """The customers a profile being entered looks like (customers.duplicates), for the
    "this looks like ..." warning on create: searched across every portfolio, since a manager
    checks the whole base before adding someone (SPEC §2), each saying whose portfolio it is
    in and whether `viewer` may open it. Names and owners only: nothing else of another
    portfolio's customer."""
    candidates = customer_duplicates_find(
        name=name,
        email=email or "",
        phone=phone or "",
        other_emails=other_emails,
        exclude_id=exclude_id,
    )
    if not candidates:
        return []
    ids = [candidate.customer_id for candidate in candidates]
    visible = set(customers_visible_to(viewer).filter(pk__in=ids).values_list("pk", flat=True))
    # The owner by name, as people are shown everywhere (the username only without one).
    names = {
        row["pk"]: " ".join(
            part for part in (row["owner__first_name"], row["owner__last_name"]) if part
        )
        or (row["owner__username"] or "")
        for row in Customer.objects.filter(pk__in=ids).values(
            "pk", "owner__first_name", "owner__last_name", "owner__username"
        )
    }
    return [
        {
            "id": candidate.customer_id,
            "name": candidate.name,
            "owner": names.get(candidate.customer_id, ""),
            "score": candidate.score,
            "reasons": candidate.reasons,
            "visible": candidate.customer_id in visible,
        }
        for candidate in candidates
    ]
