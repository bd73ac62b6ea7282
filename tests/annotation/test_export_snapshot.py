"""An export reads one snapshot of the project, on a cursor PostgreSQL streams (not one it
materialises whole before the first row), and leaves no transaction behind."""

import threading

import pytest
from django.db import connection, connections

from annotation import selectors
from annotation.models import Report
from tests.support import add_reports


def _delete_elsewhere(accession) -> bool:
    """Delete on another connection, as an admin would while the export streams; whether
    that connection then still finds the report."""
    found = []

    def run():
        try:
            Report.objects.filter(accession=accession).delete()
            found.append(Report.objects.filter(accession=accession).exists())
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(30)
    return found == [True]


def _cursors_holdable():
    with connection.cursor() as cursor:
        cursor.execute("SELECT is_holdable FROM pg_cursors")
        return [row[0] for row in cursor.fetchall()]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("export", ["reports", "csv rows"])
def test_an_export_reads_one_snapshot_on_a_streamed_cursor(project, monkeypatch, export):
    if connection.vendor != "postgresql":
        pytest.skip("cursors and snapshots are PostgreSQL's")
    add_reports(project, 7)
    monkeypatch.setattr(selectors, "EXPORT_CHUNK", 2)  # the chunks load as the export goes
    everything = sorted(Report.objects.filter(project=project)
                        .values_list("accession", flat=True))
    rows = (selectors.export_reports(project) if export == "reports"
            else selectors.export_rows(project)[1])
    first = next(rows)
    # The ids' cursor is open inside the export's transaction: not WITH HOLD, which
    # PostgreSQL fills with every id before it answers.
    assert _cursors_holdable() == [False]
    assert connection.in_atomic_block
    last = max(everything)
    assert first["accession"] != last
    assert not _delete_elsewhere(last)  # gone for everyone else...
    exported = [first["accession"], *(row["accession"] for row in rows)]
    # ...but the export reads the project as it was when it began.
    assert sorted(exported) == everything
    assert not connection.in_atomic_block and _cursors_holdable() == []


@pytest.mark.django_db(transaction=True)
def test_an_export_stopped_halfway_ends_its_transaction(project, monkeypatch):
    if connection.vendor != "postgresql":
        pytest.skip("cursors and snapshots are PostgreSQL's")
    add_reports(project, 5)
    monkeypatch.setattr(selectors, "EXPORT_CHUNK", 2)
    rows = selectors.export_reports(project)
    next(rows)
    assert connection.in_atomic_block
    rows.close()  # a download cancelled: the response closes its iterator
    assert not connection.in_atomic_block and _cursors_holdable() == []
    assert Report.objects.filter(project=project).count() == 5


def test_an_export_inside_a_transaction_reads_in_it(project):
    # The test's own transaction: the export neither opens nor ends one.
    add_reports(project, 3)
    assert connection.in_atomic_block
    assert len(list(selectors.export_reports(project))) == 3
    assert connection.in_atomic_block
