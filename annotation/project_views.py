"""Setting up a project in the app: superusers create projects; a project's admins edit it,
its categories and its members. No Django admin needed."""

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse, reverse_lazy
from django.views.decorators.http import require_http_methods

from . import services
from .access import ADMIN_ONLY, project_for
from .forms import (
    PALETTE,
    CategoryForm,
    CategoryFormSet,
    MemberAddForm,
    MemberCreateForm,
    MemberRoleForm,
    MembersActionForm,
    ProjectEditForm,
    ProjectForm,
    SettingsActionForm,
)
from .models import Category, Membership, Project


@login_required
@require_http_methods(["GET", "POST"])
def project_create(request):
    if not request.user.is_superuser:
        raise PermissionDenied("Only a superuser creates projects")
    form = ProjectForm(request.POST or None)
    categories = CategoryFormSet(request.POST or None, prefix="cat")
    if request.method == "POST" and form.is_valid() and categories.is_valid():
        project = services.project_create(
            **{k: form.cleaned_data[k] for k in ("name", "slug", "description", "guideline")},
            categories=[c.cleaned_data for c in categories.forms if c.cleaned_data],
        )
        messages.success(request, f"Project {project.name} created. Add its members next.")
        return redirect("project_members", slug=project.slug)
    return render(request, "annotation/project_create.html",
                  {"form": form, "categories": categories})


@login_required
@require_http_methods(["GET", "POST"])
def project_settings(request, slug):
    """Name, description, guideline; the categories with their use, add one, retire one."""
    project = project_for(request, slug, ADMIN_ONLY)
    posted = SettingsActionForm(request.POST).checked()
    action = posted["action"]
    form = ProjectEditForm(instance=project)
    new_category = CategoryForm(project=project, prefix="new", initial=_next_category(project))
    if action == "project":
        # A copy: a form that fails must not rename the project on this very page.
        form = ProjectEditForm(request.POST, instance=Project.objects.get(pk=project.pk))
        if form.is_valid():
            return _project_save(request, project, form)
    elif action == "category_add":
        new_category = CategoryForm(request.POST, project=project, prefix="new")
        if new_category.is_valid():
            return _category_add(request, project, new_category)
    elif action:
        return _category_action(request, project, action, posted["category"])
    categories = Category.objects.filter(project=project).annotate(
        labels=Count("reference_labels", distinct=True),
        answers=Count("annotations", distinct=True))
    return render(request, "annotation/project_settings.html", {
        "project": project, "is_admin": True, "form": form, "categories": categories,
        "new_category": new_category,
    })


def _project_save(request, project, form):
    services.project_update(project=project, **{
        k: form.cleaned_data[k] for k in ("name", "description", "guideline",
                                          *services.READING_SETTINGS)})
    messages.success(request, "Project saved.")
    return redirect("project_settings", slug=project.slug)


def _category_add(request, project, form):
    category = services.category_add(project=project, user=request.user, **form.cleaned_data)
    messages.success(request, f"Category {category} added.")
    return redirect("project_settings", slug=project.slug)


def _next_category(project) -> dict:
    codes = set(Category.objects.filter(project=project).values_list("code", flat=True))
    keys = set(Category.objects.filter(project=project).values_list("key", flat=True))
    code = max(codes, default=0) + 1
    key = next((k for k in "123456789abcdefghijklmnoqrtuvwxy" if k not in keys), "")
    return {"code": code, "key": key, "colour": PALETTE[(code - 1) % len(PALETTE)]}


def _category_action(request, project, action, category_id):
    """Retire, restore or delete the category of the row whose button was pressed."""
    category = get_object_or_404(Category, project=project, pk=category_id)
    if action == "delete":
        try:
            services.category_delete(category=category)
        except services.CategoryInUse as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, f"Category {category} deleted.")
    else:
        services.category_retire(category=category, user=request.user,
                                 retired=action == "retire")
        done = "retired" if action == "retire" else "in use again"
        messages.success(request, f"Category {category} {done}.")
    return redirect("project_settings", slug=project.slug)


@login_required
@require_http_methods(["GET", "POST"])
def category_edit(request, slug, category_id):
    """Rename or re-key a category; every change is kept in its history, its labels stay."""
    project = project_for(request, slug, ADMIN_ONLY)
    category = get_object_or_404(Category, project=project, pk=category_id)
    # The form edits a copy; the service compares with what is stored and keeps the history.
    form = CategoryForm(request.POST or None, instance=Category.objects.get(pk=category.pk),
                        project=project)
    if request.method == "POST" and form.is_valid():
        changes = {f: form.cleaned_data[f] for f in services.CATEGORY_FIELDS}
        services.category_update(category=category, user=request.user, **changes)
        messages.success(request, f"Category {category} saved.")
        return redirect("project_settings", slug=project.slug)
    return render(request, "annotation/category_edit.html", {
        "project": project, "is_admin": True, "category": category, "form": form,
        "history": category.changes.select_related("changed_by"),
    })


@login_required
@require_http_methods(["GET", "POST"])
def project_members(request, slug):
    """Members and roles: add an existing user, or create one with a set-password link."""
    project = project_for(request, slug, ADMIN_ONLY)
    posted = MembersActionForm(request.POST).checked()
    action = posted["action"]
    add_form = MemberAddForm(prefix="add", admin=request.user)
    create_form, link = MemberCreateForm(prefix="new"), None
    if action == "add":
        add_form = MemberAddForm(request.POST, prefix="add", admin=request.user)
        if add_form.is_valid():
            _role_set(request, project, add_form.cleaned_data["username"],
                      add_form.cleaned_data["role"])
            return redirect("project_members", slug=project.slug)
    elif action == "create":
        create_form, link = _member_create(request, project)
    elif action:
        membership = get_object_or_404(Membership.objects.select_related("user"),
                                       project=project, pk=posted["membership"])
        link = _membership_action(request, project, membership, action)
        if link is None:
            return redirect("project_members", slug=project.slug)
    members = Membership.objects.filter(project=project).select_related("user").order_by(
        "role", "user__username")
    return render(request, "annotation/project_members.html", {
        "project": project, "is_admin": True, "members": members, "add_form": add_form,
        "create_form": create_form, "link": link,
        "roles": MemberRoleForm.base_fields["role"].choices,
    })


def _member_create(request, project):
    """(the form to show, the new user's set-password link): an empty form once created."""
    form = MemberCreateForm(request.POST, prefix="new")
    if not form.is_valid():
        return form, None
    user = services.member_create(project=project, **form.cleaned_data)
    link = _set_password_link(request, user)
    messages.success(request, f"{user.username} created as {form.cleaned_data['role']}.")
    return MemberCreateForm(prefix="new"), link


def _membership_action(request, project, membership, action):
    """Change a member's role, remove them, or make their set-password link (returned)."""
    if action == "role":
        role_form = MemberRoleForm(request.POST)
        if role_form.is_valid():
            _role_set(request, project, membership.user, role_form.cleaned_data["role"])
    elif action == "remove":
        try:
            services.member_remove(project=project, user=membership.user)
        except services.LastAdmin as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, f"{membership.user.username} removed.")
    else:
        return _set_password_link(request, membership.user)
    return None


def _role_set(request, project, user: User, role: str) -> None:
    try:
        services.member_role_set(project=project, user=user, role=role)
    except services.LastAdmin as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"{user.username} is {role} of {project.name}.")


def _set_password_link(request, user: User):
    """The one-time link, shown once to the admin, who hands it over; None if not allowed."""
    try:
        uidb64, token = services.set_password_token(user=user, by=request.user)
    except services.LinkRefused as exc:
        messages.error(request, str(exc))
        return None
    path = reverse("password_set", kwargs={"uidb64": uidb64, "token": token})
    return {"user": user, "url": request.build_absolute_uri(path)}


class PasswordSetView(auth_views.PasswordResetConfirmView):
    """Django's password-reset confirmation: checks the token, then asks for a password."""

    template_name = "registration/password_set.html"
    success_url = reverse_lazy("password_set_done")


class PasswordSetDoneView(auth_views.PasswordResetCompleteView):
    template_name = "registration/password_set_done.html"
