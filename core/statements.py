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
