"""Reader-study numbers a journal can print: the fold on the same cases, an unfinished
study said as such on the page, in the tables and in methods.md, and a power planner
whose limit is never below the power it shows."""

import io
import zipfile

import pytest
from django.urls import reverse

from core.models import JobStatus
from modeling.models import ModelVersion, Prediction
from studies import services as studies
from studies.models import StudyResponse
from studies.mrmc import plan_versus_model
from studies.selectors import study_results


@pytest.fixture
def study(open_study):
    """This module's study: the open two-reader one of tests/studies/conftest.py."""
    return open_study


def _model_on(study, project, ms_of):
    version = ModelVersion.objects.create(project=project, number=1, base_model="x",
                                          status=JobStatus.SUCCEEDED, is_active=True)
    for case in study.cases.select_related("report__reference_label__category"):
        truth = case.report.reference_label.category
        Prediction.objects.create(report=case.report, model_version=version, category=truth,
                                  probabilities={str(truth.code): 0.9}, margin=0.8,
                                  ms=ms_of(case))
    studies.study_model_set(study=study, model_version_id=version.pk)
    return version


def _answer(study, project, username, how_many, active_ms):
    session = study.readers.get(user__username=username)
    for position in range(how_many):
        session, case, _ = studies.study_serve(session=session)
        studies.study_answer(session=session, position=position,
                             category=case.report.reference_label.category,
                             active_ms=active_ms(position), page=session.page)


@pytest.fixture
def partial_study(project, study):
    """rita reads 3 of the 8 cases; rob reads them all; the model's time differs per case."""
    _model_on(study, project, ms_of=lambda case: 1.0 + case.pk % 5)
    _answer(study, project, "rita-reader", 3, lambda p: 2000 + 1000 * p)
    _answer(study, project, "rob-reader", 8, lambda p: 1500)
    return study


def test_a_partial_readers_fold_is_on_the_same_cases(partial_study):
    r = study_results(partial_study)
    rows = {row["name"]: row for row in r["rows"]}
    model_ms = {p.report_id: p.ms for p in Prediction.objects.all()}
    for name in ("rita-reader", "rob-reader"):
        answered = StudyResponse.objects.filter(study=partial_study,
                                                reader__user__username=name)
        reader_s = sum(a.seconds for a in answered)
        model_s = sum(model_ms[a.case.report_id] for a in answered) / 1000
        assert rows[name]["fold_n"] == answered.count()
        assert rows[name]["fold"] == pytest.approx(reader_s / model_s)
    # The old figure (3 cases of reading over all 8 of the model) is smaller by the model's
    # time on the 5 cases rita never read (which cases those are depends on the serving
    # order and the ids, so no fixed factor holds).
    all_model_s = sum(model_ms.values()) / 1000
    rita = rows["rita-reader"]
    old_figure = rita["time"]["total"] / all_model_s
    unread_s = sum(ms for report, ms in model_ms.items() if report not in {
        a.case.report_id for a in StudyResponse.objects.filter(
            study=partial_study, reader__user__username="rita-reader")}) / 1000
    assert rita["fold"] == pytest.approx(old_figure * all_model_s / (all_model_s - unread_s))
    assert rita["fold"] > old_figure
    assert not rows["rita-reader"]["finished"] and rows["rob-reader"]["finished"]
    assert r["incomplete"] == [{"name": "rita-reader", "answered": 3, "n": 8}]


def test_an_unfinished_study_says_so_on_the_page_and_in_every_paper_file(
        login, project, admin_user, partial_study):
    client = login(admin_user)
    page = client.get(reverse("study_detail", args=[project.slug, partial_study.pk]))
    html = page.content.decode()
    assert "Not finished: rita-reader has answered 3 of 8 cases" in html
    assert "× <span class=\"small muted\">on 3</span>" in html
    archive = zipfile.ZipFile(io.BytesIO(client.get(
        reverse("study_paper_zip", args=[project.slug, partial_study.pk])).content))
    prefix = f"study-{partial_study.pk}/"
    results = archive.read(f"{prefix}tables/results.csv").decode()
    assert "Cases answered" in results.splitlines()[0]
    rita = next(line for line in results.splitlines() if line.startswith("rita-reader"))
    assert ",3 of 8," in rita and "– (not finished)" in rita and "(n = 3)" in rita
    methods = archive.read(f"{prefix}methods.md").decode()
    assert "rita-reader classified 3; rob-reader classified 8 of them" in methods
    assert "NOTE: this study is not finished: rita-reader answered 3 of 8 cases" in methods
    assert "on the same 3 cases" in methods and "classified 8 reports" not in methods
    markdown = archive.read(f"{prefix}tables/results.md").decode()
    assert "3 of 8" in markdown


def test_the_planner_limit_is_never_below_the_power_it_shows():
    """The audit's defaults (2 readers, 332 cases): power 14.7%, and the old "limit" 14.1%."""
    plan = plan_versus_model(reader_accuracy=0.931, model_accuracy=0.979, n_readers=2,
                             n_cases=332, reader_sd=0.03, case_correlation=0.3)
    assert plan["power"] == pytest.approx(0.147, abs=0.001)
    assert plan["power_ceiling"] >= plan["power"]
    assert plan["cases_needed"] is None and plan["readers_needed"] == 7
    for n_cases in (20, 60, 332, 5000):
        for n_readers in (2, 4, 8):
            plan = plan_versus_model(reader_accuracy=0.931, model_accuracy=0.979,
                                     n_readers=n_readers, n_cases=n_cases)
            assert plan["power_ceiling"] >= plan["power"] - 1e-12
            if plan["cases_needed"]:
                again = plan_versus_model(reader_accuracy=0.931, model_accuracy=0.979,
                                          n_readers=n_readers, n_cases=plan["cases_needed"])
                assert again["power"] >= 0.8
                fewer = plan_versus_model(reader_accuracy=0.931, model_accuracy=0.979,
                                          n_readers=n_readers,
                                          n_cases=max(plan["cases_needed"] - 1, 2))
                assert fewer["power"] < 0.8 or plan["cases_needed"] <= 2


def test_the_planner_says_where_its_defaults_come_from(login, project, admin_user,
                                                       partial_study):
    page = login(admin_user).get(reverse("study_list", args=[project.slug]))
    html = page.content.decode()
    # rita and rob are right on every case they read, as is the model: nudged to 99.9%.
    assert "this project&#x27;s own, from “S”" in html or "this project's own" in html
    values = page.context["power"]["values"]
    assert values["reader_accuracy"] == 99.9 and values["model_accuracy"] == 99.9


def test_the_planner_without_a_study_names_the_paper(login, project, admin_user):
    page = login(admin_user).get(reverse("study_list", args=[project.slug]))
    assert "Acta Radiologica 2025" in page.content.decode()
    assert page.context["power"]["values"]["reader_accuracy"] == 93.1


@pytest.mark.parametrize("model_ms", [2.0, 1400.0], ids=["log-axis", "linear-axis"])
def test_every_figure_axis_has_numbers_and_a_label(project, study, model_ms):
    """Times far apart (a log axis) and close together (linear): either way each axis shows
    tick numbers and says what it is."""
    from studies import figures

    _model_on(study, project, ms_of=lambda case: model_ms)
    _answer(study, project, "rita-reader", 8, lambda p: 1500 + 10 * p)
    _answer(study, project, "rob-reader", 5, lambda p: 1600)
    r = study_results(study)
    for name in ("accuracy", "time_per_case", "confusion"):
        fig = figures.FIGURES[name](r, [])
        for ax in fig.axes:
            if not ax.axison:
                continue
            assert ax.get_xlabel(), name
            assert len(figures.visible_ticks(ax.xaxis)) >= 2, (name, ax.get_xscale())
            assert figures.visible_ticks(ax.yaxis), name
        figures._pyplot().close(fig)
    time_fig = figures.FIGURES["time_per_case"](r, [])
    seconds = [s for row in r["rows"] for s in row["seconds_per_case"] if s > 0]
    spread = max(seconds) / min(seconds)
    assert time_fig.axes[0].get_xscale() == ("log" if spread > figures.LOG_SPREAD
                                              else "linear")
    # The unfinished reader is named as such in the figure.
    labels = [t.get_text() for t in time_fig.axes[0].get_yticklabels()]
    assert "rob-reader (5 read)" in labels
    svg = figures.draw("time_per_case", r, [], formats=("svg",))["svg"].decode()
    assert "Reading time per case, s" in svg  # text stays text in the SVG


def test_a_stratified_60_case_draw_repeats_with_its_seed(login, project, admin_user, reader):
    """From the power planner's N to a study: 60 of the test split, each category keeping
    its share, the same 60 again with the same seed, recorded on the study."""
    from collections import Counter

    from annotation.models import Report
    from studies.models import ReaderStudy
    from studies.selectors import case_draw
    from tests.support import add_reports

    add_reports(project, 140)
    Report.objects.filter(project=project).update(split="test")
    source = Counter(Report.objects.filter(project=project).values_list(
        "reference_label__category__code", flat=True))
    client = login(admin_user)
    form = {"name": "Sixty", "cases": "test", "mode": "unaided", "readers": [reader.pk],
            "sample_size": 60, "draw_seed": 4242}
    client.post(reverse("study_list", args=[project.slug]), form)
    first = ReaderStudy.objects.get()
    picked = Counter(first.cases.values_list("report__reference_label__category__code",
                                             flat=True))
    assert first.cases.count() == 60
    for code, n in source.items():  # Hamilton's method: each share within one case
        assert abs(picked[code] - 60 * n / 140) < 1, (code, picked[code], n)
    assert first.case_draw["seed"] == 4242 and first.case_draw["from"] == 140
    assert sum(first.case_draw["strata"].values()) == 60
    again, _ = case_draw(project, key="test", n=60, seed=4242)
    assert again == sorted(first.cases.values_list("report_id", flat=True))
    other, _ = case_draw(project, key="test", n=60, seed=4243)
    assert other != again
    client.post(reverse("study_list", args=[project.slug]), {**form, "name": "Again"})
    second = ReaderStudy.objects.get(name="Again")
    assert (sorted(second.cases.values_list("report_id", flat=True))
            == sorted(first.cases.values_list("report_id", flat=True)))
    page = client.get(reverse("study_detail", args=[project.slug, first.pk])).content.decode()
    assert "Drawn: 60 of 140 reports (test)" in page and "draw seed 4242" in page
    from studies.paper import methods_paragraph

    methods = methods_paragraph(study_results(first))
    assert "The 60 cases were drawn at random from the test split (140 reports)" in methods
    assert "with seed 4242" in methods


def test_the_planner_offers_its_n_to_the_new_study_form(login, project, admin_user):
    client = login(admin_user)
    page = client.get(reverse("study_list", args=[project.slug]), {
        "reader_accuracy": 90, "model_accuracy": 97, "n_readers": 6, "n_cases": 100})
    needed = page.context["power"]["plan"]["cases_needed"]
    assert needed and f"?draw={needed}#case-draw" in page.content.decode()
    form = client.get(reverse("study_list", args=[project.slug]), {"draw": needed})
    assert f'name="sample_size" min="2" max="100000" step="1" value="{needed}"' in (
        form.content.decode())


def test_the_api_says_who_has_not_finished_and_the_fold_cases(project, admin_user,
                                                              partial_study):
    from tests.support import bearer

    data = bearer(admin_user).get(reverse("api_study_results", args=[
        project.slug, partial_study.pk])).json()
    assert data["incomplete"] == [{"name": "rita-reader", "answered": 3, "n": 8}]
    rita = next(row for row in data["rows"] if row["name"] == "rita-reader")
    assert (rita["answered"], rita["finished"], rita["fold_n"]) == (3, False, 3)
    assert isinstance(data["mrmc"]["bootstrapped"], int)
