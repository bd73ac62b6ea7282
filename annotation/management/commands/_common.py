from django.core.management.base import CommandError

from annotation.models import Project


def get_project(slug: str) -> Project:
    try:
        return Project.objects.get(slug=slug)
    except Project.DoesNotExist:
        known = ", ".join(Project.objects.values_list("slug", flat=True)) or "none"
        raise CommandError(f"no project {slug!r} (known: {known})") from None
