"""Database helpers the ORM lacks."""

import datetime
from contextlib import contextmanager

from django.conf import settings
from django.db import connection, transaction
from django.db.backends.utils import CursorDebugWrapper, CursorWrapper
from django.db.models.lookups import IContains
from django.db.transaction import TransactionManagementError


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


@contextmanager
def one_snapshot():
    """Reads in a REPEATABLE READ transaction of their own on PostgreSQL, for a long read that
    yields as it goes (an export): every statement sees the data as it was at the first, and
    a chunked iterator's cursor lives inside a transaction. Outside one, Django declares the
    cursor WITH HOLD, and PostgreSQL then materialises the whole result before the first row
    (a million report ids: about 2 s before an export's first byte). Inside a transaction
    already, or on SQLite, the reads run as they are."""
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        yield
        return
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        yield


def _caseless(ch: str) -> bool:
    return ch.upper() == ch.lower() == ch


class SearchIContains(IContains):
    """`icontains` for a search box, with the same matches found two to four times as fast on
    PostgreSQL, where a rare term reads every text. Django writes UPPER(text) LIKE UPPER(term),
    and UPPER under the database's libc locale maps each character through the C library.
    - A term without letters that have a case (Japanese, digits, an accession's punctuation)
      has nothing to fold: LIKE under the "C" collation compares the bytes (4x).
    - A term of ASCII letters and such characters: ILIKE under "C" folds A-Z alone (2x), as
      SQLite's LIKE does. Its letters can only match ASCII letters, so only a text spelling
      one with a rare look-alike differs (a dotless i or a long s, which UPPER makes I and S).
    - Any other term (an accented or a full-width letter) keeps Django's full folding."""

    def as_postgresql(self, compiler, connection):
        term = self.rhs
        if not (isinstance(term, str) and all(ch.isascii() or _caseless(ch) for ch in term)):
            return self.as_sql(compiler, connection)
        operator = "LIKE" if all(_caseless(ch) for ch in term) else "ILIKE"
        lhs, lhs_params = compiler.compile(self.lhs)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        return f'{lhs} COLLATE "C" {operator} {rhs}', (*lhs_params, *rhs_params)


@contextmanager
def prepared_cursor():
    """A cursor whose statements PostgreSQL prepares once run five times on the connection
    (psycopg's threshold), for the few statements every answer runs: planning them each time
    cost about as much as running them. Parameters are bound by the server, for these
    statements only: Django's own queries keep binding on the client, where a list of more
    than 65,535 ids (a big project's cascade delete) still works. Elsewhere, and with
    CTIR_PREPARED_STATEMENTS off, Django's usual cursor."""
    if connection.vendor != "postgresql" or not settings.CTIR_PREPARED_STATEMENTS:
        with connection.cursor() as cursor:
            yield cursor
        return
    from django.db.backends.postgresql.base import ServerBindingCursor

    connection.close_if_health_check_failed()
    connection.ensure_connection()
    connection.validate_thread_sharing()
    with connection.wrap_database_errors:
        raw = ServerBindingCursor(connection.connection)
    # Wrapped as connection.cursor() wraps its own, so the statements are counted and logged
    # like any other (the query-count tests see them).
    wrapper = _PreparedDebugWrapper if connection.queries_logged else CursorWrapper
    with wrapper(raw, connection) as cursor:
        yield cursor


class _PreparedDebugWrapper(CursorDebugWrapper):
    """Django's query log reads a statement's text back from psycopg, which keeps none for a
    statement it ran prepared: the log shows the SQL as written, with its placeholders."""

    def execute(self, sql, params=None):
        with self.debug_sql(sql, params):
            return CursorWrapper.execute(self, sql, params)


class CompiledQuery:
    """An ORM query built and compiled to SQL once per process for each shape, then run
    again with new values swapped into its parameters.

    Why: on the answer path (every annotator, all day) building a queryset with a few
    subqueries and compiling it costs Django 1-3 ms of Python, more than PostgreSQL takes to
    run it. The queryset stays the one definition of the query; this only remembers its SQL.

    `build(*args, **values)` makes the queryset. It is called once per `shape` with
    stand-in values (unusual ints, strings and datetimes), and the stand-ins are found again among
    the compiled parameters. `shape` is a key naming everything else the SQL depends on:
    what `build` reads of its `args` (a project's queue settings, say). Only ints, strings
    and datetimes can be swapped, and only where they reach the SQL as parameters
    unchanged (not a LIMIT, not a pattern built from a string); anything else belongs in
    the shape.

    With settings.CTIR_CHECK_COMPILED_QUERIES (on in the test suite) every run also builds
    and compiles the query the ordinary way and raises if the SQL or its parameters differ,
    so a `build` that reads something its shape does not name fails the tests, not a user.
    """

    def __init__(self, build):
        self.build = build
        self._compiled: dict = {}

    def fetch(self, shape: tuple, *args, **values) -> list:
        """The query's rows as its queryset would give them: model instances (with what
        select_related joins), or dicts for a .values() queryset."""
        compiled = self._compiled.get((connection.vendor, shape))
        if compiled is None:
            compiled = self._compiled[(connection.vendor, shape)] = self._compile(args, values)
        sql, slots, compiler, names, locks = compiled
        if locks and connection.get_autocommit():
            # As the ORM refuses it: outside a transaction the lock would end at once.
            raise TransactionManagementError("select_for_update cannot be used outside of a "
                                             "transaction.")
        params = [_swap(values[slot.name]) if isinstance(slot, _Slot) else slot
                  for slot in slots]
        if settings.CTIR_CHECK_COMPILED_QUERIES:
            fresh = self.build(*args, **values).query.get_compiler(connection.alias).as_sql()
            if (sql, list(params)) != (fresh[0], list(fresh[1])):
                raise RuntimeError(
                    f"{self.build.__qualname__}: the compiled query differs from a fresh "
                    f"build for shape {shape!r}; name what build reads in the shape")
        with prepared_cursor() as cursor:
            cursor.execute(sql, params)
            rows = [row[:compiler.col_count] for row in cursor.fetchall()]
        if names is not None:
            return [dict(zip(names, row, strict=False))
                    for row in compiler.results_iter([rows])]
        return _instances(compiler, rows)

    def _compile(self, args: tuple, values: dict):
        # Compiled twice, with two sets of stand-ins: a parameter that is neither a value
        # nor the same constant both times was computed from a value (now minus an hour, a
        # factor from an id) and would be frozen at the first stand-in; so would SQL text
        # that changes with a value.
        queryset, compiler, sql, slots = self._slots(args, values, 0)
        _, _, sql_again, slots_again = self._slots(args, values, len(values))
        same = sql == sql_again and all(
            a.name == b.name if isinstance(a, _Slot) else
            (not isinstance(b, _Slot) and type(a) is type(b) and a == b)
            for a, b in zip(slots, slots_again, strict=True))
        if not same:
            raise ValueError(f"{self.build.__qualname__}: the SQL depends on a value in a way "
                             "that cannot be swapped; put what it depends on in the shape")
        locks = queryset.query.select_for_update and connection.features.has_select_for_update
        query = queryset.query
        names = None
        if queryset._iterable_class.__name__ == "ValuesIterable":
            names = (list(query.selected) if query.selected else
                     [*query.extra_select, *query.values_select, *query.annotation_select])
        elif queryset._iterable_class.__name__ != "ModelIterable":
            raise TypeError("CompiledQuery runs model and .values() querysets")
        return sql, slots, compiler, names, locks

    def _slots(self, args: tuple, values: dict, first: int):
        standins = {name: _standin(name, first + i, value)
                    for i, (name, value) in enumerate(sorted(values.items()))}
        queryset = self.build(*args, **standins)
        compiler = queryset.query.get_compiler(connection.alias)
        sql, params = compiler.as_sql()  # also fills the select that reading rows needs
        swapped = {name: _swap(standin) for name, standin in standins.items()}
        slots = []
        for param in params:
            name = next((n for n, s in swapped.items()
                         if type(param) is type(s) and param == s), None)
            slots.append(param if name is None else _Slot(name))
        missing = set(values) - {s.name for s in slots if isinstance(s, _Slot)}
        if missing:
            raise ValueError(f"{self.build.__qualname__}: {sorted(missing)} did not reach "
                             "the SQL as parameters; put them in the shape")
        return queryset, compiler, sql, slots


class _Slot:
    __slots__ = ("name",)

    def __init__(self, name: str):
        self.name = name


_STANDIN_INT = -7_340_032_000_000_001
_STANDIN_TIME = datetime.datetime(1901, 2, 3, 4, 5, 6, tzinfo=datetime.UTC)


def _standin(name: str, index: int, value):
    if isinstance(value, bool) or not isinstance(value, int | str | datetime.datetime):
        raise TypeError(f"CompiledQuery: {name}={value!r} is not an int, a string or a "
                        "datetime; put it in the shape")
    if isinstance(value, datetime.datetime):
        return _STANDIN_TIME + datetime.timedelta(microseconds=index + 1)
    if isinstance(value, str):
        return f"\x00ctir-standin-{index}"  # never sent: only compiled
    return _STANDIN_INT - index


def _swap(value):
    """A value as the compiled parameters carry it (SQLite's datetimes are text)."""
    if isinstance(value, datetime.datetime):
        return connection.ops.adapt_datetimefield_value(value)
    return value


def _instances(compiler, rows) -> list:
    """Model instances from rows, as Django's ModelIterable makes them."""
    from django.db.models.query import get_related_populators

    db = connection.alias
    select, klass_info = compiler.select, compiler.klass_info
    start, end = klass_info["select_fields"][0], klass_info["select_fields"][-1] + 1
    init_list = [f[0].target.attname for f in select[start:end]]
    populators = get_related_populators(klass_info, select, db)
    model = klass_info["model"]
    instances = []
    for row in compiler.results_iter([rows]):
        obj = model.from_db(db, init_list, row[start:end])
        for populator in populators:
            populator.populate(row, obj)
        for attr, position in (compiler.annotation_col_map or {}).items():
            setattr(obj, attr, row[position])
        instances.append(obj)
    return instances
