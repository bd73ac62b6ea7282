# The modeling tests' fixtures: a project with labelled reports and a tiny base model.

# A real Celery worker on this test database, for the tests marked `worker`.

import pytest


@pytest.fixture
def readers(project, reader):
    """Two readers of ct-ir: `reader` (rita-reader) and rob-reader."""
    from django.contrib.auth.models import User

    from annotation.models import Membership, Role

    second = User.objects.create_user("rob-reader", password="pw-rob")
    Membership.objects.create(project=project, user=second, role=Role.READER)
    return [reader, second]


@pytest.fixture
def open_study(project, readers):
    """An open reader study "S" of the 8 test-split reports out of 12, read by `readers`.

    Modules that read it as `study` say so with a local fixture; elsewhere `study` is the
    smaller draft study of tests/conftest.py."""
    from annotation.services import splits_assign
    from studies import services as studies
    from studies.models import ReaderStudy
    from tests.support import add_reports

    add_reports(project, 12)
    splits_assign(project=project, counts=(4, 0, 8))
    study = studies.study_create(project=project, name="S", readers=readers, seed=7)
    studies.study_status_set(study=study, status=ReaderStudy.Status.OPEN)
    return study
