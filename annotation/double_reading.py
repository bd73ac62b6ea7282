"""Double reading: how many independent annotations a report needs.

With 2+ annotations per report and a double-read fraction below 1, a fixed hash of the
report id puts it in one of HASH_BUCKETS buckets; the first `fraction` of the buckets are
read `annotations_per_report` times, the rest once. The hash is written once, in
`double_read_bucket`, which works on a plain id (Python) and on F("id") (SQL), so the queue's
query and the services can never disagree.
"""

from django.db.models import Case, F, Value, When
from django.db.models.lookups import GreaterThan

from .models import Project

HASH_PRIME, HASH_OFFSET, HASH_BUCKETS = 7919, 13, 1000


def double_read_bucket(report_id):
    """The report's bucket, 0..HASH_BUCKETS-1: an int for an int, an expression for F("id")."""
    return (report_id * HASH_PRIME + HASH_OFFSET) % HASH_BUCKETS


def _threshold(project: Project) -> int | None:
    """Buckets below this are read more than once; None when every report needs the same."""
    n = project.annotations_per_report
    if n <= 1 or project.double_read_fraction >= 1:
        return None
    return round(project.double_read_fraction * HASH_BUCKETS)


def required_annotations(project: Project, report_id: int) -> int:
    """How many independent annotations this report needs."""
    threshold = _threshold(project)
    if threshold is None:
        return max(project.annotations_per_report, 1)
    return project.annotations_per_report if double_read_bucket(report_id) < threshold else 1


def required_annotations_expression(project: Project):
    """The same as required_annotations, as an SQL expression over a report row."""
    threshold = _threshold(project)
    if threshold is None:
        return Value(max(project.annotations_per_report, 1))
    return Case(When(GreaterThan(Value(threshold), double_read_bucket(F("id"))),
                     then=Value(project.annotations_per_report)), default=Value(1))
