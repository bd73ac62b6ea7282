"""A validation set that grows from the first labels, for reports that arrive without splits."""

import dataclasses

import pytest
from django.urls import reverse

from annotation import models as annotation_models
from annotation import services as annotation_services
from annotation.models import Category, LabelMethod, Report, Split
from core.models import JobStatus
from modeling import jobs, services
from tests.support import labelled_rows


@pytest.fixture
def incoming(project):
    """Reports of a new site: no labels, no splits (13 of each category, in date order)."""
    rows = [dataclasses.replace(r, label=None, split=None)
            for r in labelled_rows({"train": 13}, prefix="N")]
    annotation_services.reports_write(project=project, rows=rows, batch=None, user=None,
                                      reason="test")
    truth = {r.accession: r.label for r in labelled_rows({"train": 13}, prefix="N")}
    return project, truth


def label_all(project, truth, accessions=None):
    categories = {c.code: c for c in Category.objects.filter(project=project)}
    for report in Report.objects.filter(project=project).order_by("procedure_date"):
        if accessions is None or report.accession in accessions:
            annotation_services.reference_label_set(
                report=report, category=categories[truth[report.accession]],
                method=LabelMethod.SINGLE, user=None)


def splits_of(project, code):
    return [r.split for r in Report.objects.filter(
        project=project, reference_label__category__code=code).order_by("procedure_date")]


def test_it_draws_the_3rd_and_every_5th_label_of_each_category_into_validation(incoming):
    project, truth = incoming
    label_all(project, truth)
    for code in (1, 2, 3, 4):
        splits = splits_of(project, code)
        assert [i + 1 for i, s in enumerate(splits) if s == Split.VALIDATION] == [3, 8, 13]
        assert splits.count(Split.TRAIN) == 10
    assert not Report.objects.filter(split=Split.UNASSIGNED).exists()


def test_it_stops_at_the_cap_and_keeps_given_splits_and_corrections(incoming, monkeypatch):
    project, truth = incoming
    monkeypatch.setattr(annotation_services, "VALIDATION_CAP_PER_CATEGORY", 2)
    Report.objects.filter(accession="N0000").update(split=Split.TEST)
    label_all(project, truth)
    assert Report.objects.get(accession="N0000").split == Split.TEST  # kept
    assert splits_of(project, 2).count(Split.VALIDATION) == 2  # 3rd and 8th, not the 13th
    report = Report.objects.filter(split=Split.VALIDATION).first()
    annotation_services.reference_label_set(  # a correction draws nothing new
        report=report, category=Category.objects.get(project=project, code=4),
        method=LabelMethod.ADJUDICATION, user=None, reason="second look")
    report.refresh_from_db()
    assert report.split == Split.VALIDATION
    assert Category.objects.get(project=project, code=4).labels_drawn == 13


def test_imported_labels_keep_their_split(project):
    rows = [dataclasses.replace(r, split=None) for r in labelled_rows({"train": 3})]
    annotation_services.reports_write(project=project, rows=rows, batch=None, user=None,
                                      reason="test")
    assert set(Report.objects.values_list("split", flat=True)) == {Split.UNASSIGNED}


def test_three_labels_a_category_train_a_model_never_on_its_validation(incoming,
                                                                       model_settings):
    project, truth = incoming
    first_three = {r.accession for r in labelled_rows({"train": 13}, prefix="N")
                   if int(r.accession[1:]) % 13 < 3}
    label_all(project, truth, first_three)
    data = jobs.training_data(project)
    assert (len(data[Split.TRAIN]), len(data[Split.VALIDATION])) == (8, 4)
    validation = set(Report.objects.filter(split=Split.VALIDATION).values_list("text",
                                                                                flat=True))
    assert not validation & {text for text, _ in data[Split.TRAIN]}
    version = services.model_version_create(
        project=project, recipe={"epochs": 1, "seeds": 1, "max_length": 64}, enqueue=False)
    version = jobs.train_version(version.pk)
    assert version.status == JobStatus.SUCCEEDED, version.error
    assert version.metrics["validation"]["n"] == 4


def test_the_models_page_says_how_big_it_is_and_how_wide_its_interval(
        login, incoming, admin_user):
    project, truth = incoming
    label_all(project, truth)
    page = login(admin_user).get(reverse("models", args=[project.slug])).content.decode()
    assert "<strong>12</strong> labelled validation reports" in page
    assert "category 1: 3, category 2: 3" in page
    # No active model: shown at 97%; 12/12 gives (73.5%, 100%).
    assert "At 97.0% accuracy its exact 95% confidence interval is 73.5%–100.0%" in page
    assert '<strong id="ci-width">26.5% wide</strong>' in page
    assert f"the {annotation_models.VALIDATION_FIRST}rd label" in page
