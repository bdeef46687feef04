"""The whole base in and out of PostgreSQL in bulk: COPY in binary, straight into NumPy.

The nightly refit reads every customer's running summary and writes every customer's figures
and snapshot. Through the ORM a million rows cost a Python object per value each way (and a
Decimal per money value); here a read is one `COPY (SELECT ...) TO STDOUT (FORMAT binary)`
whose fixed-width rows NumPy views as a structured array, and a write is one binary COPY into
a temporary table from a structured array, then one INSERT ... ON CONFLICT that upserts the
figures and the snapshots of the customers written. PostgreSQL only (the embedded SQLite
keeps the ORM paths of valuation.services and valuation.selectors).

Every column crosses as float8 (ids and counts are exact below 2**53) with NULL as NaN, so
every row has the same width. Money goes as whole cents, rounded in NumPy exactly as
valuation.money.money_stored rounds it (money_cents).
"""

import io
from datetime import date

import numpy as np
from django.db import connection
from django.utils import timezone

from customers.models import Customer, CustomerKind
from customers.selectors import scoped_to_customers
from interactions.choices import SERVICE_TYPES, InteractionType
from interactions.models import Interaction, OrderLine

from . import selectors
from .declared import FIGURES, FROM_BATCH, FROM_METHOD, FROM_TIERS, SNAPSHOT_FIGURES, FigureType
from .figures import FigureInputs, Figures
from .models import CustomerFigures, CustomerSnapshot, CustomerSummary
from .money import MONEY_FIGURE_MAX, money_stored
from .numerics.rfm import RFM
from .selectors import ValuationBatch

HEADER = b"PGCOPY\n\xff\r\n\x00" + b"\x00\x00\x00\x00" + b"\x00\x00\x00\x00"
TRAILER = b"\xff\xff"


def _row_type(columns: list[str]) -> np.dtype:
    fields: list[tuple[str, str]] = [("count", ">i2")]
    for name in columns:
        fields += [(f"{name}_length", ">i4"), (name, ">f8")]
    return np.dtype(fields)


def copy_out(sql: str, params: list | dict, columns: list[str]) -> dict[str, np.ndarray]:
    """Run `sql` (selecting exactly `columns`, in order) and return each column as float64,
    NULL as NaN. One COPY; the rows are never Python objects."""
    select = ", ".join(f"COALESCE(({name})::float8, 'NaN')" for name in columns)
    with connection.cursor() as cursor:
        query = cursor.mogrify(f"SELECT {select} FROM ({sql}) q", params)
        buffer = io.BytesIO()
        cursor.cursor.copy_expert(f"COPY ({query.decode()}) TO STDOUT (FORMAT binary)", buffer)
    data = buffer.getbuffer()
    rows = np.frombuffer(data[len(HEADER) : len(data) - len(TRAILER)], dtype=_row_type(columns))
    return {name: rows[name].astype(np.float64) for name in columns}


def copy_in(table: str, columns: dict[str, np.ndarray]) -> None:
    """COPY the float64 columns into `table` (float8 columns of those names), NaN as NaN."""
    names = list(columns)
    n = len(next(iter(columns.values()))) if columns else 0
    rows = np.empty(n, dtype=_row_type(names))
    rows["count"] = len(names)
    for name in names:
        rows[f"{name}_length"] = 8
        rows[name] = columns[name]
    payload = io.BytesIO(HEADER + rows.tobytes() + TRAILER)
    with connection.cursor() as cursor:
        cursor.cursor.copy_expert(
            f"COPY {table} ({', '.join(names)}) FROM STDIN (FORMAT binary)", payload
        )


def _day(column: str) -> str:
    return f"({column} - DATE '1970-01-01')"


# The inputs valuation.selectors.valuation_batch reads from the customers and their running
# summaries, by name; days as days since 1970-01-01.
BASE_COLUMNS = {
    "id": "c.id",
    "version": "COALESCE(f.figures_version, 0)",
    "wallet": "c.wallet_annual",
    "is_organization": "CASE WHEN c.kind = %(organization)s THEN 1 ELSE 0 END",
    "first_seen": _day("COALESCE(c.acquired_on, (c.created_at AT TIME ZONE %(tz)s)::date)"),
    "transaction_days": "COALESCE(s.transaction_days, 0)",
    "first_on": _day("s.first_transaction_on"),
    "last_on": _day("s.last_transaction_on"),
    "revenue": "COALESCE(s.revenue_total, 0)",
    "margin": "COALESCE(s.margin_total, 0)",
    "first_day_revenue": "COALESCE(s.first_day_revenue, 0)",
    "cost_total": "COALESCE(s.cost_to_serve_total, 0)",
}


def base_read(*, id_range: tuple[int, int] | None = None, tz: str) -> dict[str, np.ndarray]:
    """The customers (all, or an id range) with their summary, in id order: one COPY."""
    where, params = "", {"tz": tz, "organization": str(CustomerKind.ORGANIZATION)}
    if id_range is not None:
        where = "WHERE c.id BETWEEN %(first)s AND %(last)s"
        params.update(first=id_range[0], last=id_range[1])
    sql = f"""
        SELECT {", ".join(f"{expr} AS {name}" for name, expr in BASE_COLUMNS.items())}
        FROM {Customer._meta.db_table} c
        LEFT JOIN {CustomerSummary._meta.db_table} s ON s.customer_id = c.id
        LEFT JOIN {CustomerFigures._meta.db_table} f ON f.customer_id = c.id
        {where}
        ORDER BY c.id
    """
    return copy_out(sql, params, list(BASE_COLUMNS))


def summaries_rfm(*, as_of: date, time_unit_days: float) -> RFM | None:
    """Every buying customer's frequency, recency, age and mean repeat spend from their
    running summary, for a fit as of today: what valuation.numerics.rfm.rfm_summary gives
    over every transaction (tests/valuation/test_bulk.py), without reading them. None when a
    summary holds a transaction after `as_of` (then only the transactions can say)."""
    table = CustomerSummary._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT 1 FROM {table} WHERE last_transaction_on > %s LIMIT 1", [as_of])
        if cursor.fetchone():
            return None
    sql = f"""
        SELECT customer_id AS id, transaction_days - 1 AS frequency,
               last_transaction_on - first_transaction_on AS recency,
               %s::date - first_transaction_on AS age,
               revenue_total - first_day_revenue AS repeat_revenue
        FROM {table} WHERE transaction_days > 0 ORDER BY customer_id
    """
    rows = copy_out(sql, [as_of], ["id", "frequency", "recency", "age", "repeat_revenue"])
    frequency = rows["frequency"]
    return RFM(
        customer_ids=rows["id"].astype(np.int64),
        frequency=frequency,
        recency=rows["recency"] / time_unit_days,
        T=rows["age"] / time_unit_days,
        monetary_value=np.divide(
            rows["repeat_revenue"],
            frequency,
            out=np.zeros(len(frequency)),
            where=frequency > 0,
        ),
    )


def transaction_days(*, as_of: date, tz: str) -> tuple[np.ndarray, np.ndarray]:
    """(customer ids, days) of every customer's days with an order (with lines) up to `as_of`,
    as valuation.selectors.transactions_up_to reads them, by one COPY: the holdout that
    chooses the purchase model needs the days themselves, not only the summaries."""
    local = "(i.occurred_at AT TIME ZONE %(tz)s)::date"
    sql = f"""
        SELECT i.customer_id AS customer, {_day(local)} AS day
        FROM {Interaction._meta.db_table} i
        JOIN {OrderLine._meta.db_table} l ON l.interaction_id = i.id
        WHERE i.type = %(order)s AND {local} <= %(as_of)s
        GROUP BY 1, 2
    """
    rows = copy_out(
        sql, {"tz": tz, "order": InteractionType.ORDER, "as_of": as_of}, ["customer", "day"]
    )
    return rows["customer"].astype(np.int64), rows["day"].astype("int64").astype("datetime64[D]")


def per_customer(sql: str, params: list, ids: np.ndarray) -> np.ndarray:
    """A (customer id, value) query placed at the positions of `ids` (NaN elsewhere)."""
    rows = copy_out(sql, params, ["cid", "value"])
    out = np.full(len(ids), np.nan)
    positions = np.searchsorted(ids, rows["cid"].astype(np.int64))
    keep = (positions < len(ids)) & (ids[np.minimum(positions, len(ids) - 1)] == rows["cid"])
    out[positions[keep]] = rows["value"][keep]
    return out


def trailing_year(
    *, ids: np.ndarray, since, channel_costs: dict[str, float], id_range
) -> tuple[np.ndarray, np.ndarray]:
    """Revenue and cost to serve of the last 12 months per customer: two grouped COPYs, the
    sums valuation.selectors.valuation_batch takes."""
    where, params = "", [since]
    if id_range is not None:
        where, params = "AND i.customer_id BETWEEN %s AND %s", [since, *id_range]
    revenue = per_customer(
        f"""
        SELECT i.customer_id AS cid,
               SUM(l.quantity * l.unit_price * (1 - l.discount)) AS value
        FROM {OrderLine._meta.db_table} l
        JOIN {Interaction._meta.db_table} i ON i.id = l.interaction_id
        WHERE i.type = %s AND i.occurred_at >= %s {where}
        GROUP BY i.customer_id
        """,
        [InteractionType.ORDER, *params],
        ids,
    )
    costs = [(channel, cost) for channel, cost in channel_costs.items() if cost]
    if not costs:
        return np.nan_to_num(revenue), np.zeros(len(ids))
    cases = " ".join("WHEN %s THEN %s::float8" for _ in costs)
    cost = per_customer(
        f"""
        SELECT cid, SUM(n * cost) AS value FROM (
            SELECT i.customer_id AS cid, COUNT(*) AS n,
                   CASE i.channel {cases} ELSE 0 END AS cost
            FROM {Interaction._meta.db_table} i
            WHERE i.type IN ({", ".join(["%s"] * len(SERVICE_TYPES))}) AND i.occurred_at >= %s
                  {where}
            GROUP BY i.customer_id, i.channel
        ) per_channel GROUP BY cid
        """,
        [*(value for pair in costs for value in pair), *SERVICE_TYPES, *params],
        ids,
    )
    return np.nan_to_num(revenue), np.nan_to_num(cost)


def valuation_batch(
    *, id_range: tuple[int, int] | None = None, today: date, value_only: bool = False
) -> ValuationBatch:
    """valuation.selectors.valuation_batch for the whole base (or an id range), its main
    columns and trailing-year sums by COPY. The figures taken from the running summary
    (interactions, last contact) and the owner are joined in SQL when written
    (figures_write), so the batch leaves them empty."""
    base = base_read(id_range=id_range, tz=timezone.get_current_timezone_name())
    ids = base["id"].astype(np.int64)
    since = timezone.now() - selectors.YEAR
    costs = {channel: float(cost) for channel, cost in selectors.channel_costs_decimal().items()}
    revenue_12m, cost_12m = trailing_year(
        ids=ids, since=since, channel_costs=costs, id_range=id_range
    )
    scope: selectors.CustomerScope = {"customer_ids": None, "id_range": id_range}
    lines = scoped_to_customers(OrderLine.objects.all(), "interaction__customer_id", **scope)
    if value_only:
        unknown = np.full(len(ids), np.nan)
        others = {name: unknown for name in selectors.OTHER_THAN_VALUE}
    else:
        interactions = scoped_to_customers(Interaction.objects.all(), **scope)
        others = selectors._inputs_other_than_value(ids, scope, interactions)
    # The peer wallets of the fit's priors need these even for value only (as the ORM path).
    others.update(selectors._wallet_inputs(ids, scope, lines, since, revenue_12m=False))
    day = float(np.datetime64(today, "D").astype(np.int64))
    inputs = FigureInputs.of(
        transaction_days=base["transaction_days"],
        days_since_first=day - base["first_on"],
        days_first_to_last=base["last_on"] - base["first_on"],
        revenue_total=base["revenue"],
        margin_total=base["margin"],
        first_day_revenue=base["first_day_revenue"],
        cost_to_serve_total=base["cost_total"],
        cost_to_serve_12m=cost_12m,
        revenue_12m=revenue_12m,
        wallet_annual=base["wallet"],
        is_organization=base["is_organization"],
        tenure_days=np.maximum(day - base["first_seen"], 0),
        **others,
    )
    return ValuationBatch(
        customer_ids=ids,
        versions=base["version"].astype(np.int64),
        owner_ids=[],
        interaction_count=np.zeros(0, dtype=int),
        last_contact_at=[],
        inputs=inputs,
    )


# Below this many cents a float's nearest whole cent is exact unless it lies within 1e-6 of
# a half cent (its error is under 1e-7 of a cent there).
_EXACT_CENTS_BELOW = 1e9


def money_cents(values) -> np.ndarray:
    """valuation.money.money_stored as whole cents in float64 (NaN: None; +-inf: clamped to the
    column's bound), computed in NumPy. A value near a half cent, or of ten million or more,
    goes through _money itself (Decimal, half to even): the same cents either way."""
    v = np.asarray(values, dtype=np.float64)
    scaled = v * 100.0
    cents = np.rint(scaled)
    with np.errstate(invalid="ignore"):
        exact = np.isfinite(v) & (np.abs(scaled) < _EXACT_CENTS_BELOW)
        exact &= np.abs(np.abs(scaled - np.trunc(scaled)) - 0.5) > 1e-6
    out = np.where(exact, cents, np.nan)
    for index in np.flatnonzero(~exact & ~np.isnan(v)):
        money = money_stored(float(v[index]))
        if money is None:
            continue
        if abs(money) >= MONEY_FIGURE_MAX:
            out[index] = np.inf if money > 0 else -np.inf
        else:
            out[index] = float(money * 100)
    return out


def _money_sql(column: str) -> str:
    """Whole cents (money_cents) as the money column: NaN is NULL, +-inf the bound."""
    return (
        f"CASE WHEN {column} = 'NaN' THEN NULL "
        f"WHEN {column} = 'Infinity' THEN 99999999999999.99 "
        f"WHEN {column} = '-Infinity' THEN -99999999999999.99 "
        f"ELSE ({column})::bigint::numeric / 100 END"
    )


def _ratio_sql(column: str) -> str:
    return f"CASE WHEN {column} IN ('NaN', 'Infinity', '-Infinity') THEN NULL ELSE {column} END"


def figure_columns(
    *, ids: np.ndarray, versions: np.ndarray, figures: Figures, tier_of: np.ndarray
) -> tuple[dict[str, np.ndarray], list[str]]:
    """The columns figures_write COPYs (float64: money in whole cents, the tier as its
    position in the returned list of its values, from 1), and those lists by figure."""
    # Texts (the tier, the peer group) cross as their position in a list of their values.
    tiers, tier_codes = np.unique(np.asarray(tier_of, dtype=str), return_inverse=True)
    columns: dict[str, np.ndarray] = {
        "id": ids.astype(np.float64),
        "version": versions.astype(np.float64),
        "tier": tier_codes.astype(np.float64) + 1,  # SQL arrays count from 1
    }
    texts = {"tier": [str(tier) for tier in tiers]}
    computed = [f for f in FIGURES if f.source not in (FROM_BATCH, FROM_TIERS, FROM_METHOD)]
    for figure in computed:
        if figure.type == FigureType.TEXT:
            words, codes = np.unique(
                np.asarray(getattr(figures, figure.name), dtype=str), return_inverse=True
            )
            columns[figure.name] = codes.astype(np.float64) + 1
            texts[figure.name] = [str(word) for word in words]
            continue
        values = np.asarray(getattr(figures, figure.name), dtype=np.float64)
        columns[figure.name] = money_cents(values) if figure.type == FigureType.MONEY else values
    return columns, texts


def figures_write(
    *,
    ids: np.ndarray,
    versions: np.ndarray,
    figures: Figures,
    tier_of: np.ndarray,
    method: str,
    now,
    today: date,
) -> int:
    """Upsert the figures of these customers and, for those written, today's snapshot: one
    binary COPY into a temporary table and one statement, conditional on the version as the
    per-customer recompute (a newer recompute is never overwritten). The figures taken from
    the running summary (interactions, last contact) are joined in SQL. Returns how many
    were written. Call inside a transaction."""
    columns, texts = figure_columns(ids=ids, versions=versions, figures=figures, tier_of=tier_of)
    return columns_write(columns, texts=texts, method=method, now=now, today=today)


def figures_write_parallel(
    *,
    ids: np.ndarray,
    versions: np.ndarray,
    figures: Figures,
    tier_of: np.ndarray,
    method: str,
    now,
    today: date,
    connections: int,
) -> int:
    """figures_write in `connections` slices of the ids at once, each on its own database
    connection (a thread each) in its own transaction: the database does the writing, and
    one backend writing a million rows leaves the other core idle. Inside a transaction
    (the other connections would not see its data) or with one connection, one
    figures_write here. Returns how many were written."""
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connections as all_connections
    from django.db import transaction

    columns, texts = figure_columns(ids=ids, versions=versions, figures=figures, tier_of=tier_of)
    if connections <= 1 or connection.in_atomic_block or len(ids) < 2 * connections:
        with transaction.atomic():
            return columns_write(columns, texts=texts, method=method, now=now, today=today)
    bounds = np.linspace(0, len(ids), connections + 1).astype(int)

    def write(part: int) -> int:
        piece = slice(bounds[part], bounds[part + 1])
        try:
            with transaction.atomic():
                return columns_write(
                    {name: values[piece] for name, values in columns.items()},
                    texts=texts,
                    method=method,
                    now=now,
                    today=today,
                )
        finally:
            all_connections.close_all()  # this thread's connection

    with ThreadPoolExecutor(max_workers=connections) as pool:
        return sum(pool.map(write, range(connections)))


def _value_sql(figure) -> str:
    """A figure's value from the temporary table `n` (figure_columns) and the summary `s`."""
    if figure.name == "interaction_count":
        return "COALESCE(s.interactions, 0)"
    if figure.name == "last_contact_at":
        return "s.last_contact_at"
    if figure.source == FROM_TIERS:
        return "(%(text_tier)s::varchar[])[n.tier::int]"
    if figure.source == FROM_METHOD:
        return "%(method)s"
    if figure.type == FigureType.TEXT:
        return f"COALESCE((%(text_{figure.name})s::varchar[])[n.{figure.name}::int], '')"
    if figure.type == FigureType.COUNT:
        return f"COALESCE({_ratio_sql(f'n.{figure.name}')}, 0)"
    if figure.type == FigureType.MONEY:
        return _money_sql(f"n.{figure.name}")
    return _ratio_sql(f"n.{figure.name}")


def snapshots_insert(
    *, ids: np.ndarray, figures: Figures, tier_of: np.ndarray, day: date, now, backfilled: bool
) -> int:
    """Insert these customers' snapshots of `day` (a history's: valuation.services
    customers_figures_history_build) by COPY, leaving any snapshot already there of that day.
    Returns how many were inserted. In a transaction."""
    columns, texts = figure_columns(
        ids=ids, versions=np.zeros(len(ids)), figures=figures, tier_of=tier_of
    )
    table = _temporary_copy("valuation_history_snapshots", columns)
    snapshot = [figure for figure in FIGURES if figure.snapshot]
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {CustomerSnapshot._meta.db_table}
                (customer_id, taken_on, computed_at, backfilled, {", ".join(SNAPSHOT_FIGURES)})
            SELECT n.id::bigint, %(day)s, %(now)s, %(backfilled)s,
                {", ".join(_value_sql(figure) for figure in snapshot)}
            FROM {table} n
            ON CONFLICT (customer_id, taken_on) DO NOTHING
            """,
            {
                "day": day,
                "now": now,
                "backfilled": backfilled,
                **{f"text_{name}": words for name, words in texts.items()},
            },
        )
        inserted = cursor.rowcount
        cursor.execute(f"DROP TABLE {table}")
    return inserted


def _temporary_copy(table: str, columns: dict[str, np.ndarray]) -> str:
    """A temporary table of these float64 columns, filled by one COPY; dropped at commit at
    the latest. In a transaction. Returns its name."""
    with connection.cursor() as cursor:
        # Compiling the statement that reads it (JIT) costs a second and saves nothing here.
        cursor.execute("SET LOCAL jit = off")
        cursor.execute(
            f"CREATE TEMPORARY TABLE {table} ({', '.join(f'{n} float8' for n in columns)}) "
            "ON COMMIT DROP"
        )
    copy_in(table, columns)
    return table


def columns_write(
    columns: dict[str, np.ndarray], *, texts: dict[str, list[str]], method: str, now, today: date
) -> int:
    """The write of figures_write from its columns (figure_columns). In a transaction."""
    table = _temporary_copy("valuation_nightly_figures", columns)

    names = [figure.name for figure in FIGURES]
    figures_table = CustomerFigures._meta.db_table
    sql = f"""
        WITH written AS (
            INSERT INTO {figures_table} AS t (customer_id, owner_id, figures_version,
                figures_computed_version, computed_at, {", ".join(names)})
            SELECT n.id::bigint, c.owner_id, n.version::bigint, n.version::bigint, %(now)s,
                {", ".join(_value_sql(figure) for figure in FIGURES)}
            FROM {table} n
            JOIN {Customer._meta.db_table} c ON c.id = n.id::bigint
            LEFT JOIN {CustomerSummary._meta.db_table} s ON s.customer_id = n.id::bigint
            ON CONFLICT (customer_id) DO UPDATE SET
                {", ".join(f"{n} = EXCLUDED.{n}" for n in names)},
                owner_id = EXCLUDED.owner_id,
                computed_at = EXCLUDED.computed_at,
                figures_computed_version = EXCLUDED.figures_computed_version
            WHERE t.figures_computed_version <= EXCLUDED.figures_computed_version
            RETURNING t.customer_id, {", ".join(f"t.{n}" for n in SNAPSHOT_FIGURES)}
        )
        INSERT INTO {CustomerSnapshot._meta.db_table}
            (customer_id, taken_on, computed_at, {", ".join(SNAPSHOT_FIGURES)})
        SELECT customer_id, %(today)s, %(now)s, {", ".join(SNAPSHOT_FIGURES)} FROM written
        ON CONFLICT (customer_id, taken_on) DO UPDATE SET
            {", ".join(f"{n} = EXCLUDED.{n}" for n in ["computed_at", *SNAPSHOT_FIGURES])},
            backfilled = false
    """
    with connection.cursor() as cursor:
        cursor.execute(
            sql,
            {
                "now": now,
                "today": today,
                **{f"text_{name}": words for name, words in texts.items()},
                "method": str(method),
            },
        )
        written = cursor.rowcount
        cursor.execute(f"DROP TABLE {table}")
    return written
