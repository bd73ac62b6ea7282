"""A dropped database connection (PostgreSQL restarting) gets a clear answer, not a bare 500,
and the same click works once the connection is back: nothing half-written, nothing lost."""

import datetime
import re

import psycopg
import pytest
from django.db import close_old_connections, connection
from django.test import Client

from annotation import services
from annotation.importing.checks import ParsedRow
from annotation.models import Annotation
from ctir_site.errors import DATABASE_DOWN

pytestmark = pytest.mark.django_db(transaction=True)  # the test kills its own connection
TOKEN = re.compile(r'name="token" value="([^"]+)"')


def _terminate_this_connection():
    """What a PostgreSQL restart does to every open connection, done to this one only."""
    pid = connection.connection.info.backend_pid
    db = connection.settings_dict
    with psycopg.connect(host=db["HOST"] or "127.0.0.1", port=db["PORT"] or 5432,
                         user=db["USER"], dbname=db["NAME"], autocommit=True) as other:
        assert other.execute("select pg_terminate_backend(%s)", [pid]).fetchone()[0]


def test_a_dropped_connection_answers_503_with_what_to_do_and_the_retry_saves(project,
                                                                            annotator):
    if connection.vendor != "postgresql":
        pytest.skip("terminates a PostgreSQL backend (DATABASE_URL)")
    services.reports_write(project=project, rows=[ParsedRow(
        line=1, accession="R1", patient_id="P1", sex="F", age=50,
        procedure_date=datetime.date(2020, 1, 1),
        text="CT-guided drainage of a pelvic collection.", label=None, split=None)],
        batch=None, user=None, reason="test")
    client = Client(raise_request_exception=False)
    client.force_login(annotator)
    url = f"/p/{project.slug}/annotate/"
    page = client.get(url)
    assert b"js/server-errors.js" in page.content  # htmx shows the message on a 5xx
    answer = {"token": TOKEN.search(page.content.decode()).group(1), "category": 1,
              "active_ms": 800}
    _terminate_this_connection()
    try:
        down = client.post(url, answer, headers={"HX-Request": "true"})
        assert down.status_code == 503 and down["Retry-After"] == "5"
        assert DATABASE_DOWN in down.content.decode()
        assert 'id="server-error"' in down.content.decode()
    finally:
        # What the WSGI handler does before the next request (the test client does not):
        # the broken connection is dropped and the next query opens a fresh one.
        close_old_connections()
    assert Annotation.objects.count() == 0  # the failed request wrote nothing
    again = client.post(url, answer, headers={"HX-Request": "true"})
    assert again.status_code == 200
    assert Annotation.objects.get().category.code == 1
    again_twice = client.post(url, answer, headers={"HX-Request": "true"})  # a double click
    assert again_twice.status_code == 200 and Annotation.objects.count() == 1
