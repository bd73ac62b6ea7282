"""Database helpers the ORM lacks."""

from django.db import connection


def counter_add(model, pk: int, field: str, n: int = 1, returning: tuple[str, ...] = ()
                ) -> tuple:
    """Add n to a counter column of one row and read it back (with `returning`'s columns)
    in one statement: UPDATE ... RETURNING, which PostgreSQL and SQLite (3.35+) both have
    and Django's update() does not. The row stays locked until the caller's transaction
    ends, as with update(). Returns the new value, then the returning columns, in order."""
    qn = connection.ops.quote_name
    opts = model._meta
    column = qn(opts.get_field(field).column)
    back = ", ".join([column, *(qn(opts.get_field(name).column) for name in returning)])
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {qn(opts.db_table)} SET {column} = {column} + %s "
            f"WHERE {qn(opts.pk.column)} = %s RETURNING {back}", [n, pk])
        return tuple(cursor.fetchone())
