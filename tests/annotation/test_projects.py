"""Projects, categories and members managed in the app, not in the Django admin."""

import re

import pytest
from django.contrib.auth.models import User
from django.urls import reverse

from annotation import services
from annotation.importing.plan import plan_import
from annotation.models import (
    Category,
    CategoryChange,
    Membership,
    Project,
    ReferenceLabel,
    Report,
    Role,
)
from tests.support import add_reports, add_unlabelled


@pytest.fixture
def superuser(db):
    return User.objects.create_superuser("sue-super", password="pw-sue")


def category_rows(*rows):
    data = {"cat-TOTAL_FORMS": str(len(rows)), "cat-INITIAL_FORMS": "0", "cat-MIN_NUM_FORMS": "0",
            "cat-MAX_NUM_FORMS": "50"}
    for i, (code, name, key, colour) in enumerate(rows):
        data.update({f"cat-{i}-code": str(code), f"cat-{i}-name": name,
                     f"cat-{i}-description": "", f"cat-{i}-key": key,
                     f"cat-{i}-colour": colour})
    return data


NEW_PROJECT = {"name": "Unexpected findings", "slug": "unexpected",
               "description": "High-priority unexpected findings", "guideline": "Flag it."}


def test_a_superuser_creates_a_project_with_three_categories(login, superuser):
    client = login(superuser)
    assert client.get(reverse("project_create")).status_code == 200
    response = client.post(reverse("project_create"), NEW_PROJECT | category_rows(
        (1, "Urgent", "u", "#ef4444"), (2, "Soon", "O", "#f59e0b"), (3, "Routine", "r",
                                                                       "#10b981")))
    assert response.status_code == 302
    assert response["Location"] == reverse("project_members", args=["unexpected"])
    project = Project.objects.get(slug="unexpected")
    assert list(project.categories.values_list("code", "name", "key", "colour")) == [
        (1, "Urgent", "u", "#ef4444"), (2, "Soon", "o", "#f59e0b"),
        (3, "Routine", "r", "#10b981")]
    assert project.guideline == "Flag it."


@pytest.mark.parametrize(("rows", "message"), [
    ([(1, "Only one", "1", "#000000")], "A project needs at least two categories."),
    ([(1, "A", "1", "#000000"), (2, "B", "1", "#000000")], "Two categories have the same key."),
    ([(1, "A", "s", "#000000"), (2, "B", "2", "#000000")], "is taken by the labeling pages"),
    ([(1, "A", "1", "red"), (2, "B", "2", "#000000")], "A colour as #rrggbb."),
])
def test_a_bad_project_form_says_what_is_wrong_and_creates_nothing(login, superuser, rows,
                                                                  message):
    response = login(superuser).post(reverse("project_create"),
                                     NEW_PROJECT | category_rows(*rows))
    assert response.status_code == 200
    assert message in response.content.decode().replace("&#x27;", "'")
    assert not Project.objects.filter(slug="unexpected").exists()


def test_only_a_superuser_creates_projects(client, login, admin_user):
    assert client.get(reverse("project_create")).status_code == 302  # to the login page
    response = login(admin_user).post(reverse("project_create"),
                                      NEW_PROJECT | category_rows((1, "A", "1", "#000000"),
                                                                  (2, "B", "2", "#000000")))
    assert response.status_code == 403
    assert not Project.objects.filter(slug="unexpected").exists()


# --- categories -----------------------------------------------------------------------------

def test_renaming_a_category_keeps_its_labels_and_records_the_change(login, project,
                                                                    admin_user):
    add_reports(project, 4)
    lung = Category.objects.get(project=project, code=3)
    labelled = ReferenceLabel.objects.filter(category=lung).count()
    url = reverse("category_edit", args=[project.slug, lung.pk])
    response = login(admin_user).post(url, {"code": "9", "name": "Lung biopsy (parenchyma)",
                                            "description": lung.description, "key": "L",
                                            "colour": lung.colour})
    assert response.status_code == 302
    lung.refresh_from_db()
    assert (lung.code, lung.name, lung.key) == (3, "Lung biopsy (parenchyma)", "l")
    assert ReferenceLabel.objects.filter(category=lung).count() == labelled
    assert list(CategoryChange.objects.filter(category=lung).values_list(
        "field", "old_value", "new_value", "changed_by__username")) == [
        ("name", "Lung biopsy", "Lung biopsy (parenchyma)", "alice-admin"),
        ("key", "3", "l", "alice-admin")]
    page = login(admin_user).get(url).content.decode()
    assert "Lung biopsy (parenchyma)" in page and "alice-admin" in page


def test_a_key_another_category_has_is_refused(login, project, admin_user):
    lung = Category.objects.get(project=project, code=3)
    response = login(admin_user).post(
        reverse("category_edit", args=[project.slug, lung.pk]),
        {"name": lung.name, "description": "", "key": "4", "colour": lung.colour})
    assert response.status_code == 200
    assert "Key &#x27;4&#x27; is already used in this project." in response.content.decode()
    assert Category.objects.get(pk=lung.pk).key == "3"


def test_a_category_in_use_is_retired_not_deleted(login, project, admin_user, tmp_path):
    add_reports(project, 4)
    used = ReferenceLabel.objects.first().category
    client = login(admin_user)
    url = reverse("project_settings", args=[project.slug])
    page = client.post(url, {"action": "delete", "category": used.pk}, follow=True)
    assert "cannot be deleted; retire it instead" in page.content.decode()
    assert Category.objects.filter(pk=used.pk).exists()
    client.post(url, {"action": "retire", "category": used.pk})
    assert Category.objects.get(pk=used.pk).retired
    # Still on its reports; not offered for new answers, not accepted from an import.
    assert ReferenceLabel.objects.filter(category=used).exists()
    add_unlabelled(project, 1)
    annotate = client.get(reverse("annotate", args=[project.slug])).content.decode()
    keys = set(re.findall(r'name="category" value="\d+" data-key="(.)"', annotate))
    assert keys == {"1", "2", "3", "4"} - {used.key}
    csv = tmp_path / "late.csv"
    csv.write_text("accession,patient_id,sex,age,procedure_date,text,label\n"
                   f"L1,P1,F,50,2020-01-01,Drainage,{used.code}\n")
    assert [str(e) for e in plan_import(project, csv).errors] == [
        f"line 2, column label: category {used} is retired and takes no new labels (in use: "
        + ", ".join(str(c) for c in Category.objects.filter(project=project, retired=False))
        + ")"]
    client.post(url, {"action": "restore", "category": used.pk})
    assert not Category.objects.get(pk=used.pk).retired


def test_an_unused_category_is_added_and_deleted(login, project, admin_user):
    client = login(admin_user)
    url = reverse("project_settings", args=[project.slug])
    form = client.get(url).context["new_category"]
    assert form.initial["code"] == 5 and form.initial["key"] == "5"
    client.post(url, {"action": "category_add", "new-code": "5", "new-name": "Other",
                      "new-description": "", "new-key": "o", "new-colour": "#64748b"})
    other = Category.objects.get(project=project, code=5)
    assert other.key == "o"
    client.post(url, {"action": "delete", "category": other.pk})
    assert not Category.objects.filter(pk=other.pk).exists()


def test_a_category_of_another_project_is_not_found(login, project, admin_user,
                                                    other_project):
    theirs = Category.objects.create(project=other_project, code=1, name="X", key="1")
    client = login(admin_user)
    assert client.get(reverse("category_edit", args=[project.slug, theirs.pk])).status_code \
        == 404
    response = client.post(reverse("project_settings", args=[project.slug]),
                           {"action": "delete", "category": theirs.pk})
    assert response.status_code == 404
    assert Category.objects.filter(pk=theirs.pk).exists()


# --- members --------------------------------------------------------------------------------

def test_an_admin_adds_an_existing_user_and_changes_their_role(login, project, admin_user,
                                                               other_project):
    bob = User.objects.create_user("bob", password="pw-bob")
    # Bob is a member of another project this admin also administers.
    Membership.objects.create(project=other_project, user=bob, role=Role.ANNOTATOR)
    Membership.objects.create(project=other_project, user=admin_user, role=Role.ADMIN)
    client = login(admin_user)
    url = reverse("project_members", args=[project.slug])
    client.post(url, {"action": "add", "add-username": "bob", "add-role": "annotator"})
    membership = Membership.objects.get(project=project, user=bob)
    assert membership.role == Role.ANNOTATOR
    client.post(url, {"action": "role", "membership": membership.pk, "role": "reader"})
    assert Membership.objects.get(pk=membership.pk).role == Role.READER
    response = client.post(url, {"action": "add", "add-username": "nobody",
                                 "add-role": "annotator"})
    assert ("No user &#x27;nobody&#x27; among the members of your projects; create one below "
            "instead.") in response.content.decode()


def test_a_new_user_gets_a_one_time_set_password_link(client, login, project, admin_user):
    url = reverse("project_members", args=[project.slug])
    response = login(admin_user).post(url, {"action": "create", "new-username": "carol",
                                            "new-email": "", "new-role": "annotator"})
    carol = User.objects.get(username="carol")
    assert not carol.has_usable_password()
    assert Membership.objects.get(user=carol).role == Role.ANNOTATOR
    link = response.context["link"]["url"]
    assert link in response.content.decode()
    path = re.sub(r"^https?://[^/]+", "", link)
    client.logout()
    form_page = client.get(path, follow=True)
    assert form_page.context["validlink"]
    done = client.post(form_page.request["PATH_INFO"], {
        "new_password1": "a-long-Passphrase-9", "new_password2": "a-long-Passphrase-9"})
    assert done.status_code == 302 and done["Location"] == reverse("password_set_done")
    assert client.login(username="carol", password="a-long-Passphrase-9")
    client.logout()
    again = client.get(path, follow=True)
    assert not again.context["validlink"]
    assert "does not work any more" in again.content.decode()


def test_no_link_for_a_user_who_already_has_a_password(login, project, admin_user, annotator):
    membership = Membership.objects.get(user=annotator)
    response = login(admin_user).post(reverse("project_members", args=[project.slug]),
                                      {"action": "link", "membership": membership.pk},
                                      follow=True)
    assert "already has a password" in response.content.decode()
    with pytest.raises(PermissionError):
        services.set_password_token(user=annotator, by=admin_user)


def test_it_closes_the_cross_project_takeover_of_a_new_user(client, login, project, admin_user,
                                                            other_project):
    """The audit's path: the admin of another project adds a ct-ir user who has no password
    yet, makes that membership's set-password link, sets a password and logs in as them."""
    url = reverse("project_members", args=[project.slug])
    login(admin_user).post(url, {"action": "create", "new-username": "nina",
                                 "new-email": "", "new-role": "admin"})
    nina = User.objects.get(username="nina")
    mallory = User.objects.create_user("mallory", password="pw-mallory")
    Membership.objects.create(project=other_project, user=mallory, role=Role.ADMIN)
    attacker = login(mallory)
    theirs = reverse("project_members", args=[other_project.slug])
    page = attacker.post(theirs, {"action": "add", "add-username": "nina",
                                  "add-role": "annotator"})
    assert "No user &#x27;nina&#x27; among the members of your projects" in page.content.decode()
    assert not Membership.objects.filter(project=other_project, user=nina).exists()
    # Even were nina a member of both (added by a superuser, say), only an admin of every
    # project she belongs to may make her link.
    membership = Membership.objects.create(project=other_project, user=nina,
                                           role=Role.ANNOTATOR)
    page = attacker.post(theirs, {"action": "link", "membership": membership.pk}, follow=True)
    assert page.context.get("link") is None
    assert "a project you do not administer" in page.content.decode()
    with pytest.raises(services.LinkRefused):
        services.set_password_token(user=nina, by=mallory)
    assert not User.objects.get(pk=nina.pk).has_usable_password()
    # The admin of both projects, and a superuser, still can.
    Membership.objects.create(project=project, user=mallory, role=Role.ADMIN)
    assert services.set_password_token(user=nina, by=mallory)
    sue = User.objects.create_superuser("sue", password="pw-sue")
    assert services.set_password_token(user=nina, by=sue)


def test_a_superuser_adds_any_active_user(login, project, superuser):
    User.objects.create_user("loner", password="pw-loner")
    login(superuser).post(reverse("project_members", args=[project.slug]),
                          {"action": "add", "add-username": "loner", "add-role": "reader"})
    assert Membership.objects.get(project=project, user__username="loner").role == Role.READER


def test_the_last_admin_cannot_leave(login, project, admin_user):
    membership = Membership.objects.get(user=admin_user)
    client = login(admin_user)
    url = reverse("project_members", args=[project.slug])
    page = client.post(url, {"action": "remove", "membership": membership.pk}, follow=True)
    assert "the only admin of" in page.content.decode()
    client.post(url, {"action": "role", "membership": membership.pk, "role": "reader"})
    assert Membership.objects.get(pk=membership.pk).role == Role.ADMIN


def test_the_dashboard_and_settings_show_a_project_of_two_categories(login, superuser):
    project = services.project_create(name="Binary", slug="binary", categories=[
        {"code": 1, "name": "Yes", "key": "y", "colour": "#dc2626"},
        {"code": 2, "name": "No", "key": "n", "colour": "#64748b"}])
    client = login(superuser)
    dashboard = client.get(reverse("dashboard", args=[project.slug]))
    assert [c["category"].name for c in dashboard.context["stats"]["categories"]] == ["Yes",
                                                                                      "No"]
    settings_page = client.get(reverse("project_settings", args=[project.slug]))
    assert settings_page.context["new_category"].initial["key"] == "1"
    assert not Report.objects.filter(project=project).exists()


def test_double_reading_and_the_hold_are_set_on_the_settings_page(login, project, admin_user):
    add_unlabelled(project, 10)
    url = reverse("project_settings", args=[project.slug])
    page = login(admin_user).post(url, {
        "action": "project", "name": project.name, "description": "", "guideline": "g",
        "annotations_per_report": 2, "double_read_fraction": 40, "claim_minutes": 20},
        follow=True)
    assert "Project saved." in page.content.decode()
    project.refresh_from_db()
    assert (project.annotations_per_report, project.double_read_fraction,
            project.claim_minutes) == (2, 0.4, 20)
    form = login(admin_user).get(url).context["form"]
    assert form.initial["double_read_fraction"] == 40.0
    bad = login(admin_user).post(url, {
        "action": "project", "name": project.name, "description": "", "guideline": "g",
        "annotations_per_report": 2, "double_read_fraction": 140, "claim_minutes": 0})
    assert "less than or equal to 100" in bad.content.decode()
    assert Project.objects.get(pk=project.pk).claim_minutes == 20


def test_a_new_projects_slug_comes_from_its_name(login, superuser):
    data = category_rows((1, "Yes", "y", "#dc2626"), (2, "No", "n", "#64748b"))
    login(superuser).post(reverse("project_create"), {**NEW_PROJECT, "slug": "", **data})
    assert Project.objects.filter(slug="unexpected-findings").exists()
