"""Duplicate customers: the normalised keys, the candidates of one profile, the report.

The keys are stored on the customer (`email_key`, `phone_key`, `name_key`) and on each other
address (`CustomerEmail.address_key`), written by the services with the profile
(customers.services), so a check reads indexes and never normalises the base per request.

- e-mail: trimmed, lower-cased; at the domains of `PLUS_ADDRESSING_DOMAINS` the `+tag` is
  dropped, and at Gmail's (`DOTLESS_DOMAINS`) the dots of the local part too
  (`Clara.Varga+shop@GoogleMail.com` is `claravarga@gmail.com`).
- phone: E.164 by the `phonenumbers` library, a number without a country code read in
  `settings.PHONE_DEFAULT_REGION`; what it cannot parse keeps its digits only.
- name: lower-cased, accents and punctuation dropped, spaces collapsed. On PostgreSQL names
  are also compared fuzzily (pg_trgm's `similarity`, a GIN trigram index on `name_key`); on
  the embedded SQLite default only equal keys match (docs/dataio.md "Duplicates").
"""

import re
import unicodedata
from dataclasses import dataclass, field

import phonenumbers
from django.conf import settings
from django.db import connection
from django.db.models import Q

from .models import Customer, CustomerEmail, DuplicatePair

# Domains whose mail service delivers `local+tag@domain` to `local@domain`.
PLUS_ADDRESSING_DOMAINS = frozenset(
    {
        "gmail.com",
        "googlemail.com",
        "outlook.com",
        "hotmail.com",
        "live.com",
        "icloud.com",
        "me.com",
        "mac.com",
        "fastmail.com",
        "fastmail.fm",
        "protonmail.com",
        "proton.me",
        "pm.me",
        "yahoo.com",
        "gmx.de",
        "gmx.net",
        "posteo.de",
        "mailbox.org",
    }
)
# Domains that ignore the dots of the local part; googlemail.com is gmail.com.
DOTLESS_DOMAINS = frozenset({"gmail.com", "googlemail.com"})
DOMAIN_ALIASES = {"googlemail.com": "gmail.com"}

# How much each kind of evidence weighs; a pair's score is 1 - Π(1 - weight).
EMAIL_WEIGHT = 0.9
PHONE_WEIGHT = 0.8
NAME_WEIGHT = 0.75  # times the names' similarity (1.0 for equal keys)
# Names at least this similar (pg_trgm similarity) count as evidence.
NAME_SIMILARITY_MIN = 0.55
# Two customers with different e-mails and different phones are namesakes unless the names
# say more: their score is multiplied by this.
CONTRADICTION_FACTOR = 0.5
# Pairs scored below this are not shown.
SCORE_MIN = 0.5
# The report keeps at most this many pairs (the best); each of its joins reads at most
# REPORT_JOIN_LIMIT pairs.
REPORT_MAX_PAIRS = 2000
REPORT_JOIN_LIMIT = 20000


def email_key(address: str) -> str:
    address = (address or "").strip().lower()
    if "@" not in address:
        return address
    local, _, domain = address.rpartition("@")
    domain = DOMAIN_ALIASES.get(domain, domain)
    if domain in PLUS_ADDRESSING_DOMAINS:
        local = local.split("+", 1)[0]
    if domain in DOTLESS_DOMAINS:
        local = local.replace(".", "")
    return f"{local}@{domain}"


def phone_key(phone: str, region: str | None = None) -> str:
    phone = (phone or "").strip()
    if not phone:
        return ""
    try:
        number = phonenumbers.parse(phone, region or settings.PHONE_DEFAULT_REGION)
    except phonenumbers.NumberParseException:
        number = None
    if number is not None and phonenumbers.is_possible_number(number):
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    digits = re.sub(r"\D", "", phone)
    return digits if len(digits) >= 6 else ""


def name_key(name: str) -> str:
    decomposed = unicodedata.normalize("NFKD", name or "")
    plain = "".join(c for c in decomposed if not unicodedata.combining(c)).lower()
    return " ".join(re.sub(r"[^\w]+", " ", plain).split())[:200]


def customer_keys_fill(customer: Customer) -> None:
    """Set the customer's keys from its profile (the services call it before saving)."""
    customer.email_key = email_key(customer.email)[:254]
    customer.phone_key = phone_key(customer.phone)[:40]
    customer.name_key = name_key(customer.name)


KEY_FIELDS = ["email_key", "phone_key", "name_key"]


def fuzzy() -> bool:
    """Whether names are compared by trigrams (PostgreSQL with pg_trgm) or equal keys only."""
    return connection.vendor == "postgresql"


@dataclass
class Candidate:
    """A customer that looks like another one, with the score and why."""

    customer_id: int
    score: float
    reasons: list[str] = field(default_factory=list)
    name: str = ""
    owner: str = ""


def _score(*, email: bool, phone: bool, similarity: float, contradicted: bool) -> float:
    missing = 1.0
    if email:
        missing *= 1 - EMAIL_WEIGHT
    if phone:
        missing *= 1 - PHONE_WEIGHT
    if similarity >= NAME_SIMILARITY_MIN:
        missing *= 1 - NAME_WEIGHT * similarity
    score = 1 - missing
    if contradicted and not (email or phone):
        score *= CONTRADICTION_FACTOR
    return round(score, 2)


def _reasons(*, email: bool, phone: bool, similarity: float, contradicted: bool) -> list[str]:
    reasons = []
    if email:
        reasons.append("same e-mail after normalising")
    if phone:
        reasons.append("same phone number after normalising")
    if similarity >= 1.0:
        reasons.append("same name after normalising")
    elif similarity >= NAME_SIMILARITY_MIN:
        reasons.append(f"name {similarity:.2f} similar")
    if contradicted and not (email or phone):
        reasons.append("but different e-mail and phone")
    return reasons


def _judge(a: dict, b: dict, *, similarity: float, b_emails: set[str]) -> tuple[float, list]:
    a_emails = {a["email_key"], *a.get("emails", ())} - {""}
    same_email = bool(a_emails & b_emails)
    same_phone = bool(a["phone_key"]) and a["phone_key"] == b["phone_key"]
    if a["name_key"] and a["name_key"] == b["name_key"]:
        similarity = 1.0
    contradicted = (
        bool(a_emails)
        and bool(b_emails)
        and not same_email
        and bool(a["phone_key"])
        and bool(b["phone_key"])
        and not same_phone
    )
    kwargs = dict(email=same_email, phone=same_phone, similarity=similarity)
    return _score(**kwargs, contradicted=contradicted), _reasons(
        **kwargs, contradicted=contradicted
    )


def customer_duplicates_find(
    *,
    name: str,
    email: str = "",
    phone: str = "",
    other_emails=(),
    exclude_id: int | None = None,
    limit: int = 5,
) -> list[Candidate]:
    """The customers the given profile looks like, best first (at most `limit`): a few
    indexed queries whatever the size of the base."""
    wanted = {
        "name_key": name_key(name),
        "email_key": email_key(email),
        "phone_key": phone_key(phone),
        "emails": {email_key(address) for address in other_emails} - {""},
    }
    emails = {wanted["email_key"], *wanted["emails"]} - {""}
    match = Q()
    if emails:
        match |= Q(email_key__in=emails) | Q(
            pk__in=CustomerEmail.objects.filter(address_key__in=emails).values("customer_id")
        )
    if wanted["phone_key"]:
        match |= Q(phone_key=wanted["phone_key"])
    similarities: dict[int, float] = {}
    if wanted["name_key"]:
        match |= Q(name_key=wanted["name_key"])
        if fuzzy():
            similarities = _similar_names(wanted["name_key"], exclude_id=exclude_id, limit=50)
            match |= Q(pk__in=list(similarities))
    if not match:
        return []
    rows = Customer.objects.filter(match)
    if exclude_id is not None:
        rows = rows.exclude(pk=exclude_id)
    found = list(
        rows.values("id", "name", "owner__username", "email_key", "phone_key", "name_key")[:200]
    )
    others: dict[int, set[str]] = {}
    for customer_id, key in CustomerEmail.objects.filter(
        customer_id__in=[row["id"] for row in found]
    ).values_list("customer_id", "address_key"):
        others.setdefault(customer_id, set()).add(key)
    candidates = []
    for row in found:
        score, reasons = _judge(
            wanted,
            row,
            similarity=similarities.get(row["id"], 0.0),
            b_emails={row["email_key"], *others.get(row["id"], set())} - {""},
        )
        if score >= SCORE_MIN:
            candidates.append(
                Candidate(row["id"], score, reasons, row["name"], row["owner__username"] or "")
            )
    candidates.sort(key=lambda c: (-c.score, c.customer_id))
    return candidates[:limit]


def _similar_names(key: str, *, exclude_id: int | None, limit: int) -> dict[int, float]:
    """Customers whose name is trigram-similar (the GIN index answers `%`)."""
    table = Customer._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL pg_trgm.similarity_threshold = %s", [NAME_SIMILARITY_MIN])
        cursor.execute(
            f"SELECT id, similarity(name_key, %s) FROM {table} "
            "WHERE name_key %% %s AND id <> %s ORDER BY 2 DESC, id LIMIT %s",
            [key, key, exclude_id or 0, limit],
        )
        return {row[0]: float(row[1]) for row in cursor.fetchall()}


# --- The report (customers.tasks.customer_duplicates_report, the admins' page) -----------------


def _pairs_sql() -> tuple[str, list]:
    """Pairs of customers (a < b) sharing a key, in set-based SQL: one self-join per key, each
    bounded; on PostgreSQL the name join is pg_trgm's `%` on the GIN index."""
    customers = Customer._meta.db_table
    emails = CustomerEmail._meta.db_table
    limit = REPORT_JOIN_LIMIT
    parts = [
        f"""SELECT a.id, b.id FROM {customers} a JOIN {customers} b
            ON b.email_key = a.email_key AND a.id < b.id WHERE a.email_key <> ''""",
        f"""SELECT LEAST(c.id, e.customer_id), GREATEST(c.id, e.customer_id)
            FROM {customers} c JOIN {emails} e ON e.address_key = c.email_key
            AND e.customer_id <> c.id WHERE c.email_key <> ''""",
        f"""SELECT a.id, b.id FROM {customers} a JOIN {customers} b
            ON b.phone_key = a.phone_key AND a.id < b.id WHERE a.phone_key <> ''""",
        f"""SELECT a.id, b.id FROM {customers} a JOIN {customers} b
            ON b.name_key = a.name_key AND a.id < b.id WHERE a.name_key <> ''""",
    ]
    if fuzzy():
        parts.append(
            f"""SELECT a.id, b.id FROM {customers} a JOIN {customers} b
                ON b.name_key %% a.name_key AND a.id < b.id WHERE a.name_key <> ''"""
        )
    union = " UNION ".join(
        f"SELECT * FROM ({part} LIMIT {limit}) p{i}" for i, part in enumerate(parts)
    )
    return f"SELECT DISTINCT * FROM ({union}) pairs", []


def duplicate_pairs_find() -> list[tuple[int, int, float, list[str]]]:
    """Every scored pair of the base at or above SCORE_MIN, best first, at most
    REPORT_MAX_PAIRS: the joins in SQL, the scoring of the (bounded) pairs in Python."""
    sql, params = _pairs_sql()
    with connection.cursor() as cursor:
        if fuzzy():
            cursor.execute("SET LOCAL pg_trgm.similarity_threshold = %s", [NAME_SIMILARITY_MIN])
        cursor.execute(sql, params)
        pairs = [(a, b) for a, b in cursor.fetchall()]
    if not pairs:
        return []
    ids = sorted({i for pair in pairs for i in pair})
    rows = {}
    others: dict[int, set[str]] = {}
    for start in range(0, len(ids), 5000):
        chunk = ids[start : start + 5000]
        for row in Customer.objects.filter(pk__in=chunk).values(
            "id", "email_key", "phone_key", "name_key"
        ):
            rows[row["id"]] = row
        for customer_id, key in CustomerEmail.objects.filter(customer_id__in=chunk).values_list(
            "customer_id", "address_key"
        ):
            others.setdefault(customer_id, set()).add(key)
    similarity = _similarities(pairs) if fuzzy() else {}
    scored = []
    for a, b in pairs:
        if a not in rows or b not in rows:
            continue
        first = dict(rows[a], emails=others.get(a, set()))
        score, reasons = _judge(
            first,
            rows[b],
            similarity=similarity.get((a, b), 0.0),
            b_emails={rows[b]["email_key"], *others.get(b, set())} - {""},
        )
        if score >= SCORE_MIN:
            scored.append((a, b, score, reasons))
    scored.sort(key=lambda pair: (-pair[2], pair[0], pair[1]))
    return scored[:REPORT_MAX_PAIRS]


def _similarities(pairs: list[tuple[int, int]]) -> dict[tuple[int, int], float]:
    table = Customer._meta.db_table
    found: dict[tuple[int, int], float] = {}
    with connection.cursor() as cursor:
        for start in range(0, len(pairs), 5000):
            chunk = pairs[start : start + 5000]
            cursor.execute(
                f"SELECT p.a, p.b, similarity(x.name_key, y.name_key) FROM "
                f"unnest(%s::bigint[], %s::bigint[]) AS p(a, b) "
                f"JOIN {table} x ON x.id = p.a JOIN {table} y ON y.id = p.b",
                [[a for a, _ in chunk], [b for _, b in chunk]],
            )
            found.update({(a, b): float(s) for a, b, s in cursor.fetchall()})
    return found


def duplicate_pairs_listed(*, limit: int = 200):
    """The stored report, best first (the admins' page)."""
    return DuplicatePair.objects.select_related("first__owner", "second__owner").order_by(
        "-score", "first_id", "second_id"
    )[:limit]


# --- The look-alikes of many new customers at once (imports) ----------------------------------

# Each of the look-alike joins reads at most this many pairs; each customer keeps its best.
LOOKALIKE_JOIN_LIMIT = 20000
LOOKALIKES_EACH = 3


def lookalikes_of(customer_ids, *, fuzzy_names: bool = True) -> dict[int, list[Candidate]]:
    """The customers each of these (just created, say by an import) looks like, best first:
    found by one statement for all of them (a bounded join per key, as the report's), scored
    as on create (`_judge`). Of two of them that look alike, only the later (the higher id)
    names the other. `fuzzy_names` False: equal name keys only (names that are a file's
    references, whose trigrams say nothing: B-123 is 0.62 similar to B-1234)."""
    ids = sorted(set(customer_ids))
    if not ids:
        return {}
    customers, emails = Customer._meta.db_table, CustomerEmail._meta.db_table
    limit = LOOKALIKE_JOIN_LIMIT
    # o is not n, and not one of them created after n (that one names n instead); `new` is
    # the ids (a hashed set: `= ANY` of an array would scan it for every pair).
    other = "o.id <> n.id AND NOT (o.id > n.id AND o.id IN (SELECT id FROM new))"
    mine = "n.id IN (SELECT id FROM new)"
    parts = [
        f"""SELECT n.id, o.id FROM {customers} n JOIN {customers} o
            ON o.email_key = n.email_key AND {other} WHERE {mine} AND n.email_key <> ''""",
        f"""SELECT n.id, o.id FROM {customers} n JOIN {emails} e ON e.address_key = n.email_key
            JOIN {customers} o ON o.id = e.customer_id AND {other}
            WHERE {mine} AND n.email_key <> ''""",
        f"""SELECT n.id, o.id FROM {customers} n JOIN {customers} o
            ON o.phone_key = n.phone_key AND {other} WHERE {mine} AND n.phone_key <> ''""",
        f"""SELECT n.id, o.id FROM {customers} n JOIN {customers} o
            ON o.name_key = n.name_key AND {other} WHERE {mine} AND n.name_key <> ''""",
    ]
    fuzzy_names = fuzzy_names and fuzzy()
    if fuzzy_names:
        parts.append(
            f"""SELECT n.id, o.id FROM {customers} n JOIN {customers} o
                ON o.name_key %% n.name_key AND {other} WHERE {mine} AND n.name_key <> ''"""
        )
    union = " UNION ".join(
        f"SELECT * FROM ({part} LIMIT {limit}) p{i}" for i, part in enumerate(parts)
    )
    similarity = "similarity(n.name_key, o.name_key)" if fuzzy_names else "0.0"
    with connection.cursor() as cursor:
        if fuzzy_names:
            cursor.execute("SET LOCAL pg_trgm.similarity_threshold = %s", [NAME_SIMILARITY_MIN])
        cursor.execute(
            f"""
            WITH new AS MATERIALIZED (SELECT unnest(%(ids)s::bigint[]) AS id)
            SELECT pairs.a, pairs.b, {similarity},
                n.email, n.email_key, n.phone_key, n.name_key,
                o.email, o.email_key, o.phone_key, o.name_key,
                ARRAY(SELECT address_key FROM {emails} WHERE customer_id = n.id),
                ARRAY(SELECT address_key FROM {emails} WHERE customer_id = o.id)
            FROM (SELECT DISTINCT * FROM ({union}) u) pairs (a, b)
            JOIN {customers} n ON n.id = pairs.a JOIN {customers} o ON o.id = pairs.b
            """,
            {"ids": ids},
        )
        rows = cursor.fetchall()
    found: dict[int, list[Candidate]] = {}
    for a, b, similar, *keys in rows:
        mine = dict(zip(("email", "email_key", "phone_key", "name_key"), keys[:4], strict=True))
        theirs = dict(zip(("email", "email_key", "phone_key", "name_key"), keys[4:8], strict=True))
        mine["emails"] = set(keys[8])
        score, reasons = _judge(
            mine,
            theirs,
            similarity=float(similar),
            b_emails={theirs["email_key"], *keys[9]} - {""},
        )
        if score < SCORE_MIN:
            continue
        if reasons and reasons[0] == "same e-mail after normalising":
            reasons[0] = _same_email(mine["email"], theirs["email"])
        found.setdefault(a, []).append(Candidate(b, score, reasons))
    for candidates in found.values():
        candidates.sort(key=lambda c: (-c.score, c.customer_id))
        del candidates[LOOKALIKES_EACH:]
    return found


def _same_email(mine: str, theirs: str) -> str:
    """How two e-mails with one key are the same: as written, but for case, or normalised."""
    mine, theirs = (mine or "").strip(), (theirs or "").strip()
    if mine == theirs:
        return "same e-mail"
    if mine.lower() == theirs.lower():
        return "same e-mail, different case"
    return "same e-mail after normalising"
