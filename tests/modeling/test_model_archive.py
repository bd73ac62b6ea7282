"""Portable model versions: a version downloads as one signed zip, and another project (on
this instance or another with the same CTIR_MODEL_SIGNING_KEY) takes it in as a new
version, scored on its own validation split before anyone can promote it. A tampered or
foreign archive is refused with the reason before anything in it is unpacked or loaded."""

import hashlib
import io
import json
import stat
import zipfile

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from annotation import services as annotation_services
from annotation.models import Category, Membership, Project, Role
from core.models import JobStatus
from modeling import archive, services
from modeling.models import ModelVersion, Trigger
from tests.support import bearer, labelled_rows, train

EVALUATE = "modeling.tasks.evaluate_imported_version"


@pytest.fixture
def twin(other_project, admin_user):
    """A second project with ct-ir's categories (codes, names, order) and labelled reports
    of its own, 12 of them in validation; admin_user administers it too."""
    for category in Category.objects.filter(project__slug="ct-ir"):
        Category.objects.create(project=other_project, code=category.code,
                                name=category.name, key=category.key)
    annotation_services.reports_write(
        project=other_project, rows=labelled_rows({"train": 4, "validation": 3, "test": 2},
                                                  prefix="O"),
        batch=None, user=None, reason="test")
    Membership.objects.create(project=other_project, user=admin_user, role=Role.ADMIN)
    return other_project


@pytest.fixture
def sent(monkeypatch):
    """The tasks handed to the broker, as (name, args), instead of sending them."""
    from core import queue

    calls = []
    monkeypatch.setattr(queue.app, "send_task",
                        lambda name, args, kwargs, **options: calls.append((name, args)))
    return calls


@pytest.fixture
def fast_version(labelled_project, model_settings):
    version = train(labelled_project, fast=True)
    assert version.status == JobStatus.SUCCEEDED, version.error
    return version


def download(user, version) -> bytes:
    response = bearer(user).get(reverse("api_model_archive", args=[
        version.project.slug, version.number]))
    assert response.status_code == 200, response.content[:300]
    assert response["Content-Type"] == "application/zip"
    return b"".join(response.streaming_content)


def zip_file(data: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile("model.zip", data, content_type="application/zip")


def upload(user, project, data: bytes):
    return bearer(user).post(reverse("api_model_archives", args=[project.slug]),
                             {"file": zip_file(data)}, format="multipart")


def members(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return {info.filename: zf.read(info) for info in zf.infolist()}


def rezip(files: dict[str, bytes], *, resign: bytes | None = None,
          links: tuple[str, ...] = ()) -> bytes:
    """An archive of `files`; with `resign`, its manifest made anew under that key."""
    files = dict(files)
    if resign is not None:
        files.pop(archive.MANIFEST)
        digests = {n: hashlib.sha256(b).hexdigest() for n, b in files.items()}
        files[archive.MANIFEST] = json.dumps(archive.manifest_for(digests, key=resign)).encode()
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            info = zipfile.ZipInfo(name)
            info.compress_type = zipfile.ZIP_DEFLATED
            if name in links:
                info.external_attr = (stat.S_IFLNK | 0o777) << 16
            zf.writestr(info, data)
    return out.getvalue()


def evaluated(version_id: int) -> ModelVersion:
    from modeling import jobs  # torch: only the tests that evaluate pay for it

    return jobs.evaluate_imported(version_id)


def predictions(version, texts):
    from modeling.ml.inference import Classifier

    return Classifier.load(version.artifact_dir).predict(texts)


def test_a_trained_version_moves_to_another_project_and_predicts_the_same(
        labelled_project, twin, admin_user, model_settings, workers_up, sent,
        django_capture_on_commit_callbacks):
    original = train(labelled_project)
    assert original.status == JobStatus.SUCCEEDED, original.error
    data = download(admin_user, original)
    files = members(data)
    assert {"model/config.json", "model/tfidf.joblib", "model/label_map.json",
            archive.CARD, archive.CARD_TEXT, archive.MANIFEST} <= set(files)
    card = json.loads(files[archive.CARD])
    assert [(c["code"], c["name"]) for c in card["categories"]] == list(
        labelled_project.categories.order_by("code").values_list("code", "name"))
    assert card["data"]["counts"]["validation"] == {"1": 2, "2": 2, "3": 2, "4": 2}
    assert card["recipe"]["epochs"] == 1 and card["served"] == original.metrics["served"]
    assert card["metrics"]["validation"] == original.metrics["validation"]
    assert card["exported"]["instance"] and card["exported"]["at"]
    assert "## Categories" in files[archive.CARD_TEXT].decode()

    cache.set("ctir:queue_health", {"redis": True, "training": True, "inference": True,
                                    "problem": ""}, 60)  # training outlasts workers_up's
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(admin_user, twin, data)
    assert response.status_code == 201, response.json()
    imported = ModelVersion.objects.get(project=twin, number=response.json()["number"])
    assert imported.trigger == Trigger.IMPORTED and imported.status == JobStatus.QUEUED
    assert sent == [(EVALUATE, (imported.pk,))]
    assert services.promotion_request(version=imported, user=admin_user).refused

    imported = evaluated(imported.pk)
    assert imported.status == JobStatus.SUCCEEDED, imported.error
    # Its figures are this project's (12 validation reports), the exporter's kept aside.
    assert imported.metrics["validation"]["n"] == 12
    assert imported.metrics["as_exported"]["validation"]["n"] == 8
    assert imported.hyperparameters["imported_from"]["version"] == original.number
    texts = [text for text, _ in _texts(twin)]
    ours, theirs = predictions(imported, texts), predictions(original, texts)
    assert [p["category"] for p in ours] == [p["category"] for p in theirs]
    for a, b in zip(ours, theirs, strict=True):
        assert a["probabilities"] == pytest.approx(b["probabilities"], abs=1e-6)
    assert services.promotion_request(version=imported, user=admin_user).ok


def _texts(project):
    from modeling.jobs import training_data

    data = training_data(project)
    return data["validation"] + data["test"]


def test_a_fast_version_round_trips_through_the_pages(fast_version, twin, admin_user, login,
                                                      workers_up, sent,
                                                      django_capture_on_commit_callbacks):
    client = login(admin_user)
    detail = client.get(reverse("model_detail", args=["ct-ir", fast_version.number]))
    assert 'id="download-archive"' in detail.content.decode()
    response = client.get(reverse("model_archive", args=["ct-ir", fast_version.number]))
    assert response["Content-Disposition"].startswith("attachment;")
    data = b"".join(response.streaming_content)
    assert "model/config.json" not in members(data)  # a fast version has no encoder
    assert 'id="import-archive"' in client.get(reverse("models", args=[twin.slug])
                                               ).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        page = client.post(reverse("model_archive_upload", args=[twin.slug]),
                           {"file": zip_file(data)}, follow=True)
    assert "queued to be scored on this project&#x27;s validation split" in \
        page.content.decode()
    imported = evaluated(twin.model_versions.get(trigger=Trigger.IMPORTED).pk)
    assert imported.status == JobStatus.SUCCEEDED and imported.metrics["fast"]
    assert "Imported, not promoted" in imported.promotion_note
    texts = [text for text, _ in _texts(twin)]
    ours, theirs = predictions(imported, texts), predictions(fast_version, texts)
    assert [(p["category"], p["probabilities"]) for p in ours] == \
        [(p["category"], p["probabilities"]) for p in theirs]
    page = client.get(reverse("model_detail", args=[twin.slug, imported.number]))
    assert 'id="imported-from"' in page.content.decode()


def _one_byte_changed(files):
    joblib_bytes = bytearray(files["model/tfidf.joblib"])
    joblib_bytes[len(joblib_bytes) // 2] ^= 0xFF
    return rezip({**files, "model/tfidf.joblib": bytes(joblib_bytes)})


TAMPERED = {
    "one-byte": (_one_byte_changed, "file model/tfidf.joblib does not match the manifest"),
    "added": (lambda f: rezip({**f, "model/extra.py": b"print(1)"}),
              "file model/extra.py is not in the manifest"),
    "resigned": (lambda f: rezip({**f, "model/tfidf.joblib": b"evil"}, resign=b"another key"),
                 "signed with another key: set CTIR_MODEL_SIGNING_KEY to the exporting "
                 "instance's"),
    "traversal": (lambda f: rezip({**f, "../../evil.txt": b"x"}), "would leave the model "
                  "folder"),
    "link": (lambda f: rezip({**f, "model/vocab.txt": b"/etc/passwd"}, links=(
        "model/vocab.txt",)), "is a symbolic link"),
    "no-manifest": (lambda f: rezip({n: b for n, b in f.items() if n != archive.MANIFEST}),
                    "no manifest: not a ctir model archive"),
    "not-a-zip": (lambda f: b"PK\x03\x04 nothing", "not a readable zip archive"),
}


@pytest.mark.parametrize("kind", list(TAMPERED))
def test_a_tampered_archive_is_refused_before_anything_is_loaded(
        fast_version, twin, admin_user, workers_up, monkeypatch, kind):
    import joblib

    loaded = []
    monkeypatch.setattr(joblib, "load", lambda *a, **k: loaded.append(a))
    change, reason = TAMPERED[kind]
    response = upload(admin_user, twin, change(members(download(admin_user, fast_version))))
    assert response.status_code == 400
    assert reason in response.json()["detail"], response.json()
    assert response.json()["detail"].startswith("Not imported: ")
    assert not loaded
    assert not twin.model_versions.exists()
    assert not archive_root(twin).exists()


def archive_root(project):
    from django.conf import settings

    return settings.CTIR_MODEL_DIR / project.slug


def test_a_decompression_bomb_is_refused_from_the_directory(fast_version, twin, admin_user,
                                                            workers_up, settings):
    settings.CTIR_MODEL_ARCHIVE_RATIO_FLOOR = 1024
    files = members(download(admin_user, fast_version))
    response = upload(admin_user, twin, rezip({**files, "model/zeros.bin": bytes(2**20)}))
    assert response.status_code == 400
    assert "refused as a decompression bomb" in response.json()["detail"]


def test_an_archive_too_big_is_refused_with_413(fast_version, twin, admin_user, settings):
    settings.CTIR_MODEL_ARCHIVE_MAX_ARCHIVE_BYTES = 1000
    response = upload(admin_user, twin, download(admin_user, fast_version))
    assert response.status_code == 413 and "model archives are taken up to" in \
        response.json()["detail"]


def test_other_categories_are_refused(fast_version, admin_user, workers_up):
    elsewhere = Project.objects.create(name="Three categories", slug="three")
    for code, key in ((1, "a"), (2, "b"), (3, "c")):
        Category.objects.create(project=elsewhere, code=code, name=f"c{code}", key=key)
    Membership.objects.create(project=elsewhere, user=admin_user, role=Role.ADMIN)
    response = upload(admin_user, elsewhere, download(admin_user, fast_version))
    assert response.status_code == 400
    assert "the categories differ" in response.json()["detail"]
    assert "this project's are 1 c1, 2 c2, 3 c3" in response.json()["detail"]
    assert not elsewhere.model_versions.exists()


def test_two_instances_share_a_key_to_move_models(fast_version, twin, admin_user, workers_up,
                                                  settings):
    settings.CTIR_MODEL_SIGNING_KEY = "shared between test and production"
    data = download(admin_user, fast_version)
    settings.CTIR_MODEL_SIGNING_KEY = ""  # production without the key: refused, and why
    refused = upload(admin_user, twin, data)
    assert refused.status_code == 400 and "signed with another key" in refused.json()["detail"]
    settings.CTIR_MODEL_SIGNING_KEY = "shared between test and production"
    assert upload(admin_user, twin, data).status_code == 201


def test_no_worker_means_503_and_nothing_imported(fast_version, twin, admin_user):
    data = download(admin_user, fast_version)
    cache.set("ctir:queue_health", {"redis": True, "training": True, "inference": False,
                                    "problem": "No worker listens on the inference queue."}, 60)
    response = upload(admin_user, twin, data)
    assert response.status_code == 503 and "inference queue" in response.json()["detail"]
    assert not twin.model_versions.exists()


def test_a_version_without_a_model_cannot_be_downloaded(project, admin_user, login):
    version = services.model_version_create(project=project, enqueue=False)
    response = bearer(admin_user).get(reverse("api_model_archive", args=[project.slug,
                                                                         version.number]))
    assert response.status_code == 409 and "no trained model" in response.json()["detail"]
    page = login(admin_user).get(reverse("model_archive", args=[project.slug, version.number]),
                                 follow=True)
    assert "No download" in page.content.decode()


def test_an_upload_without_a_file_is_refused(project, admin_user, login, workers_up):
    assert bearer(admin_user).post(reverse("api_model_archives", args=[project.slug]), {},
                                   format="multipart").status_code == 400
    page = login(admin_user).post(reverse("model_archive_upload", args=[project.slug]),
                                  follow=True)
    assert "Not imported: file: choose a model archive" in page.content.decode()


PAGES = [("get", "model_archive", {"number": 1}), ("post", "model_archive_upload", {})]


@pytest.mark.parametrize(("method", "name", "kwargs"), PAGES)
def test_the_pages_refuse_other_roles(login, project, outsider, annotator, reader, version,
                                      method, name, kwargs):
    url = reverse(name, kwargs={"slug": project.slug, **kwargs})
    assert getattr(login(outsider), method)(url).status_code == 404
    for user in (annotator, reader):
        assert getattr(login(user), method)(url).status_code == 403
