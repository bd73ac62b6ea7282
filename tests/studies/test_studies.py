import datetime
import io
import json

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from annotation.models import Category, Membership, Role
from core.models import JobStatus
from modeling.models import ModelVersion, Prediction
from studies import services as studies
from studies.models import ReaderStudy, StudyReader, StudyResponse
from studies.selectors import study_results
from tests.support import add_reports, answer_all


@pytest.fixture
def study(open_study):
    """This module's study: the open two-reader one of tests/studies/conftest.py."""
    return open_study


def code(project, c):
    return Category.objects.get(project=project, code=c)


def test_cases_default_to_the_test_split_and_orders_are_reproducible(project, study, readers):
    assert study.cases.count() == 8
    a, b = study.readers.order_by("pk")
    assert sorted(a.order) == sorted(b.order) and a.order != b.order
    again = studies.study_create(project=project, name="S2", readers=readers, seed=7)
    assert [s.order for s in again.readers.order_by("pk")] != [a.order, b.order]  # other cases
    assert studies._case_plan(study, 0) == (a.order, a.aided)
    assert studies._case_plan(study, 1) == (b.order, b.aided)


def test_crossover_reads_every_case_both_ways(project, readers):
    add_reports(project, 10)
    from annotation.services import splits_assign

    splits_assign(project=project, counts=(0, 0, 10))
    study = studies.study_create(project=project, name="X", readers=readers,
                                 mode=ReaderStudy.Mode.CROSSOVER, seed=3)
    a, b = study.readers.order_by("pk")
    aided_a = {case for case, aided in zip(a.order, a.aided, strict=True) if aided}
    aided_b = {case for case, aided in zip(b.order, b.aided, strict=True) if aided}
    assert len(aided_a) == 5 and aided_a.isdisjoint(aided_b)
    assert aided_a | aided_b == set(a.order)


def test_only_readers_can_be_in_a_study(project, annotator):
    add_reports(project, 2)
    with pytest.raises(studies.StudyError, match="only users with the reader role"):
        studies.study_create(project=project, name="S", readers=[annotator])


def test_no_going_back_and_pause_is_not_reading_time(project, study, reader):
    session = study.readers.get(user=reader)
    session, case, position = studies.study_serve(session=session, new_page=True)
    assert position == 0
    served = session.served_at
    # A 30 s pause; then, on the clock of the answer: served, 2 s reading, the pause, 5 s.
    studies.study_pause(session=session, page=session.page, paused=True)
    StudyReader.objects.filter(pk=session.pk).update(
        paused_at=timezone.now() - datetime.timedelta(seconds=30))
    studies.study_pause(session=session, page=session.page, paused=False)
    session.refresh_from_db()
    assert 30_000 <= session.paused_ms < 32_000 and session.pauses == 1
    StudyReader.objects.filter(pk=session.pk).update(paused_ms=30_000)
    response = studies.study_answer(session=session, position=0, category=code(project, 1),
                                    active_ms=None, page=session.page,
                                    now=served + datetime.timedelta(seconds=37))
    assert response.paused_ms == 30_000 and response.pauses == 1
    assert response.seconds == pytest.approx(7.0)
    with pytest.raises(studies.StudyError, match="no going back"):
        studies.study_answer(session=session, position=0, category=code(project, 2),
                             active_ms=None, page=session.page)
    assert StudyResponse.objects.get().category.code == 1


def test_a_reader_whose_membership_was_removed_cannot_answer(login, project, study, reader):
    client = login(reader)
    url = reverse("read", args=[study.pk])
    assert client.get(url).status_code == 200  # the first case is on screen
    session = study.readers.get(user=reader)
    Membership.objects.filter(project=project, user=reader).delete()
    assert client.post(url, {"position": "0", "category": "2"}).status_code == 404
    assert client.get(url).status_code == 404
    assert b"No study is open for you" in client.get(reverse("my_studies")).content
    # The service refuses too, whatever page or command calls it.
    with pytest.raises(studies.StudyError, match="no longer a reader"):
        studies.study_answer(session=session, position=0, category=code(project, 2),
                             active_ms=None, page=session.page)
    # A reader made annotator is no reader either: they would see the model's suggestions.
    Membership.objects.create(project=project, user=reader, role=Role.ANNOTATOR)
    assert client.get(url).status_code == 404
    assert not StudyResponse.objects.exists()


def test_pause_service_accumulates(project, study, reader):
    session, _, _ = studies.study_serve(session=study.readers.get(user=reader), new_page=True)
    studies.study_pause(session=session, page=session.page, paused=True)
    studies.study_pause(session=session, page=session.page, paused=False)
    session.refresh_from_db()
    assert session.paused_at is None and session.paused_ms >= 0 and session.pauses == 1


def test_results_table_and_study_report(project, study, readers):
    version = ModelVersion.objects.create(project=project, number=1, base_model="x",
                                          status=JobStatus.SUCCEEDED, is_active=True)
    for case in study.cases.select_related("report__reference_label__category"):
        truth = case.report.reference_label.category
        Prediction.objects.create(report=case.report, model_version=version, category=truth,
                                  probabilities={str(truth.code): 0.9}, margin=0.8, ms=2.0)
    studies.study_model_set(study=study, model_version_id=version.pk)
    # reader: wrong on the first two cases they see; rob: right everywhere.
    for session in study.readers.all():
        for position in range(len(session.order)):
            session, case, _ = studies.study_serve(session=session)
            truth = case.report.reference_label.category.code
            wrong = session.user.username == "rita-reader" and position < 2
            answer = (truth % 4) + 1 if wrong else truth
            studies.study_answer(session=session, position=position,
                                 category=code(project, answer), active_ms=4000,
                                 page=session.page,
                                 now=session.served_at + datetime.timedelta(seconds=4.5))
    study.refresh_from_db()
    results = study_results(study)
    rows = {r["name"]: r for r in results["rows"]}
    assert rows["Model"]["accuracy"]["correct"] == 8
    assert rows["rita-reader"]["accuracy"]["correct"] == 6
    assert rows["rob-reader"]["accuracy"]["accuracy"] == 1.0
    assert rows["rob-reader"]["time"]["total"] == pytest.approx(32.0, abs=0.5)
    assert rows["rob-reader"]["fold"] == pytest.approx(32.0 / 0.016, rel=0.05)
    model_vs_rita = next(c for c in results["comparisons"]
                         if {c["first"], c["second"]} == {"Model", "rita-reader"})
    assert (model_vs_rita["n_discordant"], model_vs_rita["p_value"]) == (2, 0.5)
    assert all(c["p_holm"] >= c["p_value"] for c in results["comparisons"])
    out = io.StringIO()
    call_command("study_report", str(study.pk), "--json", stdout=out)
    printed = json.loads(out.getvalue())
    assert [r["accuracy"]["correct"] for r in printed["rows"]] == [
        r["accuracy"]["correct"] for r in results["rows"]]
    out = io.StringIO()
    call_command("study_report", str(study.pk), stdout=out)
    assert "Model vs rita-reader: n=8" in out.getvalue()


def test_simulated_readers_are_marked(project, study, login, admin_user):
    call_command("simulate_readers", str(study.pk), "--readers", "2", "--error-rate", "0.1",
                 stdout=io.StringIO())
    assert StudyResponse.objects.filter(simulated=True).count() == 16
    page = login(admin_user).get(reverse("study_detail", args=[project.slug, study.pk]))
    assert b"simulated readers" in page.content
    csv = b"".join(login(admin_user).get(
        reverse("study_csv", args=[project.slug, study.pk])).streaming_content).decode()
    assert csv.splitlines()[0].startswith("reader,position,accession,answer,reference")
    assert len(csv.splitlines()) == 17


def test_simulated_readers_finished_in_the_past(study):
    """A simulated session ends when it is made: its times never lie in the future."""
    session, = studies.simulate_readers(study=study, count=1, seconds_per_case=600)
    after = timezone.now()
    responses = list(session.responses.order_by("position"))
    reading = datetime.timedelta(milliseconds=sum(r.active_ms for r in responses))
    assert session.finished_at <= after
    assert session.started_at == responses[0].served_at
    assert session.started_at <= after - reading
    assert max(r.answered_at for r in responses) <= session.finished_at


def test_reading_page_flow(login, project, study, reader):
    client = login(reader)
    url = reverse("read", args=[study.pk])
    page = client.get(url)
    assert page.context["position"] == 0
    text = page.context["case"].report.text
    assert text in page.content.decode()
    token = page.context["session"].page
    client.post(url, {"action": "pause", "page": token})
    paused = client.get(url)  # a reload: a new reading page, still paused
    assert b"Paused" in paused.content
    assert text not in paused.content.decode()  # the report is hidden while paused
    token = paused.context["session"].page
    client.post(url, {"action": "resume", "page": token})
    client.post(url, {"position": "0", "category": "2", "active_ms": "1500", "page": token})
    again = client.post(url, {"position": "0", "category": "3", "page": token}, follow=True)
    assert b"no going back" in again.content
    response = StudyResponse.objects.get()
    assert response.category.code == 2 and response.paused_ms >= 0 and response.pauses == 1


def test_blinding_a_reader_reaches_nothing_else(login, project, study, reader, admin_user):
    version = ModelVersion.objects.create(project=project, number=1, base_model="x",
                                          status=JobStatus.SUCCEEDED, is_active=True)
    client = login(reader)
    page = client.get(reverse("read", args=[study.pk])).content.decode()
    case = study.readers.get(user=reader).order[0]
    report = study.cases.get(pk=case).report
    assert report.reference_label.category.name not in page.split("choices")[0]
    assert "Model suggestion" not in page and report.accession not in page
    slug = project.slug
    forbidden = [
        reverse("dashboard", args=[slug]), reverse("annotate", args=[slug]),
        reverse("import_reports", args=[slug]), reverse("export_labels", args=[slug, "csv"]),
        reverse("adjudication", args=[slug]), reverse("review", args=[slug]),
        reverse("reports", args=[slug]), reverse("report_detail", args=[slug, report.pk]),
        reverse("agreement", args=[slug]), reverse("models", args=[slug]),
        reverse("models_jobs", args=[slug]), reverse("model_detail", args=[slug, 1]),
        reverse("study_list", args=[slug]), reverse("study_detail", args=[slug, study.pk]),
        reverse("study_csv", args=[slug, study.pk]),
    ]
    for url in forbidden:
        assert client.get(url).status_code in (403, 404), url
        assert client.get(url, headers={"HX-Request": "true"}).status_code in (403, 404), url
    assert version.pk


def test_a_reader_cannot_open_another_study_or_a_draft(login, project, study, readers):
    outsider_reader = User.objects.create_user("other-reader")
    Membership.objects.create(project=project, user=outsider_reader, role=Role.READER)
    assert login(outsider_reader).get(reverse("read", args=[study.pk])).status_code == 404
    draft = studies.study_create(project=project, name="draft", readers=readers[:1])
    assert login(readers[0]).get(reverse("read", args=[draft.pk])).status_code == 404
    home = login(readers[0]).get(reverse("home"), follow=True)
    assert b"Your reader studies" in home.content and b"draft" not in home.content


def test_aided_studies_show_the_suggestion(login, project, readers, admin_user):
    add_reports(project, 3)
    from annotation.services import splits_assign

    splits_assign(project=project, counts=(0, 0, 3))
    version = ModelVersion.objects.create(project=project, number=1, base_model="x",
                                          status=JobStatus.SUCCEEDED)
    for report in project.reports.all():
        Prediction.objects.create(report=report, model_version=version,
                                  category=code(project, 3), probabilities={"3": 0.7},
                                  margin=0.5, ms=1)
    study = studies.study_create(project=project, name="A", readers=readers[:1],
                                 mode=ReaderStudy.Mode.AIDED, model_version_id=version.pk)
    studies.study_status_set(study=study, status=ReaderStudy.Status.OPEN)
    client = login(readers[0])
    url = reverse("read", args=[study.pk])
    page = client.get(url)
    assert b"Model suggestion" in page.content
    client.post(url, {"position": "0", "category": "3", "active_ms": "900",
                      "page": page.context["session"].page})
    response = StudyResponse.objects.get()
    assert response.aided and response.shown_category.code == 3
    assert response.shown_probability == 0.7
    # A wrong suggestion taken counts against the 0.60-0.80 confidence bin.
    truth = response.case.report.reference_label.category.code
    bins = {b["bin"]: b for b in study_results(study)["suggestions"][0]["bins"]}
    assert bins["0.60–0.80"]["shown"] == int(truth != 3)
    assert bins["0.60–0.80"]["accepted"] == int(truth != 3)
    assert study_results(study)["suggestions_wrong"] == int(truth != 3)
    results = login(admin_user).get(reverse("study_detail", args=[project.slug, study.pk]))
    assert (b"no wrong suggestion to accept" in results.content) == (truth == 3)


def test_study_pages_are_for_admins(login, project, study, annotator, outsider):
    for user, status in ((annotator, 403), (outsider, 404)):
        client = login(user)
        assert client.get(reverse("study_list", args=[project.slug])).status_code == status
        assert client.get(reverse("study_detail", args=[project.slug, study.pk])
                          ).status_code == status
        assert client.get(reverse("read", args=[study.pk])).status_code == 404


def test_served_time_comes_from_the_server(project, study, reader):
    session = study.readers.get(user=reader)
    before = timezone.now()
    session, _, _ = studies.study_serve(session=session)
    assert session.served_at >= before


def test_the_api_keeps_readers_blind(login, project, study, reader, annotator, admin_user,
                                     outsider):
    reports = reverse("api_reports", args=[project.slug])
    results = reverse("api_study_results", args=[project.slug, study.pk])
    categories = reverse("api_categories", args=[project.slug])
    for user, status in ((reader, 403), (annotator, 403), (outsider, 404)):
        client = login(user)
        assert client.get(reports).status_code == status
        assert client.get(results).status_code == status
    assert login(reader).get(categories).status_code == 200
    assert login(outsider).get(categories).status_code == 404
    data = login(admin_user).get(reports, {"split": "test"}).json()
    assert data["count"] == 8 and data["results"][0]["reference"]["method"] == "imported"
    assert login(admin_user).get(results).json()["study"]["cases"] == 8


def test_the_api_needs_a_login(client, project):
    assert client.get(reverse("api_categories", args=[project.slug])).status_code == 401


def test_admin_creates_a_study_in_the_browser_form(login, project, readers, admin_user):
    add_reports(project, 10)
    from annotation.services import splits_assign

    splits_assign(project=project, counts=(4, 2, 4))
    client = login(admin_user)
    page = client.get(reverse("study_list", args=[project.slug])).content.decode()
    assert "The validation split (2 reports)" in page
    response = client.post(reverse("study_list", args=[project.slug]), {
        "name": "Validation readers", "cases": "validation", "mode": "crossover",
        "readers": [r.pk for r in readers]}, follow=True)
    study = ReaderStudy.objects.get(name="Validation readers")
    assert study.cases.count() == 2 and study.mode == "crossover"
    assert study.status == "draft" and b"created as a draft" in response.content
    client.post(reverse("study_update", args=[project.slug, study.pk]), {"status": "open"})
    study.refresh_from_db()
    assert study.status == "open"


# --- Role matrix of the admin pages: login, outsider 404, wrong role 403 --------------------

ADMIN_PAGES = [  # name, needs a study id
    ("study_list", False), ("study_power", False), ("study_detail", True),
    ("study_csv", True), ("study_paper_zip", True), ("study_paper_file", True),
]


def _admin_url(name, with_study, project, study):
    kwargs = {"slug": project.slug} | ({"study_id": study.pk} if with_study else {})
    if name == "study_paper_file":
        kwargs["name"] = "tables/results.csv"
    return reverse(name, kwargs=kwargs)


@pytest.mark.parametrize(("name", "with_study"), ADMIN_PAGES)
def test_every_study_admin_page_requires_login(client, project, study, name, with_study):
    response = client.get(_admin_url(name, with_study, project, study))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize(("name", "with_study"), ADMIN_PAGES)
def test_study_admin_pages_keep_out_outsiders_readers_and_annotators(
        login, project, study, outsider, reader, annotator, name, with_study):
    url = _admin_url(name, with_study, project, study)
    for user, status in ((outsider, 404), (reader, 403), (annotator, 403)):
        client = login(user)
        assert client.get(url).status_code == status, (user, url)
        assert client.get(url, headers={"HX-Request": "true"}).status_code == status


# --- MRMC on the results page and in study_report, the power planner -----------------------


def test_results_page_shows_mrmc_beside_mcnemar(login, project, study, admin_user):
    version = ModelVersion.objects.create(project=project, number=1, base_model="x",
                                          status=JobStatus.SUCCEEDED, is_active=True)
    for case in study.cases.select_related("report__reference_label__category"):
        truth = case.report.reference_label.category
        Prediction.objects.create(report=case.report, model_version=version, category=truth,
                                  probabilities={str(truth.code): 0.9}, margin=0.8, ms=2.0)
    studies.study_model_set(study=study, model_version_id=version.pk)
    answer_all(study, project, wrong_for="rita-reader")
    study.refresh_from_db()
    mrmc = study_results(study)["mrmc"]
    accuracy = next(c for c in mrmc["comparisons"]
                    if (c["fom"], c["kind"]) == ("accuracy", "model_vs_readers"))
    average = next(c for c in mrmc["comparisons"]
                   if (c["fom"], c["kind"]) == ("accuracy", "readers_mean"))
    assert average["estimate"] == pytest.approx(0.875)
    assert average["random"]["ci"][0] < 0.875 < average["random"]["ci"][1]
    assert mrmc["n_cases"] == 8 and mrmc["readers"] == ["rita-reader", "rob-reader"]
    assert accuracy["kind"] == "model_vs_readers"
    # Model 8/8, readers 6/8 and 8/8: model minus reader average is 1/8.
    assert accuracy["means"] == [1.0, pytest.approx(0.875)]
    assert accuracy["estimate"] == pytest.approx(0.125)
    assert accuracy["random"]["ci"][0] < 0.125 < accuracy["random"]["ci"][1]
    page = login(admin_user).get(reverse("study_detail", args=[project.slug, study.pk]))
    html = page.content.decode()
    assert 'id="which-test"' in html and "McNemar exact tests" in html
    assert "MRMC, Obuchowski–Rockette" in html and "Model − readers" in html
    assert "+12.5" in html  # the difference in points
    assert "With 2 readers the random-reader interval is wide" in html
    assert 'id="behaviour"' in html and "Spearman ρ" in html
    assert "95% CI" in html.split('id="kappas"')[1].split("</table>")[0]
    out = io.StringIO()
    call_command("study_report", str(study.pk), stdout=out)
    assert "MRMC, Obuchowski-Rockette with Hillis ddf (2 readers, 8 cases" in out.getvalue()
    assert "Accuracy, Model − readers: 100.0% vs 87.5%, +12.5" in out.getvalue()
    assert "Accuracy, Reader average: 87.5%; random readers: 95% CI" in out.getvalue()
    out = io.StringIO()
    call_command("study_report", str(study.pk), "--json", stdout=out)
    printed = json.loads(out.getvalue())["mrmc"]
    assert [c["estimate"] for c in printed["comparisons"]
            if c["kind"] == "model_vs_readers"][0] == pytest.approx(0.125)
    api = login(admin_user).get(reverse("api_study_results", args=[project.slug, study.pk]))
    assert api.json()["mrmc"]["n_cases"] == 8


def test_crossover_results_compare_aided_with_unaided(login, project, readers, admin_user):
    add_reports(project, 12)
    from annotation.services import splits_assign

    splits_assign(project=project, counts=(0, 0, 12))
    study = studies.study_create(project=project, name="X", readers=readers,
                                 mode=ReaderStudy.Mode.CROSSOVER, seed=5)
    studies.study_status_set(study=study, status=ReaderStudy.Status.OPEN)
    answer_all(study, project, wrong_for="rob-reader")
    mrmc = study_results(study)["mrmc"]
    kinds = {c["kind"] for c in mrmc["comparisons"] if c["fom"] == "accuracy"}
    assert kinds == {"readers_mean", "aided_vs_unaided"}  # no model: nothing to compare
    page = login(admin_user).get(reverse("study_detail", args=[project.slug, study.pk]))
    assert "Aided − unaided" in page.content.decode()


def test_the_set_up_page_plans_power_and_cases_needed(login, project, readers, admin_user):
    client = login(admin_user)
    page = client.get(reverse("study_list", args=[project.slug])).content.decode()
    # Defaults: the study we follow, two readers: no number of cases reaches 80%.
    assert 'id="power"' in page and "not reachable" in page
    params = {"reader_accuracy": "88", "model_accuracy": "93", "n_readers": "6",
              "n_cases": "150", "reader_sd": "3", "case_correlation": "0.3", "target": "80"}
    part = client.get(reverse("study_power", args=[project.slug]), params,
                      headers={"HX-Request": "true"})
    html = part.content.decode()
    assert part.status_code == 200 and "<html" not in html and 'id="power"' in html
    from studies.mrmc import plan_versus_model

    plan = plan_versus_model(reader_accuracy=0.88, model_accuracy=0.93, n_readers=6,
                             n_cases=150, reader_sd=0.03, case_correlation=0.3)
    assert f'<strong id="cases-needed">{plan["cases_needed"]}</strong>' in html
    assert f"Power <strong>{plan['power'] * 100:.1f}%</strong>" in html
    # Without htmx the same query lands on the set-up page.
    full = client.get(reverse("study_power", args=[project.slug]), params, follow=True)
    assert full.redirect_chain and "New study" in full.content.decode()
    assert f'<strong id="cases-needed">{plan["cases_needed"]}</strong>' in full.content.decode()


@pytest.mark.parametrize(("field", "value", "message"), [
    ("reader_accuracy", "100", "expected reader accuracy (%) must be a number from 0.1"),
    ("n_readers", "2.5", "readers must be a whole number"),
    ("n_cases", "lots", "cases must be a whole number from 2 to 100000, not &#x27;lots&#x27;"),
])
def test_the_planner_says_what_is_wrong_with_its_input(login, project, admin_user, field,
                                                       value, message):
    response = login(admin_user).get(reverse("study_power", args=[project.slug]),
                                     {field: value}, headers={"HX-Request": "true"})
    assert response.status_code == 400 and message in response.content.decode()


def test_paper_ready_files_and_the_zip(login, project, study, admin_user, tmp_path):
    import zipfile

    version = ModelVersion.objects.create(project=project, number=1, base_model="x",
                                          status=JobStatus.SUCCEEDED, is_active=True)
    for case in study.cases.select_related("report__reference_label__category"):
        truth = case.report.reference_label.category
        Prediction.objects.create(report=case.report, model_version=version, category=truth,
                                  probabilities={str(truth.code): 0.9}, margin=0.8, ms=2.0)
    studies.study_model_set(study=study, model_version_id=version.pk)
    answer_all(study, project, wrong_for="rita-reader")
    client = login(admin_user)
    page = client.get(reverse("study_detail", args=[project.slug, study.pk])).content.decode()
    assert 'id="paper"' in page and "paper.zip" in page
    response = client.get(reverse("study_paper_zip", args=[project.slug, study.pk]))
    assert response["Content-Type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    names = set(archive.namelist())
    prefix = f"study-{study.pk}/"
    for table in ("results", "mrmc", "mcnemar"):
        for ext in ("csv", "md", "tex"):
            assert f"{prefix}tables/{table}.{ext}" in names
    for figure in ("accuracy", "time_per_case", "confusion", "time_by_position"):
        assert archive.read(f"{prefix}figures/{figure}.png").startswith(b"\x89PNG")
        assert b"<svg" in archive.read(f"{prefix}figures/{figure}.svg")[:1000]
    results_csv = archive.read(f"{prefix}tables/results.csv").decode().splitlines()
    assert results_csv[0].startswith('Rater,Cases answered,Correct / n,"Accuracy, % (95% CI)"')
    assert any(line.startswith("rita-reader,8 of 8,6 / 8,75.0 (") for line in results_csv)
    markdown = archive.read(f"{prefix}tables/mrmc.md").decode()
    assert markdown.startswith("| Figure of merit | Comparison |") and "| +12.5 |" in markdown
    latex = archive.read(f"{prefix}tables/results.tex").decode()
    assert r"\begin{tabular}" in latex and r"75.0 (" in latex and r"\%" in latex
    methods = archive.read(f"{prefix}methods.md").decode()
    assert "2 readers classified 8 reports (8 with a reference label)" in methods
    assert "rita-reader 75.0% (95% CI" in methods and "Obuchowski and Rockette" in methods
    assert "Model − readers in accuracy: +12.5 percentage points" in methods
    assert "P = <" not in methods and "P = " in methods
    responses = archive.read(f"{prefix}responses.csv").decode().splitlines()
    assert responses[0].startswith("reader,position,accession") and len(responses) == 17
    # One file alone, with its type; an unknown name is a 404.
    png = client.get(reverse("study_paper_file",
                             args=[project.slug, study.pk, "figures/accuracy.png"]))
    assert png["Content-Type"] == "image/png" and png.content.startswith(b"\x89PNG")
    tex = client.get(reverse("study_paper_file", args=[project.slug, study.pk,
                                                       "tables/mrmc.tex"]))
    assert tex.status_code == 200 and b"\\toprule" in tex.content
    assert client.get(reverse("study_paper_file", args=[project.slug, study.pk,
                                                        "../settings.py"])).status_code == 404
    # study_report writes the same files and the zip.
    call_command("study_report", str(study.pk), "--paper", str(tmp_path / "paper"),
                 "--zip", str(tmp_path / "paper.zip"), stdout=io.StringIO(),
                 stderr=io.StringIO())
    assert (tmp_path / "paper" / "tables" / "results.tex").read_text() == latex
    assert (tmp_path / "paper" / "methods.md").read_text() == methods
    assert zipfile.ZipFile(tmp_path / "paper.zip").namelist() == archive.namelist()
    # The LaTeX compiles where a TeX is installed (apt-get install texlive-latex-recommended).
    import shutil
    import subprocess

    if shutil.which("pdflatex"):
        done = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error",
                               "all.tex"], cwd=tmp_path / "paper" / "tables",
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stdout[-2000:]
        assert (tmp_path / "paper" / "tables" / "all.pdf").stat().st_size > 1000


def test_methods_sentences_write_small_p_as_less_than():
    from studies.paper import _p_is

    assert _p_is(0.0004) == "P < 0.001"
    assert _p_is(0.087) == "P = 0.087"
    assert _p_is(None) == "P = –"
