"""The API answers 4xx with a reason to every body it should refuse, never 500: bodies that
are not objects, answers the queue no longer takes, retired categories, odd numbers."""

import pytest
from django.urls import reverse

from annotation import services as annotation_services
from annotation.labeling import services as labeling_services
from annotation.models import Annotation, Category, Report
from tests.support import add_unlabelled, bearer

NOT_OBJECTS = ["[]", '["x"]', '"text"', "12", "null", "true"]
WRITES = ["api_queue_skip", "api_annotations", "api_models", "api_prelabel"]


@pytest.mark.usefixtures("workers_up")
@pytest.mark.parametrize("name", WRITES)
@pytest.mark.parametrize("body", NOT_OBJECTS, ids=repr)
def test_it_refuses_a_body_that_is_not_an_object_with_400(project, admin_user, name, body):
    response = bearer(admin_user).post(reverse(name, args=[project.slug]), body,
                                       content_type="application/json")
    assert response.status_code == 400, response.content
    data = response.json()
    assert data["detail"] and isinstance(data["fields"], dict)


def test_it_answers_409_to_an_answer_after_a_skip(project, annotator):
    """The audit's path: next, skip, then answer the same token."""
    add_unlabelled(project, 2)
    client = bearer(annotator)
    token = client.post(reverse("api_queue_next", args=[project.slug])).json()["token"]
    skipped = client.post(reverse("api_queue_skip", args=[project.slug]), {"token": token},
                          format="json")
    assert skipped.status_code == 200
    response = client.post(reverse("api_annotations", args=[project.slug]),
                           {"token": token, "category": 1}, format="json")
    assert response.status_code == 409
    assert "You skipped U00000; that answer was not recorded." == response.json()["detail"]
    assert not Annotation.objects.exists()


def test_it_answers_409_when_the_hold_ran_out(project, annotator):
    add_unlabelled(project, 1)
    client = bearer(annotator)
    token = client.post(reverse("api_queue_next", args=[project.slug])).json()["token"]
    labeling_services.queue_release(report=Report.objects.get(), user=annotator)
    response = client.post(reverse("api_annotations", args=[project.slug]),
                           {"token": token, "category": 1}, format="json")
    assert response.status_code == 409 and "time ran out" in response.json()["detail"]


def test_a_retired_category_is_refused_by_the_api_with_its_name(project, annotator):
    add_unlabelled(project, 1)
    Category.objects.filter(project=project, code=2).update(retired=True)
    client = bearer(annotator)
    token = client.post(reverse("api_queue_next", args=[project.slug])).json()["token"]
    url = reverse("api_annotations", args=[project.slug])
    response = client.post(url, {"token": token, "category": 2}, format="json")
    assert response.status_code == 400
    assert "Category 2 Soft-tissue / fat lesion biopsy is retired" in response.json()["detail"]
    # The known categories offered in a message leave the retired one out.
    unknown = client.post(url, {"token": token, "category": 9}, format="json").json()
    assert "2 Soft-tissue" not in unknown["detail"] and "3 Lung biopsy" in unknown["detail"]
    assert not Annotation.objects.exists()
    # A category name is accepted, as imports accept it.
    named = client.post(url, {"token": token, "category": "bone biopsy"}, format="json")
    assert named.status_code == 201 and named.json()["category"] == 4


def test_a_retired_category_is_refused_by_adjudication_and_the_service(project, admin_user,
                                                                      login):
    add_unlabelled(project, 1)
    report = Report.objects.get()
    retired = Category.objects.get(project=project, code=3)
    retired.retired = True
    retired.save()
    page = login(admin_user).post(reverse("adjudication", args=[project.slug]),
                                  {"report": report.pk, "category": 3, "reason": "looked"},
                                  follow=True)
    assert "is retired" in page.content.decode()
    assert not hasattr(Report.objects.get(pk=report.pk), "reference_label")
    with pytest.raises(annotation_services.CategoryRetired):
        labeling_services.adjudicate(report=report, category=retired, user=admin_user,
                                     reason="x")


@pytest.mark.usefixtures("workers_up")
@pytest.mark.parametrize("epochs", ["１２", "²", "1.5", True, "12" * 20])
def test_training_numbers_are_ascii_whole_numbers(project, admin_user, epochs):
    response = bearer(admin_user).post(reverse("api_models", args=[project.slug]),
                                       {"epochs": epochs}, format="json")
    assert response.status_code == 400
    assert "epochs must be a whole number between 1 and 20" in response.json()["detail"]


def test_the_train_form_refuses_non_ascii_digits(project, admin_user):
    from modeling import services

    with pytest.raises(services.JobError, match="epochs must be a whole number"):
        services.recipe_clean(epochs="１２")
    assert services.recipe_clean(epochs="12")["epochs"] == 12


def test_the_retrain_policy_refuses_non_ascii_digits(project):
    from modeling import services

    with pytest.raises(services.JobError, match="digits 0-9"):
        services.retrain_policy_set(project=project, mode="every", every="２００")
    assert services.retrain_policy_set(project=project, mode="every", every="200").every == 200


def test_the_same_token_with_another_category_is_refused_with_the_recorded_answer(
        project, annotator):
    add_unlabelled(project, 2)
    client = bearer(annotator)
    token = client.post(reverse("api_queue_next", args=[project.slug])).json()["token"]
    url = reverse("api_annotations", args=[project.slug])
    first = client.post(url, {"token": token, "category": 2}, format="json")
    assert first.status_code == 201
    again = client.post(url, {"token": token, "category": 2}, format="json")
    assert again.status_code == 201 and again.json()["id"] == first.json()["id"]  # a retry
    other = client.post(url, {"token": token, "category": 3}, format="json")
    assert other.status_code == 409
    assert "already answered with this token: 2 Soft-tissue" in other.json()["detail"]
    assert Annotation.objects.get().category.code == 2
