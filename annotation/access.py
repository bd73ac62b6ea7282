"""Who may see what. Every project view calls `project_for` on its first line."""

from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import get_object_or_404

from core.db import CompiledQuery

from .models import Membership, Project, Role

ALL_ROLES = (Role.ADMIN, Role.ANNOTATOR, Role.READER)
STAFF_ROLES = (Role.ADMIN, Role.ANNOTATOR)
ADMIN_ONLY = (Role.ADMIN,)


def _membership(*, slug: str, user_id: int):
    return Membership.objects.select_related("project").filter(
        project__slug=slug, user_id=user_id)[:1]


# Every page of a project asks this first: compiled once per process (core.db.CompiledQuery).
_MEMBERSHIP = CompiledQuery(_membership)


def project_for(request, slug: str, roles=STAFF_ROLES) -> Project:
    """The project if the user may use this page; 404 for outsiders, 403 for the wrong role.

    Outsiders get 404, not 403, so project slugs do not leak to people outside the project.
    """
    user = request.user
    if user.is_authenticated and user.is_superuser:
        project, role = get_object_or_404(Project, slug=slug), Role.ADMIN
    else:
        # One query for the project and the user's role in it: this runs on every request.
        found = _MEMBERSHIP.fetch((), slug=slug, user_id=user.pk) if user.is_authenticated \
            else None
        membership = found[0] if found else None
        if membership is None:
            raise Http404("No such project")
        project, role = membership.project, membership.role
    if role not in roles:
        raise PermissionDenied(f"This page is not open to the {role} role")
    request.project_role = role
    return project
