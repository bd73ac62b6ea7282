"""core.db.prepared_cursor: the answer path's statements prepared on PostgreSQL, and only
those: Django's own queries keep binding parameters on the client."""

import pytest
from django.db import connection

from annotation.models import Report
from core.db import prepared_cursor

pytestmark = pytest.mark.django_db


def _prepared(sql_start: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE %s",
                       [sql_start + "%"])
        return cursor.fetchone()[0]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL prepares")
def test_a_statement_run_often_is_prepared_on_the_server(settings):
    settings.CTIR_PREPARED_STATEMENTS = True
    sql = "SELECT %s::bigint + 40 AS prepared_probe"
    for n in range(6):
        with prepared_cursor() as cursor:
            cursor.execute(sql, [n])
            assert cursor.fetchone() == (n + 40,)
    assert _prepared("SELECT $1::bigint + 40 AS prepared_probe") == 1


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL prepares")
def test_off_nothing_is_prepared(settings):
    settings.CTIR_PREPARED_STATEMENTS = False
    for n in range(6):
        with prepared_cursor() as cursor:
            cursor.execute("SELECT %s::bigint + 41 AS unprepared_probe", [n])
    assert _prepared("SELECT $1::bigint + 41") == 0


def test_django_queries_still_take_more_ids_than_a_statement_has_parameters(project):
    # Server-bound parameters stop at 65,535 a statement; a big project's cascade delete
    # lists more ids than that, so Django's own queries must keep client-side binding.
    assert Report.objects.filter(pk__in=range(1, 70_001)).count() == 0
