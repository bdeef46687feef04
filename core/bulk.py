"""Set-based writes for bulk paths (an import through a staging table): an INSERT ... SELECT
into a model's table, each column either given as SQL or written with the field's default, as
a model's save would write it. Called by the owning app's service for its own table only."""

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
