# The modeling tests' fixtures: a project with labelled reports and a tiny base model.
from tests.modeling.conftest import labelled_project, model_settings, tiny_base_model  # noqa: F401

# A real Celery worker on this test database, for the tests marked `worker`.
from tests.modeling.test_worker import worker  # noqa: E402, F401
