"""REST API v1, the annotation app's routes: reports listed and imported (a batch, a file, a
big file through a worker) through the import service, and labeling through the queue, with the
page's validation and server-side timing."""

import datetime
import io

from django.urls import reverse

from annotation.models import Annotation, ImportBatch, ReferenceLabel, Report
from annotation.services import splits_assign
from tests.support import add_reports, add_unlabelled, bearer, row


def test_reports_are_listed_and_filtered(project, admin_user):
    add_reports(project, 10)
    splits_assign(project=project, counts=(6, 1, 3))
    data = bearer(admin_user).get(reverse("api_reports", args=[project.slug]),
                                  {"split": "test", "page_size": 2}).json()
    assert data["count"] == 3 and len(data["results"]) == 2 and data["next"]
    assert data["results"][0]["reference"]["method"] == "imported"


def test_a_batch_imports_through_the_import_service(project, admin_user):
    client = bearer(admin_user)
    url = reverse("api_reports", args=[project.slug])
    response = client.post(url, {"reports": [row(1), row(2, label="")], "name": "ris-sync"},
                           format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["reports_created"], body["labels_created"]) == (2, 1)
    batch = ImportBatch.objects.get(pk=body["batch"])
    assert batch.filename == "ris-sync.jsonl" and batch.imported_by == admin_user
    again = client.post(url, {"reports": [row(1)]}, format="json")
    assert again.status_code == 200 and again.json()["unchanged"] == 1
    assert Report.objects.count() == 2


def test_a_batch_with_one_bad_row_imports_nothing(project, admin_user):
    rows = [row(1), row(2, procedure_date="04/03/2021"), row(3, label="9"), row(4)]
    response = bearer(admin_user).post(reverse("api_reports", args=[project.slug]),
                                       {"reports": rows}, format="json")
    assert response.status_code == 400
    body = response.json()
    assert "nothing was imported" in body["detail"]
    where = [(e["line"], e["column"]) for e in body["errors"]]
    assert where == [(2, "procedure_date"), (3, "label")]
    assert "unknown category '9'" in body["errors"][1]["reason"]
    assert not Report.objects.exists() and not ImportBatch.objects.exists()


def test_a_batch_row_that_is_not_an_object_is_named(project, admin_user):
    response = bearer(admin_user).post(reverse("api_reports", args=[project.slug]),
                                       {"reports": [row(1), ["not", "a", "row"]]},
                                       format="json")
    assert response.status_code == 400
    assert response.json()["errors"][0]["line"] == 2
    assert not Report.objects.exists()


def test_a_csv_file_imports_too(project, admin_user):
    csv = (b"accession,patient_id,sex,age,procedure_date,text,label\n"
           b"F1,P1,M,70,2019-05-06,Lung biopsy of a right upper lobe nodule,3\n")
    upload = io.BytesIO(csv)
    upload.name = "ris.csv"
    response = bearer(admin_user).post(reverse("api_reports", args=[project.slug]),
                                       {"file": upload}, format="multipart")
    assert response.status_code == 201, response.json()
    assert ReferenceLabel.objects.get(report__accession="F1").category.code == 3


def test_a_big_file_goes_to_a_worker_and_is_followed(project, admin_user, settings,
                                                     tmp_path):
    from pathlib import Path

    from annotation import services
    from annotation.models import ImportJob

    settings.CTIR_BACKGROUND_IMPORT_ROWS = 3
    settings.CTIR_UPLOAD_DIR = tmp_path / "uploads"
    csv = "accession,patient_id,sex,age,procedure_date,text,label\n" + "".join(
        f"G{i},GP{i},F,50,2020-01-0{i + 1},CT-guided drainage {i},1\n" for i in range(4))
    client = bearer(admin_user)
    url = reverse("api_reports", args=[project.slug])

    def upload():
        handle = io.BytesIO(csv.encode())
        handle.name = "ris.csv"
        return client.post(url, {"file": handle}, format="multipart")

    response = upload()
    assert response.status_code == 202, response.json()
    body = response.json()
    assert body["status"] == "queued" and body["rows"] == 4
    job = ImportJob.objects.get(pk=body["id"])
    assert Path(job.staged).exists() and not Report.objects.exists()
    assert upload().status_code == 409  # one import of a project at a time
    services.import_job_run(job.pk)  # what the worker's task does
    status = client.get(reverse("api_import_job", args=[project.slug, job.pk])).json()
    assert status["status"] == "succeeded" and status["progress"]["written"] == 4
    assert "imported 4 new reports" in status["message"] and Report.objects.count() == 4


def test_odd_text_never_500s(project, admin_user, login):
    client = bearer(admin_user)
    assert client.get(reverse("api_annotations", args=[project.slug]),
                      {"user": "a\x00b"}).json()["count"] == 0
    response = client.post(reverse("api_reports", args=[project.slug]),
                           {"reports": [row(1)], "name": "nul\x00name"}, format="json")
    assert response.status_code == 201
    assert ImportBatch.objects.get().filename == "nulname.jsonl"
    page = login(admin_user).post(reverse("api_tokens"), {"name": "a\x00b"})
    assert "control character" in page.content.decode()


def test_an_empty_batch_and_a_wrong_file_type_are_400(project, admin_user):
    client = bearer(admin_user)
    url = reverse("api_reports", args=[project.slug])
    assert "non-empty list" in client.post(url, {"reports": []}, format="json").json(
        )["fields"]["reports"][0]
    upload = io.BytesIO(b"x")
    upload.name = "ris.xml"
    assert "unknown file type" in client.post(url, {"file": upload}, format="multipart").json(
        )["fields"]["file"][0]


def test_a_batch_import_uses_the_remembered_mapping_or_the_one_given(project, admin_user,
                                                                     tmp_path):
    from annotation import services
    from annotation.importing.columns import ColumnMapping

    first = tmp_path / "jan.csv"
    first.write_text("Acc,Patient,Sex,Age,When,Body\nX1,P1,F,50,03/04/2020,Drainage\n")
    services.reports_import(project=project, path=first, mapping=ColumnMapping(
        {"accession": ("Acc",), "patient_id": ("Patient",), "sex": ("Sex",), "age": ("Age",),
         "procedure_date": ("When",), "text": ("Body",)}, "mdy"))
    client = bearer(admin_user)
    url = reverse("api_reports", args=[project.slug])
    row = {"Acc": "X2", "Patient": "P2", "Sex": "M", "Age": "60", "When": "02/13/2021",
           "Body": "Biopsy of a rib lesion"}
    response = client.post(url, {"reports": [row]}, format="json")
    assert response.status_code == 201, response.json()
    assert Report.objects.get(accession="X2").procedure_date == datetime.date(2021, 2, 13)
    dmy = {"columns": {"accession": ["Acc"], "patient_id": ["Patient"], "sex": ["Sex"],
                       "age": ["Age"], "procedure_date": ["When"], "text": ["Body"]},
           "date_format": "dmy"}
    given = client.post(url, {"reports": [row | {"Acc": "X3", "When": "13/02/2021"}],
                              "mapping": dmy}, format="json")
    assert given.status_code == 201, given.json()
    assert Report.objects.get(accession="X3").procedure_date == datetime.date(2021, 2, 13)
    bad = client.post(url, {"reports": [row], "mapping": {"columns": {"colour": ["Acc"]}}},
                      format="json")
    assert bad.status_code == 400
    assert "Unknown field 'colour'" in bad.json()["fields"]["mapping"][0]
    bad_format = client.post(url, {"reports": [row], "mapping": dmy | {"date_format": ["x"]}},
                             format="json")
    assert bad_format.status_code == 400
    assert "date_format" in bad_format.json()["fields"]["mapping"][0]



def test_an_annotator_labels_through_the_queue_with_server_timing(project, annotator):
    add_unlabelled(project, 2)
    client = bearer(annotator)
    served = client.post(reverse("api_queue_next", args=[project.slug])).json()
    assert served["report"]["accession"] == "U00000" and served["token"]
    url = reverse("api_annotations", args=[project.slug])
    response = client.post(url, {"token": served["token"], "category": 4,
                                 "active_ms": 10_000_000}, format="json")
    assert response.status_code == 201, response.json()
    annotation = Annotation.objects.get()
    assert annotation.category.code == 4 and annotation.user == annotator
    # Capped at the time the report was on screen, as on the page.
    window = (annotation.submitted_at - annotation.served_at).total_seconds() * 1000
    assert annotation.active_ms <= window + 1
    assert response.json()["report"] == annotation.report_id
    assert ReferenceLabel.objects.get(report=annotation.report).method == "single"
    following = client.post(reverse("api_queue_next", args=[project.slug])).json()
    assert following["report"]["accession"] == "U00001"


def test_answers_are_validated_as_on_the_page(project, annotator, admin_user):
    add_unlabelled(project, 1)
    client = bearer(annotator)
    token = client.post(reverse("api_queue_next", args=[project.slug])).json()["token"]
    url = reverse("api_annotations", args=[project.slug])
    bad_category = client.post(url, {"token": token, "category": 7}, format="json")
    assert bad_category.status_code == 400
    assert "No category '7' in ct-ir" in bad_category.json()["fields"]["category"][0]
    bad_ms = client.post(url, {"token": token, "category": 1, "active_ms": "soon"},
                         format="json")
    assert bad_ms.status_code == 400
    assert bad_ms.json()["detail"] == "active_ms: A valid number is required."
    forged = client.post(url, {"token": token + "x", "category": 1}, format="json")
    assert forged.status_code == 400 and "token" in forged.json()["detail"]
    someone_else = bearer(admin_user).post(url, {"token": token, "category": 1}, format="json")
    assert someone_else.status_code == 403
    assert not Annotation.objects.exists()


def test_annotators_list_their_own_annotations_admins_everyone(project, annotator,
                                                                admin_user):
    from tests.support import answer

    add_unlabelled(project, 3)
    answer(project, annotator, 1)
    answer(project, admin_user, 2)
    url = reverse("api_annotations", args=[project.slug])
    mine = bearer(annotator).get(url).json()
    assert [a["user"] for a in mine["results"]] == [annotator.username]
    everyone = bearer(admin_user).get(url).json()
    assert everyone["count"] == 2
    assert bearer(admin_user).get(url, {"user": annotator.username}).json()["count"] == 1
    assert bearer(admin_user).get(url, {"since": "yesterday"}).status_code == 400


def test_a_skip_takes_the_report_out_of_my_queue(project, annotator):
    add_unlabelled(project, 2)
    client = bearer(annotator)
    token = client.post(reverse("api_queue_next", args=[project.slug])).json()["token"]
    assert client.post(reverse("api_queue_skip", args=[project.slug]), {"token": token},
                       format="json").status_code == 200
    assert client.post(reverse("api_queue_next", args=[project.slug])).json(
        )["report"]["accession"] == "U00001"
