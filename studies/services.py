"""Reader studies: set-up, the reading session (serve, answer, pause), simulated readers.

Writes only; results are read in studies.selectors.
"""

import datetime
import random
import secrets

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from annotation.models import CHRONOLOGICAL, Category, Membership, Project, Report, Role, Split
from core.jobs import HEARTBEAT_SILENCE, running_jobs_fail_stale
from core.models import ACTIVE_STATUSES, JobStatus
from core.queue import broker_problem, send_on_commit
from modeling.selectors import trained_versions

from .models import ModelTimingRun, ReaderStudy, StudyCase, StudyReader, StudyResponse
from .selectors import active_version


class StudyError(ValueError):
    pass


@transaction.atomic
def study_create(
    *, project: Project, name: str, readers, user=None, mode: str = ReaderStudy.Mode.UNAIDED,
    model_version_id: int | None = None, instructions: str = "", reports=None,
    seed: int | None = None, case_draw: dict | None = None,
) -> ReaderStudy:
    """A study over `reports` (default: the project's test split) for the given readers;
    `case_draw` records how they were drawn (selectors.case_draw), to draw them again."""
    if mode not in ReaderStudy.Mode.values:
        raise StudyError(f"unknown mode {mode!r}")
    readers = list(readers)
    not_readers = [u.username for u in readers
                   if not u.memberships.filter(project=project, role=Role.READER).exists()]
    if not_readers:
        raise StudyError("only users with the reader role can read: " + ", ".join(not_readers))
    if reports is None:
        reports = Report.objects.filter(project=project, split=Split.TEST)
    reports = list(reports.order_by(*CHRONOLOGICAL))
    if not reports:
        raise StudyError("the study has no cases (the test split is empty?)")
    _model_version_check(project, model_version_id)
    study = ReaderStudy.objects.create(
        project=project, name=name, mode=mode, model_version_id=model_version_id,
        instructions=instructions, seed=secrets.randbelow(2**31) if seed is None else seed,
        created_by=user, case_draw=case_draw or {},
    )
    StudyCase.objects.bulk_create([StudyCase(study=study, report=r) for r in reports])
    for user_ in readers:
        study_reader_add(study=study, user=user_)
    return study


def _case_plan(study: ReaderStudy, reader_index: int) -> tuple[list[int], list[bool]]:
    """Reading order and aided flags for the reader at this index, from the study's seed.

    Crossover: a random half of the cases (fixed by the seed) is aided for even-numbered
    readers and the other half for odd-numbered ones, so with an even number of readers each
    case is read as often aided as unaided.
    """
    case_ids = sorted(study.cases.values_list("pk", flat=True))
    order = list(case_ids)
    random.Random(f"{study.seed}:order:{reader_index}").shuffle(order)
    if study.mode == ReaderStudy.Mode.UNAIDED:
        return order, [False] * len(order)
    if study.mode == ReaderStudy.Mode.AIDED:
        return order, [True] * len(order)
    half = set(random.Random(f"{study.seed}:crossover").sample(case_ids, len(case_ids) // 2))
    first_half = reader_index % 2 == 0
    return order, [(case in half) == first_half for case in order]


def study_reader_add(*, study: ReaderStudy, user, simulated: bool = False) -> StudyReader:
    index = study.readers.count()
    order, aided = _case_plan(study, index)
    return StudyReader.objects.create(study=study, user=user, order=order, aided=aided,
                                      simulated=simulated)


def study_status_set(*, study: ReaderStudy, status: str) -> ReaderStudy:
    """Open, close or reopen. Opening or closing fixes the model version compared with:
    the project's active one, if none was chosen, so a later promotion cannot change it."""
    if status == ReaderStudy.Status.OPEN and not study.readers.exists():
        raise StudyError("add at least one reader before opening the study")
    if status not in ReaderStudy.Status.values:
        raise StudyError(f"unknown status {status!r}")
    study.status = status
    fields = ["status"]
    if status != ReaderStudy.Status.DRAFT and study.model_version_id is None:
        active = active_version(study.project_id)
        if active is not None:
            study.model_version_id = active.pk
            fields.append("model_version_id")
    study.save(update_fields=fields)
    return study


def _model_version_check(project, model_version_id: int | None) -> None:
    """Here, not in a view: every way of making or changing a study passes, so its timing
    job never loads another project's model, or one that never finished training."""
    if model_version_id is not None and not trained_versions(project).filter(
            pk=model_version_id).exists():
        raise StudyError("no such trained model version in this project")


def study_model_set(*, study: ReaderStudy, model_version_id: int | None) -> ReaderStudy:
    _model_version_check(study.project_id, model_version_id)
    if model_version_id is None and study.model_version_id is not None and (
            study.status != ReaderStudy.Status.DRAFT):
        raise StudyError("an open or closed study keeps a fixed model version; choose one")
    if study.model_version_id != model_version_id:
        study.model_version_id, study.model_timing = model_version_id, {}
        study.save(update_fields=["model_version_id", "model_timing"])
    return study


@transaction.atomic
def study_model_timing_request(*, study: ReaderStudy, user=None) -> ModelTimingRun:
    """Queue a tracked run that times the study's model on its cases (studies.jobs).

    A study without a chosen version is timed with the project's active one, which this
    fixes as the study's version. One run at a time per study.
    """
    if not study.model_version_id:
        active = active_version(study.project_id)
        if active is None:
            raise StudyError("the project has no active model version to time; choose one")
        study_model_set(study=study, model_version_id=active.pk)
    _model_version_check(study.project_id, study.model_version_id)  # it may have gone since
    if study.timing_runs.filter(status__in=ACTIVE_STATUSES).exists():
        raise StudyError("the model is already being timed on this study")
    run = ModelTimingRun.objects.create(study=study, model_version_id=study.model_version_id,
                                        created_by=user)

    def failed(exc: BaseException) -> None:
        # The message never reached the broker: the run must not wait "queued" forever.
        ModelTimingRun.objects.filter(pk=run.pk, status=JobStatus.QUEUED).update(
            status=JobStatus.FAILED, finished_at=timezone.now(), error=broker_problem(
                exc, "press “Time the model on these cases” again"))

    send_on_commit("studies.tasks.time_model_on_study", run.pk, failed=failed)
    return run


def timing_runs_fail_stale(*, silence=HEARTBEAT_SILENCE) -> int:
    """Fail the timing runs whose worker went silent, so the page stops waiting for them."""
    return running_jobs_fail_stale(ModelTimingRun.objects.all(), then="time the model again.",
                                   silence=silence)


def current_position(session: StudyReader) -> int:
    return session.responses.count()


class StalePage(StudyError):
    """A request from a reading page that is no longer the session's one (another tab or
    window took over, or the request was made by hand)."""


STALE_PAGE = ("this study is open in another tab or window; read there, or reload this page "
              "to read here")
# How a running pause began: the reader's Pause, or the reading page became hidden.
PAUSE_BUTTON, PAUSE_HIDDEN = "button", "hidden"


@transaction.atomic
def study_serve(*, session: StudyReader, new_page: bool = False):
    """The case this reader is on now (the clock starts when it is first served).

    `new_page`: the reading page is being loaded, and the new page becomes the only one
    whose pauses, visibility reports and answers count (StudyReader.page).
    """
    session = StudyReader.objects.select_for_update().get(pk=session.pk)
    position = current_position(session)
    if position >= len(session.order):
        return session, None, position
    now = timezone.now()
    fields = []
    if session.started_at is None:
        session.started_at = now
        fields.append("started_at")
    if session.served_at is None:
        session.served_at, session.paused_ms, session.paused_at = now, 0, None
        session.pauses, session.pause_kind = 0, ""
        fields += ["served_at", "paused_ms", "paused_at", "pauses", "pause_kind"]
    if new_page or not session.page:
        session.page = secrets.token_hex(16)
        fields.append("page")
        if session.pause_kind == PAUSE_HIDDEN:
            # The old page was hidden until this one opened; a Pause stays on, the new page
            # shows the paused card.
            _pause_end(session, now)
            fields += ["paused_at", "paused_ms", "pauses", "pause_kind"]
    if fields:
        session.save(update_fields=list(dict.fromkeys(fields)))
    case = StudyCase.objects.select_related("report").get(pk=session.order[position])
    return session, case, position


def _pause_end(session: StudyReader, now) -> None:
    if session.paused_at is not None:
        session.paused_ms += max(int((now - session.paused_at).total_seconds() * 1000), 0)
        session.pauses += 1
    session.paused_at, session.pause_kind = None, ""


def _locked_for_page(session: StudyReader, page: str) -> StudyReader:
    session = StudyReader.objects.select_for_update().select_related("study").get(pk=session.pk)
    if not page or page != session.page:
        raise StalePage(STALE_PAGE)
    return session


@transaction.atomic
def study_pause(*, session: StudyReader, page: str, paused: bool) -> StudyReader:
    """The reader's Pause and Resume on the reading page `page`. Pause hides the report
    there (the page swaps in the paused card); Resume ends any pause."""
    session = _locked_for_page(session, page)
    now = timezone.now()
    if paused and session.paused_at is None:
        session.paused_at = now
    if paused:
        session.pause_kind = PAUSE_BUTTON
    else:
        _pause_end(session, now)
    session.save(update_fields=["paused_at", "paused_ms", "pauses", "pause_kind"])
    return session


def study_visibility(*, session: StudyReader, page: str, hidden: bool) -> StudyReader:
    """The reading page's own report of its visibility (document.visibilitychange): the
    clock stops while it is hidden. A Pause is not ended by the page showing again.

    A page that is not the session's one showing again voids the running pause (the text
    may be on screen there, so that stretch counts as reading time), then is refused.
    """
    with transaction.atomic():
        locked = StudyReader.objects.select_for_update().get(pk=session.pk)
        stale = not page or page != locked.page
        now = timezone.now()
        if stale:
            if not hidden and locked.paused_at is not None:
                locked.paused_at = now
                locked.save(update_fields=["paused_at"])
        elif locked.served_at is not None:  # a case is on screen (not finished)
            if hidden and locked.paused_at is None:
                locked.paused_at, locked.pause_kind = now, PAUSE_HIDDEN
            elif not hidden and locked.pause_kind == PAUSE_HIDDEN:
                _pause_end(locked, now)
            locked.save(update_fields=["paused_at", "paused_ms", "pauses", "pause_kind"])
    if stale:
        raise StalePage(STALE_PAGE)
    return locked


@transaction.atomic
def study_answer(
    *, session: StudyReader, position: int, category: Category, active_ms: int | None,
    page: str, shown_category: Category | None = None, shown_probability: float | None = None,
    now: datetime.datetime | None = None,
) -> StudyResponse | None:
    """Record the answer for the case at `position` from the reading page `page`; anything
    but the current case is refused, so an answer can never be changed once given, and so is
    an answer while the case is paused (the report is not on screen then)."""
    session = _locked_for_page(session, page)
    if session.study.status != ReaderStudy.Status.OPEN:
        raise StudyError("this study is not open")
    if not session.simulated and not Membership.objects.filter(
            project=session.study.project_id, user=session.user_id, role=Role.READER).exists():
        raise StudyError("you are no longer a reader in this project")
    current = current_position(session)
    if position != current or current >= len(session.order) or session.served_at is None:
        raise StudyError("that case has already been answered; there is no going back")
    if session.paused_at is not None:
        raise StudyError("the case is paused: resume it, then answer")
    now = now or timezone.now()
    paused_ms = session.paused_ms
    on_screen_ms = max(int((now - session.served_at).total_seconds() * 1000) - paused_ms, 0)
    response = StudyResponse.objects.create(
        study=session.study, reader=session, case_id=session.order[position], position=position,
        category=category, served_at=session.served_at, answered_at=now,
        active_ms=None if active_ms is None else min(max(int(active_ms), 0), on_screen_ms),
        paused_ms=paused_ms, pauses=session.pauses, aided=session.aided[position],
        shown_category=shown_category, shown_probability=shown_probability,
        simulated=session.simulated,
    )
    session.served_at, session.paused_at, session.paused_ms = None, None, 0
    session.pauses, session.pause_kind = 0, ""
    fields = ["served_at", "paused_at", "paused_ms", "pauses", "pause_kind"]
    if position + 1 >= len(session.order):
        session.finished_at = now
        fields.append("finished_at")
    session.save(update_fields=fields)
    return response


def simulate_readers(
    *, study: ReaderStudy, count: int = 2, error_rate: float = 0.07,
    seconds_per_case: float = 20.0, seed: int = 0,
) -> list[StudyReader]:
    """Fill a study with simulated readers (for demos and tests); every response is marked.

    A simulated reader answers the reference label, except for `error_rate` of the cases where
    they pick another category; reading time is log-normal around `seconds_per_case`.
    """
    rng = random.Random(f"{study.seed}:{seed}")
    codes = list(Category.objects.filter(project=study.project).values_list("code", flat=True))
    categories = {c.code: c for c in Category.objects.filter(project=study.project)}
    truth = dict(study.cases.values_list("pk", "report__reference_label__category__code"))
    sessions = []
    existing = study.readers.filter(simulated=True).count()
    for index in range(existing, existing + count):
        user, _ = User.objects.get_or_create(username=f"simulated-reader-{study.pk}-{index + 1}")
        Membership.objects.get_or_create(project=study.project, user=user,
                                         defaults={"role": Role.READER})
        session = study_reader_add(study=study, user=user, simulated=True)
        drawn = []
        for case_id in session.order:
            right = truth.get(case_id) or rng.choice(codes)
            answer = right if rng.random() >= error_rate else rng.choice(
                [c for c in codes if c != right])
            drawn.append((case_id, answer, rng.lognormvariate(0, 0.35) * seconds_per_case))
        # The simulated session ends now, not hours ahead: a page showing "finished" at a
        # time still to come, or a reading that began after its first answer, looks broken.
        started = timezone.now() - datetime.timedelta(
            seconds=sum(seconds + 1 for _, _, seconds in drawn))
        clock = started
        for position, (case_id, answer, seconds) in enumerate(drawn):
            StudyResponse.objects.create(
                study=study, reader=session, case_id=case_id, position=position,
                category=categories[answer], served_at=clock,
                answered_at=clock + datetime.timedelta(seconds=seconds),
                active_ms=int(seconds * 1000), aided=session.aided[position], simulated=True,
            )
            clock += datetime.timedelta(seconds=seconds + 1)
        session.started_at, session.finished_at = started, clock
        session.save(update_fields=["started_at", "finished_at"])
        sessions.append(session)
    return sessions
