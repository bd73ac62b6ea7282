"""The Django admin keeps the append-only records append-only and label history whole."""

import pytest
from django.contrib.auth.models import User
from django.urls import reverse

from annotation.models import (
    Annotation,
    Category,
    ReferenceLabel,
    ReferenceLabelChange,
    Report,
)
from tests.support import add_unlabelled, answer

APPEND_ONLY = ["annotation", "referencelabel", "referencelabelchange"]


@pytest.fixture
def superuser_client(client, db):
    client.force_login(User.objects.create_superuser("root", password="pw-root-admin"))
    return client


@pytest.fixture
def labelled(project, annotator):
    add_unlabelled(project, 1)
    answer(project, annotator, 2)
    return Report.objects.get(project=project)


@pytest.mark.parametrize("model", APPEND_ONLY)
def test_a_superuser_cannot_add_append_only_rows(superuser_client, labelled, model):
    url = reverse(f"admin:annotation_{model}_add")
    before = (Annotation.objects.count(), ReferenceLabel.objects.count(),
              ReferenceLabelChange.objects.count())
    assert superuser_client.get(url).status_code == 403
    assert superuser_client.post(url, {"report": labelled.pk}).status_code == 403
    changelist = superuser_client.get(reverse(f"admin:annotation_{model}_changelist"))
    assert changelist.status_code == 200 and url not in changelist.content.decode()
    assert before == (Annotation.objects.count(), ReferenceLabel.objects.count(),
                      ReferenceLabelChange.objects.count())


@pytest.mark.parametrize("model", APPEND_ONLY)
def test_a_superuser_cannot_delete_append_only_rows(superuser_client, labelled, model):
    row = {"annotation": Annotation, "referencelabel": ReferenceLabel,
           "referencelabelchange": ReferenceLabelChange}[model].objects.get()
    url = reverse(f"admin:annotation_{model}_delete", args=[row.pk])
    assert superuser_client.post(url, {"post": "yes"}).status_code == 403
    assert type(row).objects.filter(pk=row.pk).exists()


@pytest.mark.parametrize("model", ["annotation", "referencelabelchange"])
def test_annotations_and_history_are_not_editable(superuser_client, labelled, model):
    row = {"annotation": Annotation, "referencelabelchange": ReferenceLabelChange}[
        model].objects.get()
    url = reverse(f"admin:annotation_{model}_change", args=[row.pk])
    assert superuser_client.get(url).status_code == 200  # shown read-only
    assert superuser_client.post(url, {"category": 4, "reason": "x"}).status_code == 403


def test_a_reference_label_edit_goes_through_the_service_with_history(
        superuser_client, project, other_project, labelled):
    label = ReferenceLabel.objects.get(report=labelled)
    url = reverse("admin:annotation_referencelabel_change", args=[label.pk])
    four = Category.objects.get(project=project, code=4)
    missing = superuser_client.post(url, {"category": four.pk, "reason": "  "})
    assert missing.status_code == 200 and "This field is required" in missing.content.decode()
    label.refresh_from_db()
    assert label.category.code == 2
    done = superuser_client.post(url, {"category": four.pk, "reason": "bone needle, L2"})
    assert done.status_code == 302
    label.refresh_from_db()
    assert (label.category, label.method, label.set_by.username) == (four, "adjudication",
                                                                      "root")
    last = ReferenceLabelChange.objects.filter(report=labelled).last()
    assert (last.old_category.code, last.new_category.code, last.old_method, last.new_method,
            last.changed_by.username, last.reason) == (
        2, 4, "single", "adjudication", "root", "bone needle, L2")
    # A category of another project is not offered, so cannot be set.
    foreign = Category.objects.create(project=other_project, code=1, name="Drain", key="1")
    wrong = superuser_client.post(url, {"category": foreign.pk, "reason": "r"})
    assert wrong.status_code == 200 and "Select a valid choice" in wrong.content.decode()
    label.refresh_from_db()
    assert label.category == four
