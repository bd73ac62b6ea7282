"""Study results are computed once per change of what they read, and served from the cache
in between; every change they depend on shows at once."""

from django.db import connection
from django.test.utils import CaptureQueriesContext

from annotation.models import Category
from annotation.services import reference_label_set
from studies import paper, selectors
from studies import services as studies_services
from tests.support import answer_all


def _numbers(r: dict) -> list:
    return [(row["name"], row["answered"], row.get("accuracy")) for row in r["rows"]]


def _first_reader_answers_one(study, project):
    session = study.readers.order_by("pk").first()
    session, case, _ = studies_services.study_serve(session=session)
    studies_services.study_answer(
        session=session, position=0, active_ms=2000, page=session.page,
        category=Category.objects.get(project=project,
                                      code=case.report.reference_label.category.code))
    return case


def test_results_come_from_the_cache_until_something_they_read_changes(project, open_study,
                                                                       admin_user):
    study = open_study
    first = selectors.study_results(study)
    with CaptureQueriesContext(connection) as queries:
        again = selectors.study_results(study)
    # Only the fingerprint's few aggregates: no response, case or prediction is read.
    assert len(queries) <= 8, [q["sql"] for q in queries.captured_queries]
    assert _numbers(again) == _numbers(first)

    # A response: the reader's answered count moves at once.
    case = _first_reader_answers_one(study, project)
    after = selectors.study_results(study)
    assert _numbers(after) != _numbers(first)
    assert _numbers(after) == _numbers(selectors._study_results(study))  # computed afresh

    # The reference label of the answered case changed by an admin: the reader's accuracy
    # the cache holds is stale, so the digest changes and the numbers are fresh ones.
    done = after
    truth = case.report.reference_label.category.code
    reference_label_set(report=case.report, method="adjudication", user=admin_user,
                        reason="second look",
                        category=Category.objects.get(project=project, code=truth % 4 + 1))
    relabelled = selectors.study_results(study)
    assert _numbers(relabelled) != _numbers(done)
    assert _numbers(relabelled) == _numbers(selectors._study_results(study))


def test_a_paper_file_is_drawn_once_per_change(project, open_study):
    study = open_study
    answer_all(study, project)
    table = paper.paper_file(study, "tables/results.md")
    assert table == paper._paper_file(study, "tables/results.md")
    with CaptureQueriesContext(connection) as queries:
        assert paper.paper_file(study, "tables/results.md") == table
    assert len(queries) <= 8
    zipped = paper.paper_zip(study)
    assert paper.paper_zip(study) == zipped
