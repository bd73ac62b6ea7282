"""Writes of the labeling queue: claims, skips, answers and the reference labels they make."""

import datetime
from dataclasses import dataclass

from django.contrib.auth.models import User
from django.core import signing
from django.core.exceptions import PermissionDenied, SuspiciousOperation
from django.db import connection, transaction
from django.db.models import Exists, OuterRef, Subquery
from django.utils import timezone

from core.db import CompiledQuery, insert_sql, prepared_cursor, table_and_columns

from .. import services as annotation_services
from ..double_reading import required_annotations
from ..models import (
    Annotation,
    Category,
    LabelMethod,
    Project,
    ReferenceLabel,
    Report,
    ReportClaim,
    ReportSkip,
)
from .selectors import latest_answers, queue_candidates, suggestion_for

QUEUE_RETRIES = 20


class AnswerRefused(ValueError):
    """A new answer the queue no longer allows: the report was skipped, or its hold ended."""


def queue_next(*, project: Project, user: User, exclude_ids=(),
               check_held: bool = True) -> Report | None:
    """Serve the next report to this annotator and hold it for them (an expiring claim).

    Safe under concurrency on PostgreSQL: candidate rows are locked with SKIP LOCKED, and the
    count of annotations and claims is read again after the lock, because a claim committed
    a moment earlier by another annotator is not visible to the query that found the row.

    `check_held=False`: the caller has just read that this user holds no other report
    (annotation_submit does, in the statement it reads its rules with), so the look for a
    held report is left out.
    """
    now = timezone.now()
    expires = now + datetime.timedelta(minutes=project.claim_minutes)
    with transaction.atomic():
        held = check_held and next(iter(
            _HELD.fetch((), user_id=user.pk, project_id=project.pk, now=now) if not exclude_ids
            else _held(user_id=user.pk, project_id=project.pk, now=now,
                       exclude_ids=exclude_ids)), None)
        if held:
            held.expires_at = expires
            held.save(update_fields=["expires_at"])
            return held.report
        rejected = list(exclude_ids)
        # A random order's per-annotator permutation is folded into the SQL (see _candidate).
        shuffled_for = user.pk if project.queue_order == Project.QueueOrder.RANDOM else None
        for _ in range(QUEUE_RETRIES):
            found = (_CANDIDATE.fetch(_queue_shape(project, shuffled_for), project,
                                      shuffled_for, user_id=user.pk, now=now) if not rejected
                     else _candidate(project, shuffled_for, user_id=user.pk, now=now,
                                     rejected=rejected))
            report = found[0] if found else None
            if report is None:
                return None
            if _claim_if_room(report=report, user=user, now=now, expires=expires,
                              need=required_annotations(project, report.pk)):
                return report
            rejected.append(report.pk)
    return None


def _held(*, user_id: int, project_id: int, now, exclude_ids=()):
    """This user's live claims in the project on reports they have not answered, oldest
    first (the report they were served and have not answered yet)."""
    return (ReportClaim.objects.filter(user_id=user_id, report__project_id=project_id,
                                       expires_at__gt=now)
            .exclude(report__annotations__user_id=user_id)
            .exclude(report_id__in=exclude_ids)
            .order_by("expires_at").select_related("report")[:1])


def _candidate(project: Project, shuffled_for: int | None, *, user_id: int, now, rejected=()):
    """The best report to serve this user next, locked (skipping rows another annotator
    has locked) where the database can. `shuffled_for`: the user whose permutation a random
    order uses; it is folded into the SQL, so it is part of the shape, not a value."""
    candidates = queue_candidates(project, User(pk=user_id), now,
                                  shuffled_for=shuffled_for).exclude(pk__in=rejected)
    if connection.features.has_select_for_update_skip_locked:
        candidates = candidates.select_for_update(skip_locked=True, of=("self",))
    return candidates[:1]


def _queue_shape(project: Project, shuffled_for: int | None) -> tuple:
    """What the candidates' SQL depends on besides the user and the time: the project and
    its queue settings (read by queue_candidates and required_annotations_expression), and
    whose permutation a random order uses."""
    return (project.pk, project.queue_scope, project.queue_order, project.annotations_per_report,
            project.double_read_fraction, shuffled_for)


# The two queries of every report served, compiled once per process (core.db.CompiledQuery).
_HELD = CompiledQuery(_held)
_CANDIDATE = CompiledQuery(_candidate)


def _claim_if_room(*, report: Report, user: User, now, expires, need: int) -> bool:
    """Hold the report for this user unless the annotators who answered it plus the others
    holding a live claim on it already make `need`: the count and the claim in one statement
    (run after the report row is locked, so it reads every claim committed before the lock).
    An old, expired claim of this user is renewed."""
    claims, c_report, c_user, c_expires = table_and_columns(
        ReportClaim, "report", "user", "expires_at")
    answers, a_report, a_user = table_and_columns(Annotation, "report", "user")
    at = ReportClaim._meta.get_field("expires_at")
    with prepared_cursor() as cursor:
        # SQLite reads "SELECT ... ON CONFLICT" right only with a WHERE, which this has.
        cursor.execute(
            f"""INSERT INTO {claims} ({c_report}, {c_user}, {c_expires})
            SELECT %s, %s, %s
            WHERE (SELECT COUNT(DISTINCT a.{a_user}) FROM {answers} a WHERE a.{a_report} = %s)
                + (SELECT COUNT(*) FROM {claims} c WHERE c.{c_report} = %s
                   AND c.{c_expires} > %s AND c.{c_user} <> %s) < %s
            ON CONFLICT ({c_report}, {c_user}) DO UPDATE SET {c_expires} = excluded.{c_expires}
            RETURNING 1""",
            [report.pk, user.pk, at.get_db_prep_save(expires, connection), report.pk,
             report.pk, at.get_db_prep_save(now, connection), user.pk, need])
        return cursor.fetchone() is not None


def queue_release(*, report: Report, user: User) -> None:
    ReportClaim.objects.filter(report=report, user=user).delete()


@transaction.atomic
def report_skip(*, report: Report, user: User) -> None:
    ReportSkip.objects.get_or_create(report=report, user=user)
    queue_release(report=report, user=user)


@dataclass(frozen=True)
class ServedReport:
    """What was on screen when a report was served; signed into the form."""

    report_id: int
    user_id: int
    served_at: datetime.datetime
    suggestion_version_id: int | None = None
    suggested_code: int | None = None
    suggested_probability: float | None = None
    supersedes_id: int | None = None


ANNOTATE_SALT = "ctir.annotate.served"
# A correction (Z) left open overnight still submits; an older one is refused, not guessed
# at. A first answer needs more: a live claim on the report (_answer_allowed).
SERVED_TOKEN_MAX_AGE = 24 * 3600


@dataclass(frozen=True)
class Serving:
    """A report served to one annotator: held for them, with the model's suggestion and
    the signed token its answer must carry. All None when nothing is waiting."""

    report: Report | None = None
    suggestion: dict | None = None
    served: "ServedReport | None" = None
    token: str | None = None


def report_serve(*, project: Project, user: User, previous: Annotation | None = None,
                 check_held: bool = True) -> Serving:
    """The next report of this annotator's queue (or the one whose answer they change):
    the annotate page and the API's queue/next alike (`check_held`: see queue_next)."""
    report = previous.report if previous else queue_next(project=project, user=user,
                                                         check_held=check_held)
    if report is None:
        return Serving()
    suggestion = suggestion_for(report)
    served = served_report(report=report, user=user, suggestion=suggestion,
                           previous=previous)
    return Serving(report=report, suggestion=suggestion, served=served,
                   token=served_token(served))


def served_report(*, report: Report, user: User, suggestion: dict | None,
                  previous: Annotation | None = None) -> ServedReport:
    """What the annotate page shows now: the report, the model's suggestion, what it corrects."""
    return ServedReport(
        report_id=report.pk, user_id=user.pk, served_at=timezone.now(),
        suggestion_version_id=suggestion["version_id"] if suggestion else None,
        suggested_code=suggestion["category"].code if suggestion else None,
        suggested_probability=suggestion["probability"] if suggestion else None,
        supersedes_id=previous.pk if previous else None,
    )


def served_token(served: ServedReport) -> str:
    """Signed, so the timing and the suggestion an answer records are the server's own."""
    return signing.dumps({
        "r": served.report_id, "u": served.user_id, "t": served.served_at.isoformat(),
        "v": served.suggestion_version_id, "c": served.suggested_code,
        "p": served.suggested_probability, "s": served.supersedes_id,
    }, salt=ANNOTATE_SALT)


def served_from_token(*, token: str, user: User) -> ServedReport:
    """The served report a posted form answers; refused unless served to this user. Which
    project it is in is checked where the report is read (served_report_get,
    annotation_submit), so an answer costs no query here."""
    try:
        data = signing.loads(token, salt=ANNOTATE_SALT, max_age=SERVED_TOKEN_MAX_AGE)
    except signing.BadSignature:
        raise SuspiciousOperation("bad or expired annotation token") from None
    served = ServedReport(
        report_id=data["r"], user_id=data["u"],
        served_at=datetime.datetime.fromisoformat(data["t"]),
        suggestion_version_id=data["v"], suggested_code=data["c"],
        suggested_probability=data["p"], supersedes_id=data["s"],
    )
    if served.user_id != user.pk:
        raise PermissionDenied(SERVED_ELSEWHERE)
    return served


SERVED_ELSEWHERE = "This report was served to someone else."


def served_report_get(*, served: ServedReport, project: Project) -> Report:
    report = Report.objects.filter(pk=served.report_id, project=project).first()
    if report is None:
        raise PermissionDenied(SERVED_ELSEWHERE)
    return report


@transaction.atomic
def annotation_submit(
    *, served: ServedReport, user: User, category: Category, active_ms: int | None,
    project: Project | None = None, categories: list[Category] | None = None,
) -> Annotation:
    """Record one decision. Append-only: a correction (undo) is a new row that supersedes.

    `project`: the one the answer was posted to (the served report must be in it);
    `categories`: the project's categories when the caller has them (saves a query).

    Every annotator answers here, all day, so what the rules need (this user's previous
    answer, a skip, a live claim, whether anyone else has answered, whether the report has a
    reference label) is read in one statement, after the report row is locked: a statement
    reads what was committed when it began, so reading in the locking statement itself could
    miss the first of two answers sent at once (a double click) that it waited for.

    The returned annotation's `holds_another` says whether this user holds another report
    they have not answered (read in that same statement), for the next report's serving.
    """
    now = timezone.now()
    found = (_LOCKED.fetch(("in project",), report_id=served.report_id, project_id=project.pk)
             if project is not None else _LOCKED.fetch(("anywhere",), report_id=served.report_id))
    if not found:
        raise PermissionDenied(SERVED_ELSEWHERE)
    report = found[0]
    facts = _FACTS.fetch((), report_id=report.pk, user_id=user.pk,
                         project_id=report.project_id, now=now)[0]
    if category.project_id != report.project_id or served.user_id != user.pk:
        raise ValueError("this answer does not belong to this user and project")
    if category.retired:
        raise AnswerRefused(str(annotation_services.CategoryRetired(category)))
    previous_id = facts["previous_id"]
    if previous_id and previous_id != served.supersedes_id:
        # The same form sent twice (double click, network retry): keep the first answer.
        kept = Annotation.objects.get(pk=previous_id)
        kept.holds_another = facts["holds_another"]
        return kept
    if served.supersedes_id is None:
        _answer_allowed(report=report, skipped=facts["skipped"], claimed=facts["claimed"])
    window_ms = max(int((now - served.served_at).total_seconds() * 1000), 0)
    suggested = None
    if served.suggested_code is not None:
        suggested = next((c for c in categories or () if c.code == served.suggested_code),
                         None) or Category.objects.filter(
            project=report.project, code=served.suggested_code).first()
    annotation = Annotation(
        report=report, user=user, category=category, served_at=served.served_at,
        submitted_at=now,
        # The browser cannot have been active longer than the report was on screen.
        active_ms=None if active_ms is None else min(max(int(active_ms), 0), window_ms),
        suggestion_model_version_id=served.suggestion_version_id,
        suggested_category=suggested, suggested_probability=served.suggested_probability,
        supersedes_id=previous_id,
    )
    _annotation_insert(annotation, report=report, user=user)
    annotation.holds_another = facts["holds_another"]
    # Nobody else has answered: this answer is the only latest one (no query for them).
    answers = None if facts["others"] else {user.pk: annotation}
    if reference_from_annotations(report=report, user=user, answers=answers,
                                  labelled=facts["labelled"]) != "set":
        annotation_services.queue_flag_settle(report=report)
    return annotation


def _locked(*, report_id: int, project_id: int | None = None):
    """The report, its row locked, with its project; only if it is in `project_id`."""
    reports = Report.objects.select_for_update(of=("self",)).select_related("project")
    if project_id is not None:
        reports = reports.filter(project_id=project_id)
    return reports.filter(pk=report_id)[:1]


def _facts(*, report_id: int, user_id: int, project_id: int, now):
    """What an answer's rules need, in one statement (see annotation_submit)."""
    mine = Annotation.objects.filter(report=OuterRef("pk"), user_id=user_id)
    return Report.objects.filter(pk=report_id).values(
        previous_id=Subquery(mine.order_by("-submitted_at", "-id").values("id")[:1]),
        skipped=Exists(ReportSkip.objects.filter(report=OuterRef("pk"), user_id=user_id)),
        claimed=Exists(ReportClaim.objects.filter(report=OuterRef("pk"), user_id=user_id,
                                                  expires_at__gt=now)),
        others=Exists(Annotation.objects.filter(report=OuterRef("pk"))
                      .exclude(user_id=user_id)),
        labelled=Exists(ReferenceLabel.objects.filter(report=OuterRef("pk"))),
        holds_another=Exists(
            ReportClaim.objects.filter(user_id=user_id, report__project_id=project_id,
                                       expires_at__gt=now)
            .exclude(report=OuterRef("pk")).exclude(report__annotations__user_id=user_id)),
    )


# Every answer runs these, compiled once per process (core.db.CompiledQuery).
_LOCKED = CompiledQuery(_locked)
_FACTS = CompiledQuery(_facts)


def _annotation_insert(annotation: Annotation, *, report: Report, user: User) -> None:
    """Insert the answer and release the user's claim on the report (queue_release): one
    statement on PostgreSQL, with a data-modifying WITH, which SQLite lacks (two there)."""
    if connection.vendor != "postgresql":
        annotation.save(force_insert=True)
        queue_release(report=report, user=user)
        return
    claims, c_report, c_user = table_and_columns(ReportClaim, "report", "user")
    insert, params = insert_sql(annotation)
    with prepared_cursor() as cursor:
        cursor.execute(f"WITH released AS (DELETE FROM {claims} WHERE {c_report} = %s AND "
                       f"{c_user} = %s) {insert}", [report.pk, user.pk, *params])
        annotation.pk = cursor.fetchone()[0]
    annotation._state.adding = False


def _answer_allowed(*, report: Report, skipped: bool, claimed: bool) -> None:
    """A first answer counts only while this user holds the report.

    The signed token alone is not enough: once a claim expires the report can be served to
    someone else, and a form left open past that would add an annotation more than the
    report needs (a second reading where one is required, then a false disagreement). A
    correction (supersedes) replaces the user's own answer and adds no reading, so it needs
    no claim.
    """
    if skipped:
        raise AnswerRefused(f"You skipped {report.accession}; that answer was not recorded.")
    if not claimed:
        raise AnswerRefused(
            f"{report.accession} was held for you for {report.project.claim_minutes} minutes "
            "and that time ran out, so it may have gone to someone else: your answer was not "
            "recorded. If it is served to you again, answer it again.")


def reference_from_annotations(*, report: Report, user: User | None,
                               answers: dict[int, Annotation] | None = None,
                               labelled: bool = True) -> str:
    """Apply the reference-label rules after an annotation; returns what happened.

    One required reading: that annotator's answer is the reference (single). Several: if the
    latest answers agree, agreement; if not, the report waits for adjudication. Imported and
    adjudicated references are never overwritten by annotations.
    """
    # labelled=False: the caller read, with the report row locked, that it has no label yet
    # (every label write of an answer locks the report first).
    label = (ReferenceLabel.objects.select_for_update().filter(report=report).first()
             if labelled else None)
    if label and label.method in (LabelMethod.IMPORTED, LabelMethod.ADJUDICATION):
        return "kept"
    answers = latest_answers(report) if answers is None else answers
    if len(answers) < required_annotations(report.project, report.pk):
        return "waiting"
    codes = {a.category_id for a in answers.values()}
    if len(codes) > 1:
        return "disagreement"
    category = next(iter(answers.values())).category
    if len(answers) == 1:
        annotation_services.reference_label_write(report=report, label=label, category=category,
                               method=LabelMethod.SINGLE, user=user, reason="annotation")
    else:
        annotation_services.reference_label_write(report=report, label=label, category=category,
                               method=LabelMethod.AGREEMENT, user=None,
                               reason=f"{len(answers)} annotators agree")
    return "set"


def adjudicate(*, report: Report, category: Category, user: User, reason: str) -> ReferenceLabel:
    if not reason.strip():
        raise ValueError("Give a reason for the adjudication; it is kept in the label history.")
    # Checked before the write's transaction: a refusal inside it would spoil an outer one.
    annotation_services.category_usable(category)
    return annotation_services.reference_label_set(report=report, category=category,
                               method=LabelMethod.ADJUDICATION, user=user, reason=reason.strip())
