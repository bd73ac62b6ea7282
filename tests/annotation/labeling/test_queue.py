import datetime
import threading

import pytest
from django.contrib.auth.models import User
from django.db import connection, connections
from django.urls import reverse
from django.utils import timezone

from annotation import services as annotation_services
from annotation.double_reading import required_annotations
from annotation.labeling import services
from annotation.models import (
    Annotation,
    Category,
    Membership,
    Project,
    ReferenceLabel,
    ReportClaim,
    Role,
)
from tests.support import add_unlabelled, answer, served


def test_the_queue_serves_chronologically_and_never_twice_to_one_annotator(project, annotator):
    add_unlabelled(project, 3)
    first = services.queue_next(project=project, user=annotator)
    assert first.accession == "U00000"
    assert services.queue_next(project=project, user=annotator) == first  # held claim
    answer(project, annotator, 4, report=first)
    second = services.queue_next(project=project, user=annotator)
    assert second.accession == "U00001"


def test_single_reading_sets_the_reference_and_stores_timing(project, annotator):
    add_unlabelled(project, 1)
    report = services.queue_next(project=project, user=annotator)
    annotation = services.annotation_submit(
        served=served(report, annotator, suggestion_version_id=7, suggested_code=4,
                      suggested_probability=0.91),
        user=annotator, category=Category.objects.get(project=project, code=4), active_ms=2300,
    )
    assert annotation.active_ms == 2300
    assert annotation.submitted_at > annotation.served_at
    assert annotation.suggestion_model_version_id == 7
    assert annotation.suggested_category.code == 4 and annotation.suggested_probability == 0.91
    assert report.reference_label.method == "single"
    assert not ReportClaim.objects.exists()
    assert services.queue_next(project=project, user=annotator) is None


def test_active_time_cannot_exceed_the_time_on_screen(project, annotator):
    add_unlabelled(project, 1)
    report = services.queue_next(project=project, user=annotator)
    annotation = services.annotation_submit(
        served=served(report, annotator), user=annotator,
        category=Category.objects.get(project=project, code=4), active_ms=10_000_000,
    )
    assert annotation.active_ms <= 6000


def test_a_repeated_submit_records_one_annotation(project, annotator):
    add_unlabelled(project, 1)
    report = services.queue_next(project=project, user=annotator)
    token = served(report, annotator)
    four = Category.objects.get(project=project, code=4)
    services.annotation_submit(served=token, user=annotator, category=four, active_ms=1)
    services.annotation_submit(served=token, user=annotator, category=four, active_ms=1)
    assert Annotation.objects.count() == 1


def test_undo_adds_a_new_annotation_and_keeps_history(project, annotator):
    add_unlabelled(project, 1)
    first = answer(project, annotator, 2)
    report = first.report
    fixed = services.annotation_submit(
        served=served(report, annotator, supersedes_id=first.pk), user=annotator,
        category=Category.objects.get(project=project, code=4), active_ms=900,
    )
    assert fixed.supersedes == first
    assert Annotation.objects.filter(report=report).count() == 2
    report.refresh_from_db()
    assert report.reference_label.category.code == 4
    assert list(report.label_history.values_list("old_category__code", "new_category__code")) == [
        (None, 2), (2, 4)]


@pytest.fixture
def second_annotator(project):
    user = User.objects.create_user("bob-annotator")
    Membership.objects.create(project=project, user=user, role=Role.ANNOTATOR)
    return user


def test_double_reading_agreement_and_disagreement(project, annotator, second_annotator,
                                                   admin_user):
    Project.objects.filter(pk=project.pk).update(annotations_per_report=2)
    project.refresh_from_db()
    add_unlabelled(project, 2)
    r1 = services.queue_next(project=project, user=annotator)
    assert services.queue_next(project=project, user=second_annotator) == r1  # overlap wanted
    answer(project, annotator, 4, report=r1)
    assert not ReferenceLabel.objects.filter(report=r1).exists()  # waits for the second read
    answer(project, second_annotator, 4, report=r1)
    assert ReferenceLabel.objects.get(report=r1).method == "agreement"

    r2 = services.queue_next(project=project, user=annotator)
    answer(project, annotator, 4, report=r2)
    assert services.queue_next(project=project, user=second_annotator) == r2
    answer(project, second_annotator, 2, report=r2)
    assert not ReferenceLabel.objects.filter(report=r2).exists()
    from annotation.labeling.selectors import adjudication_queue

    assert [item["report"] for item in adjudication_queue(project)] == [r2]
    with pytest.raises(ValueError, match="Give a reason"):
        services.adjudicate(report=r2, category=Category.objects.get(project=project, code=4),
                            user=admin_user, reason=" ")
    services.adjudicate(report=r2, category=Category.objects.get(project=project, code=4),
                        user=admin_user, reason="L2 lesion sampled with a bone needle")
    label = ReferenceLabel.objects.get(report=r2)
    assert (label.method, label.set_by) == ("adjudication", admin_user)
    assert adjudication_queue(project) == []


def test_double_reading_on_a_fraction_is_reproducible(project):
    project.annotations_per_report, project.double_read_fraction = 2, 0.3
    counts = [required_annotations(project, pk) for pk in range(1, 2001)]
    share = counts.count(2) / len(counts)
    assert 0.27 < share < 0.33
    assert counts == [required_annotations(project, pk) for pk in range(1, 2001)]


def test_annotations_never_overwrite_an_imported_reference(project, annotator):
    Project.objects.filter(pk=project.pk).update(queue_scope="all")
    project.refresh_from_db()
    add_unlabelled(project, 1)
    report = services.queue_next(project=project, user=annotator)
    annotation_services.reference_label_set(report=report, category=Category.objects.get(
        project=project, code=2), method="imported", user=None)
    answer(project, annotator, 4, report=report)
    assert ReferenceLabel.objects.get(report=report).category.code == 2


def test_skip_releases_the_report_and_moves_on(project, annotator):
    add_unlabelled(project, 2)
    first = services.queue_next(project=project, user=annotator)
    services.report_skip(report=first, user=annotator)
    assert services.queue_next(project=project, user=annotator).accession == "U00001"


def test_two_annotators_are_not_served_the_same_report(project, annotator, second_annotator):
    add_unlabelled(project, 3)
    a = services.queue_next(project=project, user=annotator)
    b = services.queue_next(project=project, user=second_annotator)
    assert a != b


def test_an_expired_claim_is_served_again(project, annotator, second_annotator):
    add_unlabelled(project, 1)
    a = services.queue_next(project=project, user=annotator)
    assert services.queue_next(project=project, user=second_annotator) is None
    ReportClaim.objects.update(expires_at=timezone.now() - datetime.timedelta(seconds=1))
    assert services.queue_next(project=project, user=second_annotator) == a


def test_a_stale_token_never_adds_a_reading_the_report_does_not_need(
        project, annotator, second_annotator):
    add_unlabelled(project, 1)
    report = services.queue_next(project=project, user=annotator)
    stale = served(report, annotator)  # the form stays open past the claim
    ReportClaim.objects.update(expires_at=timezone.now() - datetime.timedelta(seconds=1))
    assert services.queue_next(project=project, user=second_annotator) == report
    answer(project, second_annotator, 4, report=report)
    with pytest.raises(services.AnswerRefused, match="held for you for 15 minutes"):
        services.annotation_submit(served=stale, user=annotator, active_ms=10,
                                   category=Category.objects.get(project=project, code=2))
    assert list(Annotation.objects.values_list("user__username", flat=True)) == [
        "bob-annotator"]
    label = ReferenceLabel.objects.get(report=report)
    assert (label.method, label.category.code) == ("single", 4)


def test_an_expired_claim_refuses_the_answer_even_if_nobody_took_the_report(
        project, annotator):
    add_unlabelled(project, 1)
    report = services.queue_next(project=project, user=annotator)
    ReportClaim.objects.update(expires_at=timezone.now() - datetime.timedelta(seconds=1))
    with pytest.raises(services.AnswerRefused):
        answer(project, annotator, 4, report=report)
    # Served again, it is held again and the answer counts.
    assert services.queue_next(project=project, user=annotator) == report
    assert answer(project, annotator, 4, report=report).category.code == 4


def test_a_skipped_report_takes_no_answer_from_its_old_form(project, annotator):
    add_unlabelled(project, 2)
    report = services.queue_next(project=project, user=annotator)
    token = served(report, annotator)
    services.report_skip(report=report, user=annotator)
    with pytest.raises(services.AnswerRefused, match="You skipped U00000"):
        services.annotation_submit(served=token, user=annotator, active_ms=10,
                                   category=Category.objects.get(project=project, code=4))
    assert not Annotation.objects.exists()


def test_the_annotate_page_says_why_a_stale_answer_was_not_recorded(login, project, annotator,
                                                                   second_annotator):
    add_unlabelled(project, 2)
    client = login(annotator)
    url = reverse("annotate", args=[project.slug])
    token = client.get(url).context["token"]
    ReportClaim.objects.update(expires_at=timezone.now() - datetime.timedelta(seconds=1))
    answer(project, second_annotator, 4)  # takes U00000, whose hold ran out
    page = client.post(url, {"token": token, "category": "2"}, headers={"HX-Request": "true"})
    assert page.status_code == 200
    body = page.content.decode()
    assert "U00000 was held for you for 15 minutes" in body and "not recorded" in body
    assert "U00001" in body  # the next report is on screen
    assert Annotation.objects.filter(user=annotator).count() == 0


@pytest.mark.django_db(transaction=True)
def test_concurrent_claims_never_serve_a_report_twice(project):
    if connection.vendor != "postgresql":
        pytest.skip("row locks (SKIP LOCKED) are what is tested: needs PostgreSQL")
    add_unlabelled(project, 60)
    users = []
    for i in range(12):
        user = User.objects.create_user(f"concurrent-{i}")
        Membership.objects.create(project=project, user=user, role=Role.ANNOTATOR)
        users.append(user)
    served_ids, errors = [], []
    barrier = threading.Barrier(len(users))

    def work(user):
        try:
            barrier.wait()
            for _ in range(4):
                report = services.queue_next(project=project, user=user)
                served_ids.append(report.pk)
                services.annotation_submit(
                    served=served(report, user), user=user, active_ms=10,
                    category=Category.objects.get(project=project, code=4))
        except Exception as exc:  # collected and asserted below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work, args=(u,)) for u in users]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(served_ids) == 48
    assert len(set(served_ids)) == 48
    assert Annotation.objects.count() == 48


# --- views -----------------------------------------------------------------------------------

def test_a_reader_cannot_annotate_and_an_outsider_gets_404(login, project, reader, outsider):
    url = reverse("annotate", args=[project.slug])
    assert login(reader).get(url).status_code == 403
    assert login(outsider).get(url).status_code == 404


@pytest.mark.parametrize("name", ["adjudication", "review"])
def test_adjudication_and_review_are_for_admins(login, project, annotator, reader, outsider,
                                                admin_user, name):
    url = reverse(name, args=[project.slug])
    assert login(annotator).get(url).status_code == 403
    assert login(reader).get(url).status_code == 403
    assert login(outsider).get(url).status_code == 404
    assert login(admin_user).get(url).status_code == 200


def test_the_annotate_page_works_as_a_plain_form(login, project, annotator):
    add_unlabelled(project, 2)
    client = login(annotator)
    url = reverse("annotate", args=[project.slug])
    page = client.get(url)
    assert b"U00000" in page.content
    response = client.post(url, {"token": page.context["token"], "category": "4"})
    assert response.status_code == 302
    annotation = Annotation.objects.get()
    assert annotation.active_ms is None and annotation.category.code == 4
    assert b"U00001" in client.get(url).content


def test_htmx_submit_swaps_in_the_next_report(login, project, annotator):
    add_unlabelled(project, 2)
    client = login(annotator)
    url = reverse("annotate", args=[project.slug])
    token = client.get(url).context["token"]
    response = client.post(url, {"token": token, "category": "4", "active_ms": "812"},
                           headers={"HX-Request": "true"})
    body = response.content.decode()
    assert body.lstrip().startswith('<div id="workspace"')
    assert "U00001" in body and "<html" not in body
    assert Annotation.objects.get().active_ms <= 812


def test_a_token_from_another_user_is_refused(login, project, annotator, admin_user):
    add_unlabelled(project, 1)
    token = login(annotator).get(reverse("annotate", args=[project.slug])).context["token"]
    client = login(admin_user)
    response = client.post(reverse("annotate", args=[project.slug]),
                           {"token": token, "category": "2"})
    assert response.status_code == 403
    assert not Annotation.objects.exists()


def test_back_shows_the_last_answer_for_change(login, project, annotator):
    add_unlabelled(project, 2)
    client = login(annotator)
    url = reverse("annotate", args=[project.slug])
    client.post(url, {"token": client.get(url).context["token"], "category": "2"})
    back = client.get(url + "?back=1")
    assert b"Changing your answer (2" in back.content
    client.post(url, {"token": back.context["token"], "category": "4"})
    codes = list(Annotation.objects.order_by("id").values_list("category__code", "supersedes"))
    assert codes[0] == (2, None) and codes[1][0] == 4 and codes[1][1] is not None


def test_annotators_do_not_see_other_answers_while_labelling(login, project, annotator,
                                                             second_annotator):
    Project.objects.filter(pk=project.pk).update(annotations_per_report=2)
    project.refresh_from_db()
    add_unlabelled(project, 1)
    client = login(second_annotator)
    url = reverse("annotate", args=[project.slug])
    project.refresh_from_db()
    answer(project, annotator, 2)
    page = client.get(url).content.decode()
    assert "U00000" in page and "anna-annotator" not in page
    assert 'class="choice selected' not in page  # nothing pre-selected from the other reader


def test_uncertainty_order_serves_the_smallest_margin_first(project, annotator):
    from core.models import JobStatus
    from modeling.models import ModelVersion, Prediction

    Project.objects.filter(pk=project.pk).update(queue_order="uncertainty")
    project.refresh_from_db()
    add_unlabelled(project, 4)
    version = ModelVersion.objects.create(project=project, number=1, base_model="x",
                                          status=JobStatus.SUCCEEDED, is_active=True)
    four = Category.objects.get(project=project, code=4)
    for report, margin in zip(project.reports.order_by("accession"), [0.9, 0.1, 0.5, None],
                              strict=True):
        if margin is not None:
            Prediction.objects.create(report=report, model_version=version, category=four,
                                      probabilities={"4": 0.5}, margin=margin, ms=1)
    served_order = []
    for _ in range(4):
        report = services.queue_next(project=project, user=annotator)
        served_order.append(report.accession)
        answer(project, annotator, 4, report=report)
    # Least certain first; a report without a prediction comes last.
    assert served_order == ["U00001", "U00002", "U00000", "U00003"]


def test_random_order_is_reproducible_per_annotator(project, annotator, second_annotator):
    Project.objects.filter(pk=project.pk).update(queue_order="random")
    project.refresh_from_db()
    add_unlabelled(project, 30)
    from annotation.labeling.selectors import queue_candidates

    now = timezone.now()
    first = [r.accession for r in queue_candidates(project, annotator, now)]
    assert first == [r.accession for r in queue_candidates(project, annotator, now)]
    assert first != sorted(first)
    assert first != [r.accession for r in queue_candidates(project, second_annotator, now)]


def test_each_annotator_is_served_in_their_own_random_order(project, annotator,
                                                             second_annotator, settings):
    # What production runs (no fresh-build check): the compiled candidates query must use
    # each annotator's own permutation, not the one of the user it was first built for.
    settings.CTIR_CHECK_COMPILED_QUERIES = False
    Project.objects.filter(pk=project.pk).update(queue_order="random")
    project.refresh_from_db()
    add_unlabelled(project, 30)
    from annotation.labeling.selectors import queue_candidates

    for user in (annotator, second_annotator, annotator):
        expected = [r.accession for r in queue_candidates(project, user, timezone.now())][:3]
        served = []
        for _ in range(3):
            report = services.queue_next(project=project, user=user)
            served.append(report.accession)
            answer(project, user, 4, report=report)
        assert served == expected, user.username


def test_the_queue_flag_follows_labels_answers_and_settings(project, annotator, admin_user):
    add_unlabelled(project, 3)
    first, second, third = project.reports.order_by("accession")
    assert answer(project, annotator, 4).report == first
    annotation_services.reference_label_set(report=second, category=Category.objects.get(
        project=project, code=2), method="adjudication", user=admin_user, reason="x")
    flags = dict(project.reports.values_list("accession", "in_queue"))
    assert flags == {"U00000": False, "U00001": False, "U00002": True}
    # Double reading from now on: the answered report needs a second reader, the labelled
    # one stays out (it has a reference), as the admin's save recomputes.
    Project.objects.filter(pk=project.pk).update(annotations_per_report=2, queue_scope="all")
    project.refresh_from_db()
    annotation_services.queue_flags_refresh(project=project)
    flags = dict(project.reports.values_list("accession", "in_queue"))
    assert flags == {"U00000": True, "U00001": True, "U00002": True}


def test_the_queue_does_not_slow_down_as_labelling_progresses(project, annotator):
    """Done reports leave the partial index: the candidate query never steps over them."""
    add_unlabelled(project, 40)
    for _ in range(30):
        answer(project, annotator, 4)
    from annotation.labeling.selectors import queue_candidates

    assert project.reports.filter(in_queue=True).count() == 10
    assert queue_candidates(project, annotator, timezone.now()).count() == 10


def test_a_message_from_an_htmx_request_comes_out_of_band(login, project, annotator):
    url = reverse("annotate", args=[project.slug])
    response = login(annotator).get(url + "?back=1", headers={"HX-Request": "true"})
    content = response.content.decode()
    assert response.status_code == 200 and "<html" not in content
    assert '<div id="messages" hx-swap-oob="true">' in content
    assert "There is no earlier answer of yours to go back to." in content
    # Shown once: the next page has no leftover message.
    assert "no earlier answer" not in login(annotator).get(url).content.decode()


def test_a_whole_page_shows_its_messages_in_place_only(login, project, annotator):
    url = reverse("annotate", args=[project.slug])
    content = login(annotator).get(url + "?back=1").content.decode()
    assert content.count("There is no earlier answer of yours to go back to.") == 1
    assert 'hx-swap-oob' not in content


def test_the_annotate_page_names_the_suggesting_model_and_follows_a_promotion(
        login, project, annotator):
    from core.models import JobStatus
    from modeling.models import ModelVersion, Prediction

    add_unlabelled(project, 3)
    now = timezone.now()
    v1 = ModelVersion.objects.create(project=project, number=1, base_model="x",
                                     status=JobStatus.SUCCEEDED, is_active=True,
                                     promoted_at=now, metrics={"served": "tfidf"})
    v2 = ModelVersion.objects.create(project=project, number=2, base_model="x",
                                     status=JobStatus.SUCCEEDED, metrics={"served": "ensemble"})
    two, four = (Category.objects.get(project=project, code=c) for c in (2, 4))
    reports = list(project.reports.order_by("accession"))
    for report in reports:
        Prediction.objects.create(report=report, model_version=v1, category=four,
                                  probabilities={"4": 0.8, "2": 0.2}, margin=0.6, ms=1)
    Prediction.objects.create(report=reports[1], model_version=v2, category=two,
                              probabilities={"2": 0.9, "4": 0.1}, margin=0.8, ms=1)
    client = login(annotator)
    url = reverse("annotate", args=[project.slug])
    page = client.get(url).content.decode()
    assert "Model v1 (TF-IDF) suggests <strong>4" in page
    # v2 is promoted while the annotator works; no reload: the htmx answer brings it.
    ModelVersion.objects.filter(pk=v1.pk).update(is_active=False)
    ModelVersion.objects.filter(pk=v2.pk).update(is_active=True, promoted_at=timezone.now())
    token = page.split('name="token" value="')[1].split('"')[0]
    page = client.post(url, {"token": token, "category": "4"},
                       HTTP_HX_REQUEST="true").content.decode()
    assert "U00001" in page and "Model v2 (BERT + TF-IDF) suggests <strong>2" in page
    assert "suggestion-pending" not in page
    token = page.split('name="token" value="')[1].split('"')[0]
    page = client.post(url, {"token": token, "category": "2"},
                       HTTP_HX_REQUEST="true").content.decode()
    # v2 has not reached this report yet: v1's suggestion stands in, and says so.
    assert "U00002" in page and "Model v1 (TF-IDF) suggests" in page
    assert "The newly promoted v2 has not pre-labelled this report yet." in page
    assert Annotation.objects.get(report=reports[1]).suggestion_model_version_id == v2.pk
