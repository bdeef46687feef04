"""Set-based writes for bulk paths (an import through a staging table): an INSERT ... SELECT
into a model's table, each column either given as SQL or written with the field's default, as
a model's save would write it. Called by the owning app's service for its own table only."""

from contextlib import contextmanager, suppress

from django.db import connection


def insert_select(cursor, model, explicit: dict[str, tuple[str, list]], rest: str) -> int:
    """INSERT ... SELECT into `model`: `explicit` (SQL and its parameters) for some columns,
    the field's default for the others; `rest` the FROM and what follows. Rows written."""
    columns, expressions, params = [], [], []
    for field in model._meta.concrete_fields:
        given = explicit.get(field.name)
        if given is None and field.primary_key:
            continue
        columns.append(f'"{field.column}"')
        if given is None:
            expressions.append("%s")
            params.append(field.get_db_prep_save(field.get_default(), connection))
        else:
            expressions.append(given[0])
            params += given[1]
    cursor.execute(
        f"INSERT INTO {model._meta.db_table} ({', '.join(columns)}) "
        f"SELECT {', '.join(expressions)} {rest}",
        params,
    )
    return cursor.rowcount


def update_from_values(cursor, model, fields: list[str], objects) -> int:
    """UPDATE `model` SET each of `fields` FROM a VALUES list of the objects' current values,
    joined on the primary key: one statement of a few parameters per row, where
    `bulk_update`'s CASE WHEN id = ... per column compares every row with every id (6 s for
    5,000 rows of three columns on the 2-core machine, against a few hundred ms). Rows written."""
    objects = list(objects)
    if not objects:
        return 0
    if connection.vendor != "postgresql":  # the embedded SQLite default: no casts, no v(...)
        return model._default_manager.bulk_update(objects, fields)
    meta = model._meta
    columns = [meta.get_field(name) for name in fields]
    pk = meta.pk
    casts = [f"%s::{pk.db_type(connection)}"] + [
        f"%s::{field.db_type(connection)}" for field in columns
    ]
    row = f"({', '.join(casts)})"
    params: list = []
    for obj in objects:
        params.append(pk.get_db_prep_save(obj.pk, connection))
        params += [
            field.get_db_prep_save(getattr(obj, field.attname), connection) for field in columns
        ]
    names = ", ".join(["pk", *(f"v{i}" for i in range(len(columns)))])
    sets = ", ".join(f'"{field.column}" = v.v{i}' for i, field in enumerate(columns))
    cursor.execute(
        f"UPDATE {meta.db_table} AS t SET {sets} FROM (VALUES {', '.join([row] * len(objects))}) "
        f'AS v({names}) WHERE t."{pk.column}" = v.pk',
        params,
    )
    return cursor.rowcount


class ReferenceMissing(Exception):
    """A row of a bulk write names a row that does not exist (what the foreign key's trigger
    would have refused)."""


@contextmanager
def references_checked_in_bulk(
    cursor, *, models, references: list[tuple], own=(), enabled: bool = True
):
    """Bulk inserts into `models` whose foreign keys are checked by one statement per
    reference instead of PostgreSQL's trigger per row and key (at a million rows, 9 million
    trigger events: more than half an import's time).

    `references` are (a foreign key of one of `models`, SQL selecting the ids the inserts
    will write into it, its parameters): on entry the referenced rows are locked FOR KEY
    SHARE, as each trigger would lock them (so that nobody deletes one before the commit),
    and must all exist (ReferenceMissing). `own` are the foreign keys to rows the block
    inserts itself (an order's lines to their order), which the caller checks by its row
    counts. Every other foreign key of `models` must be one the inserts leave empty (a
    nullable one whose default is None). Inside, the triggers are off
    (`session_replication_role = replica`) where the role may set it (a superuser, or
    `GRANT SET ON PARAMETER session_replication_role`); elsewhere, or without `enabled`,
    they check every row as usual. In a transaction."""
    named = {field for field, _, _ in references} | set(own)
    for model in models:
        for field in model._meta.concrete_fields:
            if field.remote_field is None or not getattr(field, "db_constraint", False):
                continue
            if field not in named and not (field.null and field.get_default() is None):
                raise ValueError(f"{model.__name__}.{field.name}: a reference nobody checks")
    for field, ids_sql, params in references:
        parent = field.remote_field.model
        table, key = parent._meta.db_table, field.target_field.column
        cursor.execute(
            f"""
            WITH wanted AS (SELECT DISTINCT w.id FROM ({ids_sql}) w (id) WHERE w.id IS NOT NULL),
            locked AS (
                SELECT p.{key} FROM {table} p WHERE p.{key} IN (SELECT id FROM wanted)
                ORDER BY p.{key} FOR KEY SHARE
            )
            SELECT (SELECT count(*) FROM wanted), (SELECT count(*) FROM locked)
            """,
            params,
        )
        wanted, locked = cursor.fetchone()
        if wanted != locked:
            raise ReferenceMissing(f"{wanted - locked} of the {table} rows named do not exist")
    # A savepoint of its own: whatever goes wrong inside undoes the setting with the rows.
    cursor.execute("SAVEPOINT core_bulk_references")
    try:
        off = enabled and _triggers_off(cursor)
        yield
        if off:
            cursor.execute("SET LOCAL session_replication_role = origin")
    except BaseException:
        with suppress(Exception):  # a broken connection: the original error says why
            cursor.execute("ROLLBACK TO SAVEPOINT core_bulk_references")
        raise
    cursor.execute("RELEASE SAVEPOINT core_bulk_references")


def _triggers_off(cursor) -> bool:
    """Turn the foreign keys' triggers off for this transaction, if the role may."""
    cursor.execute("SAVEPOINT core_bulk_triggers")
    try:
        cursor.execute("SET LOCAL session_replication_role = replica")
    except Exception as error:
        cause = error if hasattr(error, "pgcode") else error.__cause__
        if getattr(cause, "pgcode", None) != INSUFFICIENT_PRIVILEGE:
            raise
        cursor.execute("ROLLBACK TO SAVEPOINT core_bulk_triggers")
        cursor.execute("RELEASE SAVEPOINT core_bulk_triggers")
        return False
    cursor.execute("RELEASE SAVEPOINT core_bulk_triggers")
    return True


INSUFFICIENT_PRIVILEGE = "42501"
