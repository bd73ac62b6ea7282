# The modeling tests' fixtures: a project with labelled reports and a tiny base model.

# A real Celery worker on this test database, for the tests marked `worker`.
