"""The demo logins."""

from annotation.models import Role

# Demo logins for a local machine; printed on every `make run`. Never use on a shared server.
DEMO_USERS = [
    ("admin", "ctir-admin", Role.ADMIN),
    ("annotator1", "ctir-annotator1", Role.ANNOTATOR),
    ("annotator2", "ctir-annotator2", Role.ANNOTATOR),
    ("reader1", "ctir-reader1", Role.READER),
    ("reader2", "ctir-reader2", Role.READER),
]
