"""Database helpers the ORM lacks."""

from django.db import connection


def counter_add(model, pk: int, field: str, n: int = 1, returning: tuple[str, ...] = ()
                ) -> tuple:
    """Add n to a counter column of one row and read it back (with `returning`'s columns)
    in one statement: UPDATE ... RETURNING, which PostgreSQL and SQLite (3.35+) both have
    and Django's update() does not. The row stays locked until the caller's transaction
    ends, as with update(). Returns the new value, then the returning columns, in order."""
    table, pk_column, column, *others = table_and_columns(model, model._meta.pk.name, field,
                                                          *returning)
    back = ", ".join([column, *others])
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table} SET {column} = {column} + %s "
                       f"WHERE {pk_column} = %s RETURNING {back}", [n, pk])
        return tuple(cursor.fetchone())


def insert_sql(instance) -> tuple[str, list]:
    """The INSERT of one model instance (its primary key left to the database, RETURNING it),
    as SQL and parameters: for statements the ORM cannot write, such as an insert behind a
    data-modifying WITH on PostgreSQL. Field defaults and auto_now values are applied as
    save() would."""
    opts = instance._meta
    qn = connection.ops.quote_name
    fields = [f for f in opts.concrete_fields if not f.primary_key]
    sql = (f"INSERT INTO {qn(opts.db_table)} ({', '.join(qn(f.column) for f in fields)}) "
           f"VALUES ({', '.join(['%s'] * len(fields))}) RETURNING {qn(opts.pk.column)}")
    params = [f.get_db_prep_save(f.pre_save(instance, add=True), connection) for f in fields]
    return sql, params


def table_and_columns(model, *fields: str) -> tuple[str, ...]:
    """A model's quoted table name, then the quoted columns of the named fields."""
    qn = connection.ops.quote_name
    opts = model._meta
    return (qn(opts.db_table), *(qn(opts.get_field(f).column) for f in fields))
