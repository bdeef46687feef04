"""Fixed statements of the request path, built once per process and run as plain SQL.

On every interaction POST the ORM compiled the same few statements again (a locked read of
one row, an UPDATE of named columns, an INSERT of a model's row): that compilation was most of
the request's CPU beyond a minimal DRF view (issue 17, docs/benchmarks.md). These helpers keep
the model as the one description of the table (columns from `_meta`, values prepared by each
field as a save prepares them, rows read back through the model's converters) and cache only
the SQL text. For models without save() logic or signals; an owner's service calls them for
its own table only, as `core.bulk`.
"""

from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from typing import Any, TypeVar

from django.db import connection, models

M = TypeVar("M", bound=models.Model)


def _quote(name: str) -> str:
    return connection.ops.quote_name(name)


@cache
def _update_sql(model: type[models.Model], fields: tuple[str, ...], vendor: str):
    meta = model._meta
    targets = [meta.get_field(name) for name in fields]
    assignments = ", ".join(f"{_quote(field.column)} = %s" for field in targets)  # type: ignore[union-attr]
    sql = f"UPDATE {_quote(meta.db_table)} SET {assignments} WHERE {_quote(meta.pk.column)} = %s"  # type: ignore[union-attr]
    return sql, targets


def row_update(instance: models.Model, fields: Sequence[str]) -> None:
    """`instance.save(update_fields=fields)`, without compiling the UPDATE each time."""
    sql, targets = _update_sql(type(instance), tuple(fields), connection.vendor)
    params = [
        field.get_db_prep_save(getattr(instance, field.attname), connection) for field in targets
    ]
    params.append(instance.pk)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


@cache
def _locked_get_sql(model: type[models.Model], key: str, vendor: str) -> str:
    # Compiled by the ORM once, with a placeholder value: FOR UPDATE where the database has it.
    query = model._default_manager.select_for_update().filter(**{key: 0}).query
    sql, _ = query.sql_with_params()
    return sql


def row_get_locked(model: type[M], *, key: str, value: Any) -> M | None:
    """`model.objects.select_for_update().filter(key=value).first()` of a unique key, with the
    SQL compiled once (inside a transaction, as select_for_update must be)."""
    rows = model._default_manager.raw(_locked_get_sql(model, key, connection.vendor), [value])
    return next(iter(rows), None)


@cache
def _insert_sql(model: type[models.Model], vendor: str):
    meta = model._meta
    fields = [field for field in meta.concrete_fields if field is not meta.auto_field]
    columns = ", ".join(_quote(field.column) for field in fields)
    values = ", ".join(["%s"] * len(fields))
    sql = f"INSERT INTO {_quote(meta.db_table)} ({columns}) VALUES ({values})"
    if meta.auto_field is not None and connection.features.can_return_columns_from_insert:
        sql += f" RETURNING {_quote(meta.auto_field.column)}"
    return sql, fields


def row_insert(instance: models.Model) -> None:
    """`instance.save()` of a new row (values prepared as a save prepares them, its id set),
    without compiling the INSERT each time. No save() override or signal runs."""
    model = type(instance)
    sql, fields = _insert_sql(model, connection.vendor)
    params = [
        field.get_db_prep_save(field.pre_save(instance, True), connection) for field in fields
    ]
    auto_field = model._meta.auto_field
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        if auto_field is not None:
            if connection.features.can_return_columns_from_insert:
                (pk,) = cursor.fetchone()
            else:
                pk = cursor.lastrowid
            setattr(instance, auto_field.attname, pk)
    instance._state.adding = False
    instance._state.db = connection.alias


# Values that a plain Django field of these kinds passes to the driver unchanged on
# PostgreSQL (get_db_prep_save is the identity for them): their exact types, by internal type.
_AS_IS: dict[str, tuple[type, ...]] = {
    **dict.fromkeys(["CharField", "TextField", "EmailField", "SlugField", "URLField"], (str,)),
    **dict.fromkeys(
        [
            "IntegerField",
            "SmallIntegerField",
            "BigIntegerField",
            "PositiveIntegerField",
            "PositiveSmallIntegerField",
            "PositiveBigIntegerField",
            "AutoField",
            "BigAutoField",
            "SmallAutoField",
        ],
        (int,),
    ),
    "BooleanField": (bool,),
    "DecimalField": (Decimal,),
    "DateField": (date,),
    "DateTimeField": (datetime,),  # aware only (a naive one is made aware by the field)
}


@cache
def _row_plan(model: type[models.Model], vendor: str):
    """Per column: (field, attname or None when pre_save must run, the types it takes as
    they are)."""
    _, fields = _insert_sql(model, vendor)
    plan = []
    for field in fields:
        plain = type(field).__module__.startswith("django.db.models.fields")
        target = field.target_field if field.is_relation else field  # type: ignore[attr-defined]
        plain = plain and type(target).__module__.startswith("django.db.models.fields")
        auto_now = getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False)
        as_is = (
            _AS_IS.get(target.get_internal_type(), ()) if plain and vendor == "postgresql" else ()
        )
        plan.append((field, None if auto_now or not plain else field.attname, as_is))
    return plan


def _row_params(instance: models.Model, plan, params: list) -> None:
    for field, attname, as_is in plan:
        value = getattr(instance, attname) if attname else field.pre_save(instance, True)
        kind = type(value)
        if value is None and as_is:
            params.append(None)
        elif kind in as_is and (
            (kind is datetime and value.tzinfo is not None)
            or (kind is Decimal and value.is_finite())
            or kind not in (datetime, Decimal)
        ):
            params.append(value)
        else:
            params.append(field.get_db_prep_save(value, connection))


def rows_insert(instances: Sequence[models.Model], *, per_statement: int = 1000) -> None:
    """`bulk_create(instances)` of new rows of one model, their ids set: one multi-row INSERT
    per `per_statement` rows, with the SQL of a row built once, and each value prepared as a
    save prepares it (values the driver takes as they are pass without the field's call).
    The ORM's bulk_create compiles every value through the query compiler, most of a batch's
    INSERT cost (issue 17). No save() override or signal runs."""
    _rows_write(instances, conflict="", read_ids=True, per_statement=per_statement)


def rows_upsert(
    instances: Sequence[models.Model],
    *,
    unique: Sequence[str],
    update_fields: Sequence[str] = (),
    per_statement: int = 1000,
) -> None:
    """`bulk_create(instances, update_conflicts=True, unique_fields=unique,
    update_fields=update_fields)` (or `ignore_conflicts=True` without update_fields), as
    rows_insert builds it; ids are not read back."""
    if not instances:
        return
    meta = type(instances[0])._meta
    columns = ", ".join(_quote(meta.get_field(name).column) for name in unique)  # type: ignore[union-attr]
    if update_fields:
        sets = ", ".join(
            f"{(c := _quote(meta.get_field(name).column))} = EXCLUDED.{c}"  # type: ignore[union-attr]
            for name in update_fields
        )
        conflict = f" ON CONFLICT ({columns}) DO UPDATE SET {sets}"
    else:
        conflict = f" ON CONFLICT ({columns}) DO NOTHING"
    _rows_write(instances, conflict=conflict, read_ids=False, per_statement=per_statement)


def _rows_write(instances, *, conflict: str, read_ids: bool, per_statement: int) -> None:
    if not instances:
        return
    model = type(instances[0])
    sql, _ = _insert_sql(model, connection.vendor)
    plan = _row_plan(model, connection.vendor)
    head, _, tail = sql.partition(" VALUES ")
    row, _, returning = tail.partition(" RETURNING ")
    auto_field = model._meta.auto_field
    read_ids = read_ids and auto_field is not None
    if read_ids and not returning:  # no ids to read back: the ORM's way
        model._default_manager.bulk_create(instances)
        return
    with connection.cursor() as cursor:
        for start in range(0, len(instances), per_statement):
            chunk = instances[start : start + per_statement]
            params: list = []
            for instance in chunk:
                _row_params(instance, plan, params)
            statement = f"{head} VALUES {', '.join([row] * len(chunk))}{conflict}"
            if read_ids:
                statement += f" RETURNING {returning}"
            cursor.execute(statement, params)
            if read_ids:
                # PostgreSQL returns the rows of a multi-row VALUES in their order (as the
                # ORM's bulk_create relies on).
                for instance, (pk,) in zip(chunk, cursor.fetchall(), strict=True):
                    setattr(instance, auto_field.attname, pk)  # type: ignore[union-attr]
    if read_ids or auto_field is None:
        for instance in instances:
            instance._state.adding = False
            instance._state.db = connection.alias
