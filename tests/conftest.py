import importlib

import pytest
from django.apps import apps
from django.contrib.auth.models import User

from annotation.models import Membership, Project, Role


@pytest.fixture
def project(db):
    # Created by the data migration, with the four guideline categories. Tests on
    # transactional_db flush the tables, so the same migration code puts it back.
    if not Project.objects.filter(slug="ct-ir").exists():
        importlib.import_module("annotation.migrations.0002_ct_ir_project").create(apps, None)
    return Project.objects.get(slug="ct-ir")


@pytest.fixture
def other_project(db):
    return Project.objects.create(name="Other department", slug="other")


def _member(username, project, role):
    user = User.objects.create_user(username, password="pw-" + username)
    Membership.objects.create(project=project, user=user, role=role)
    return user


@pytest.fixture
def admin_user(project):
    return _member("alice-admin", project, Role.ADMIN)


@pytest.fixture
def annotator(project):
    return _member("anna-annotator", project, Role.ANNOTATOR)


@pytest.fixture
def reader(project):
    return _member("rita-reader", project, Role.READER)


@pytest.fixture
def outsider(other_project):
    """An admin of another project: must see nothing of ct-ir."""
    return _member("oscar-outsider", other_project, Role.ADMIN)


@pytest.fixture
def login(client):
    def _login(user):
        client.force_login(user)
        return client

    return _login
