import io
from pathlib import Path

import pytest
from django.core.management import call_command

from annotation import services
from annotation.models import Annotation, Category, Project, Report
from tests.support import add_reports


def test_splits_are_chronological_with_counts(project):
    add_reports(project, 20)
    assert services.splits_assign(project=project, counts=(12, 3, 5)) == {
        "train": 12, "validation": 3, "test": 5}
    reports = list(Report.objects.filter(project=project).order_by("procedure_date", "accession"))
    assert [r.split for r in reports] == ["train"] * 12 + ["validation"] * 3 + ["test"] * 5
    latest_train = max(r.procedure_date for r in reports if r.split == "train")
    assert all(r.procedure_date >= latest_train for r in reports if r.split == "test")


def test_splits_from_fractions(project):
    add_reports(project, 100)
    counts = services.splits_assign(project=project, fractions=(0.71, 0.08, 0.21))
    assert counts == {"train": 71, "validation": 8, "test": 21}


def test_counts_that_do_not_add_up_are_refused(project):
    add_reports(project, 10)
    with pytest.raises(services.SplitError, match="add up to 11 but the project has 10"):
        services.splits_assign(project=project, counts=(8, 2, 1))
    assert not Report.objects.exclude(split="unassigned").exists()


def test_assign_splits_command_keeps_given_splits_with_only_unassigned(project):
    add_reports(project, 10)
    Report.objects.filter(accession="R0001").update(split="test")
    out = io.StringIO()
    call_command("assign_splits", "--project", "ct-ir", "--train", "6", "--val", "1",
                 "--test", "2", "--only-unassigned", stdout=out)
    assert "train 6, validation 1, test 2" in out.getvalue()
    assert Report.objects.get(accession="R0001").split == "test"


def test_assign_splits_leaves_out_reports_without_a_date_and_says_so(project):
    add_reports(project, 10)
    Report.objects.filter(accession__in=["R0001", "R0009"]).update(procedure_date=None)
    Report.objects.filter(accession="R0009").update(split="train")  # a label's draw
    out = io.StringIO()
    call_command("assign_splits", "--project", "ct-ir", "--train", "5", "--val", "1",
                 "--test", "2", stdout=out)
    assert out.getvalue().splitlines() == [
        "Assigned chronologically: train 5, validation 1, test 2",
        "Left out: 2 reports without a procedure date (they keep their split; import them "
        "again with their dates, then split again)"]
    assert {r.accession: r.split for r in Report.objects.filter(procedure_date__isnull=True)
            } == {"R0001": "unassigned", "R0009": "train"}
    assert not Report.objects.filter(procedure_date__isnull=True, split="test").exists()
    # Undated reports come last in the project's order, on SQLite as on PostgreSQL.
    assert list(Report.objects.filter(project=project).values_list("accession", flat=True)
                )[-2:] == ["R0001", "R0009"]


def test_export_round_trip_gives_the_same_labels(project, tmp_path: Path, annotator):
    add_reports(project, 12)
    services.splits_assign(project=project, counts=(8, 2, 2))
    report = Report.objects.get(accession="R0003")
    category = Category.objects.get(project=project, code=2)
    now = report.created
    Annotation.objects.create(report=report, user=annotator, category=category, served_at=now,
                              submitted_at=now, active_ms=1200)
    for fmt in ("csv", "jsonl"):
        out = tmp_path / f"export.{fmt}"
        call_command("export_labels", "--project", "ct-ir", "--format", fmt, "-o", str(out))
        copy = Project.objects.create(name=f"Copy {fmt}", slug=f"copy-{fmt}")
        for c in Category.objects.filter(project=project):
            Category.objects.create(project=copy, code=c.code, name=c.name, key=c.key)
        result = services.reports_import(project=copy, path=out)
        assert result.batch.reports_created == 12
        assert any("annotator:anna-annotator" in w for w in result.plan.warnings)
        original = dict(Report.objects.filter(project=project).values_list(
            "accession", "reference_label__category__code"))
        copied = dict(Report.objects.filter(project=copy).values_list(
            "accession", "reference_label__category__code"))
        assert copied == original
        splits = dict(Report.objects.filter(project=copy).values_list("accession", "split"))
        assert splits == dict(Report.objects.filter(project=project).values_list(
            "accession", "split"))
    header = (tmp_path / "export.csv").read_text().splitlines()[0]
    assert header.endswith("label_set_by,annotator:anna-annotator")
    row = [line for line in (tmp_path / "export.csv").read_text().splitlines()
           if line.startswith("R0003")][0]
    assert row.endswith(",2")


def test_reference_label_changes_keep_history(project, admin_user):
    add_reports(project, 1)
    report = Report.objects.get()
    two = Category.objects.get(project=project, code=2)
    services.reference_label_set(report=report, category=two, method="adjudication",
                                 user=admin_user, reason="pleural mass is soft tissue")
    history = list(report.label_history.values_list(
        "old_category__code", "new_category__code", "new_method", "reason"))
    assert history == [(None, 1, "imported", "test"),
                       (1, 2, "adjudication", "pleural mass is soft tissue")]


def test_exports_read_in_chunks_keep_the_date_order(project, monkeypatch):
    """The exports load their reports a chunk at a time by id (selectors._in_date_order):
    across chunk boundaries the order is still the project's date order, undated last."""
    from annotation import selectors

    monkeypatch.setattr(selectors, "EXPORT_CHUNK", 3)
    add_reports(project, 10)
    Report.objects.filter(accession="R0004").update(procedure_date=None)
    expected = list(Report.objects.filter(project=project).values_list("accession", flat=True))
    assert expected[-1] == "R0004"
    _, rows = selectors.export_rows(project)
    assert [row["accession"] for row in rows] == expected
    assert [row["accession"] for row in selectors.export_reports(project)] == expected
