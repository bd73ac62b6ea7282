"""core.db.CompiledQuery: a query compiled once gives what its queryset gives, for any
values, and refuses what it cannot swap."""

import datetime

import pytest
from django.db.models import Count, Q
from django.utils import timezone

from annotation.models import Patient, Report, ReportClaim
from core.db import CompiledQuery


@pytest.fixture
def reports(project, annotator):
    patient = Patient.objects.create(project=project, pseudo_id="P1")
    made = [Report.objects.create(project=project, patient=patient, accession=f"A{i}",
                                  procedure_date=datetime.date(2024, 1, 1 + i), text=f"t{i}")
            for i in range(5)]
    now = timezone.now()
    for i, report in enumerate(made[:3]):
        ReportClaim.objects.create(report=report, user=annotator,
                                   expires_at=now + datetime.timedelta(minutes=2 * i - 1))
    return made


def _claims(*, user_id, after, accession):
    return (ReportClaim.objects.filter(user_id=user_id, expires_at__gt=after)
            .exclude(report__accession=accession).select_related("report__project")
            .order_by("expires_at"))


def _counts(*, project_id, after):
    return (Report.objects.filter(project_id=project_id).order_by().values("project_id")
            .annotate(n=Count("id"), claimed=Count("claims", filter=Q(
                claims__expires_at__gt=after))))


@pytest.mark.django_db
def test_a_compiled_query_gives_what_its_queryset_gives_for_any_values(
        settings, reports, annotator, project, django_assert_num_queries):
    settings.CTIR_CHECK_COMPILED_QUERIES = False  # what production runs
    compiled = CompiledQuery(_claims)
    now = timezone.now()
    for user_id, after, accession in [(annotator.pk, now, "A1"), (annotator.pk, now, "A9"),
                                      (annotator.pk, now - datetime.timedelta(hours=1), "A0"),
                                      (annotator.pk + 1, now, "A1")]:
        expected = list(_claims(user_id=user_id, after=after, accession=accession))
        with django_assert_num_queries(1):
            got = compiled.fetch((), user_id=user_id, after=after, accession=accession)
            # select_related rows come with the query, not with a query each
            assert [(c.pk, c.report.accession, c.report.project.slug) for c in got] == [
                (c.pk, c.report.accession, c.report.project.slug) for c in expected]
    # the values really changed the rows: otherwise this test would prove nothing
    assert len(compiled.fetch((), user_id=annotator.pk, after=now, accession="A9")) == 2
    assert compiled.fetch((), user_id=annotator.pk + 1, after=now, accession="A9") == []
    assert len(compiled._compiled) == 1  # compiled once

    counts = CompiledQuery(_counts)
    for after in (now - datetime.timedelta(hours=1), now, now + datetime.timedelta(hours=1)):
        assert counts.fetch((), project_id=project.pk, after=after) == list(
            _counts(project_id=project.pk, after=after))
    assert counts.fetch((), project_id=project.pk, after=now)[0]["claimed"] == 2


@pytest.mark.django_db
def test_a_build_reading_what_its_shape_does_not_name_fails_under_the_check(
        settings, reports, annotator):
    settings.CTIR_CHECK_COMPILED_QUERIES = True
    limit = {"n": 1}

    def careless(*, user_id):  # reads `limit`, which no shape names
        return ReportClaim.objects.filter(user_id=user_id).exclude(
            report__accession=f"A{limit['n']}")

    compiled = CompiledQuery(careless)
    assert len(compiled.fetch((), user_id=annotator.pk)) == 2
    limit["n"] = 2
    with pytest.raises(RuntimeError, match="name what build reads in the shape"):
        compiled.fetch((), user_id=annotator.pk)
    # named in the shape, it compiles again and holds
    shaped = CompiledQuery(careless)
    assert len(shaped.fetch((limit["n"],), user_id=annotator.pk)) == 2


@pytest.mark.django_db
def test_values_that_cannot_be_swapped_are_refused(reports, annotator):
    def shifted(*, n):
        return ReportClaim.objects.filter(pk__gt=n + 1)  # the parameter is not n

    with pytest.raises(ValueError, match=r"\['n'\] did not reach the SQL"):
        CompiledQuery(shifted).fetch((), n=2)

    def containing(*, text):
        return Report.objects.filter(text__contains=text)  # the parameter is '%text%'

    with pytest.raises(ValueError, match="did not reach the SQL"):
        CompiledQuery(containing).fetch((), text="t1")
    def derived(*, user_id, after):  # `after` reaches the SQL as itself and an hour earlier
        return ReportClaim.objects.filter(user_id=user_id, expires_at__lt=after,
                                          expires_at__gt=after - datetime.timedelta(hours=1))

    with pytest.raises(ValueError, match="cannot be swapped"):
        CompiledQuery(derived).fetch((), user_id=annotator.pk, after=timezone.now())

    def factor(*, user_id):  # a number computed from the value, as a random order's factor
        return ReportClaim.objects.filter(user_id=user_id).exclude(
            report_id=user_id * 7 + 1)

    with pytest.raises(ValueError, match="cannot be swapped"):
        CompiledQuery(factor).fetch((), user_id=annotator.pk)
    with pytest.raises(TypeError, match="put it in the shape"):
        CompiledQuery(_claims).fetch((), user_id=annotator.pk, after=1.5, accession="A1")


@pytest.mark.django_db(transaction=True)
def test_a_locking_query_outside_a_transaction_is_refused(reports, annotator):
    from django.db import connection, transaction
    from django.db.transaction import TransactionManagementError

    def locked(*, user_id):
        return ReportClaim.objects.select_for_update().filter(user_id=user_id)

    compiled = CompiledQuery(locked)
    with transaction.atomic():
        assert len(compiled.fetch((), user_id=annotator.pk)) == 3
    if not connection.features.has_select_for_update:
        return  # SQLite: the ORM does not lock, nor refuse, either
    with pytest.raises(TransactionManagementError):
        compiled.fetch((), user_id=annotator.pk)


def test_the_test_suite_checks_every_compiled_query():
    # tests/conftest.py turns the check on, so every compiled query the tests run is also
    # compared with a fresh build of its queryset.
    from django.conf import settings

    assert settings.CTIR_CHECK_COMPILED_QUERIES is True
