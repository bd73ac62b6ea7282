import pytest
from django.contrib.auth.models import User
from django.urls import reverse
from sklearn.metrics import cohen_kappa_score

from annotation.labeling import services
from annotation.labeling.agreement import agreement_report
from annotation.models import Category, Membership, Project, Role
from tests.support import add_unlabelled, served


@pytest.fixture
def double_read(project, annotator):
    bob = User.objects.create_user("bob-annotator")
    Membership.objects.create(project=project, user=bob, role=Role.ANNOTATOR)
    Project.objects.filter(pk=project.pk).update(annotations_per_report=2)
    project.refresh_from_db()
    add_unlabelled(project, 8)
    anna_codes = [1, 2, 3, 4, 4, 2, 1, 3]
    bob_codes = [1, 2, 3, 4, 2, 2, 3, 3]
    four = Category.objects.get(project=project, code=4)
    for user, codes in ((annotator, anna_codes), (bob, bob_codes)):
        for i, code in enumerate(codes):
            report = services.queue_next(project=project, user=user)
            # Half of anna's reads had a (category 4) suggestion on screen.
            suggestion = {"suggested_code": 4, "suggested_probability": 0.8} if (
                user == annotator and i % 2) else {}
            services.annotation_submit(
                served=served(report, user, **suggestion), user=user,
                category=Category.objects.get(project=project, code=code),
                active_ms=1000 + 100 * i)
    assert four.pk
    return project, anna_codes, bob_codes


def test_agreement_figures(double_read):
    project, anna, bob = double_read
    report = agreement_report(project)
    pair = report["pairs"][0]
    assert (pair["a"], pair["b"], pair["n"]) == ("anna-annotator", "bob-annotator", 8)
    assert pair["kappa"] == pytest.approx(cohen_kappa_score(anna, bob))
    assert pair["percent"] == 6 / 8
    overall = report["overall"]
    assert overall["n"] == 8 and overall["percent"] == 6 / 8
    assert overall["fleiss_raters"] == 2 and overall["fleiss"] is not None
    anna_row = next(r for r in report["annotators"] if r["name"] == "anna-annotator")
    assert anna_row["n_with"] == 4 and anna_row["n_without"] == 4
    assert anna_row["median_ms_with"] == 1400  # reads 1, 3, 5, 7: 1100, 1300, 1500, 1700
    assert anna_row["accepted_rate"] == 1 / 4  # of reads 1, 3, 5, 7 (2, 4, 2, 3) one took 4
    # Agreements became references (6 reports); anna is right on all of them.
    assert anna_row["accuracy"]["n"] == 6 and anna_row["accuracy"]["accuracy"] == 1.0


def test_agreement_page(login, double_read, admin_user, annotator, reader, outsider):
    project = double_read[0]
    url = reverse("agreement", args=[project.slug])
    page = login(admin_user).get(url).content.decode()
    assert "anna-annotator – bob-annotator" in page
    assert "Fleiss" in page and "Gwet" in page
    assert login(annotator).get(url).status_code == 403
    assert login(reader).get(url).status_code == 403
    assert login(outsider).get(url).status_code == 404
