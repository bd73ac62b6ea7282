"""The demo reader study that `manage.py seed_demo` adds."""

from django.contrib.auth.models import User

from annotation.models import Role
from ctir_demo.users import DEMO_USERS
from studies import services
from studies.models import ReaderStudy


def seed_study(*, project):
    if project.studies.exists():
        return
    readers = User.objects.filter(username__in=[u for u, _, r in DEMO_USERS if r == Role.READER])
    if not readers.exists():
        return  # seed_demo made no demo logins (DEBUG off): a study with no readers is no demo
    study = services.study_create(
        project=project, name="Readers versus model, test split", readers=readers, seed=2025,
        instructions="Classify each report into one of the four categories. Read as you "
        "would in practice; the clock runs while the report is on screen (use Pause for breaks).",
    )
    services.study_status_set(study=study, status=ReaderStudy.Status.OPEN)
