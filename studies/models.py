"""Reader studies: a timed, blinded comparison of readers with a model version.

The tables keep the names they had when these models lived in the annotation app.
"""

from django.conf import settings
from django.db import models

from annotation.models import Category, Project, Report
from core.models import Job


class ReaderStudy(models.Model):
    """A timed, blinded comparison of readers with a model version on the same cases."""

    class Mode(models.TextChoices):
        UNAIDED = "unaided", "Unaided: readers see the report only"
        AIDED = "aided", "Aided: the model's suggestion is shown"
        CROSSOVER = "crossover", "Crossover: each case aided for half of the readers"

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        OPEN = "open", "Open"
        CLOSED = "closed", "Closed"

    project = models.ForeignKey(Project, models.CASCADE, related_name="studies")
    name = models.CharField(max_length=200)
    instructions = models.TextField(blank=True)
    mode = models.CharField(max_length=10, choices=Mode.choices, default=Mode.UNAIDED)
    status = models.CharField(max_length=6, choices=Status.choices, default=Status.DRAFT)
    # Kept as a plain id: the study compares with a model, it must not vanish with it.
    model_version_id = models.PositiveIntegerField(null=True, blank=True)
    seed = models.PositiveIntegerField(help_text="Seeds every reader's case order.")
    model_timing = models.JSONField(
        default=dict, blank=True,
        help_text="The model's answers and its timing over the cases, measured on a worker.",
    )
    # How the cases were chosen, so the set can be drawn again exactly: the source (a case
    # set and an optional date range), how many were drawn, the seed, and per stratum.
    case_draw = models.JSONField(
        default=dict, blank=True,
        help_text="The case set, date range, N, seed and strata the cases were drawn with.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "annotation_readerstudy"
        ordering = ["-created"]
        verbose_name_plural = "reader studies"

    def __str__(self):
        return self.name


class StudyCase(models.Model):
    study = models.ForeignKey(ReaderStudy, models.CASCADE, related_name="cases")
    report = models.ForeignKey(Report, models.PROTECT, related_name="+")

    class Meta:
        db_table = "annotation_studycase"
        constraints = [
            models.UniqueConstraint(fields=["study", "report"], name="study_case_unique"),
        ]

    def __str__(self):
        return f"{self.study}: {self.report}"


class StudyReader(models.Model):
    """One reader's session: their case order, what they see aided, where they are."""

    study = models.ForeignKey(ReaderStudy, models.CASCADE, related_name="readers")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, models.CASCADE,
                             related_name="study_sessions")
    order = models.JSONField(default=list, help_text="StudyCase ids in reading order.")
    aided = models.JSONField(default=list, help_text="Per position: suggestion shown or not.")
    simulated = models.BooleanField(default=False)
    served_at = models.DateTimeField(null=True, blank=True)
    paused_at = models.DateTimeField(null=True, blank=True)
    paused_ms = models.PositiveIntegerField(default=0, help_text="Pause time of the current case")
    pauses = models.PositiveIntegerField(default=0, help_text="Pauses counted on the current case")
    # Why the running pause runs: the reader pressed Pause, or the reading page was hidden.
    pause_kind = models.CharField(max_length=6, blank=True)
    # The one reading page that may pause, report its visibility and answer: a new one on
    # every page load, so another tab or a hand-made request cannot stop the clock while
    # the text stays on screen.
    page = models.CharField(max_length=32, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "annotation_studyreader"
        constraints = [
            models.UniqueConstraint(fields=["study", "user"], name="study_reader_unique"),
        ]

    def __str__(self):
        return f"{self.user} in {self.study}"


class StudyResponse(models.Model):
    """One answer; unique per reader and case, so there is no going back."""

    study = models.ForeignKey(ReaderStudy, models.CASCADE, related_name="responses")
    reader = models.ForeignKey(StudyReader, models.CASCADE, related_name="responses")
    case = models.ForeignKey(StudyCase, models.CASCADE, related_name="responses")
    position = models.PositiveIntegerField()
    category = models.ForeignKey(Category, models.PROTECT, related_name="+")
    served_at = models.DateTimeField()
    answered_at = models.DateTimeField()
    active_ms = models.PositiveIntegerField(null=True, blank=True)
    paused_ms = models.PositiveIntegerField(default=0)
    pauses = models.PositiveIntegerField(default=0)
    aided = models.BooleanField(default=False)
    shown_category = models.ForeignKey(Category, models.PROTECT, null=True, blank=True,
                                       related_name="+")
    shown_probability = models.FloatField(null=True, blank=True)
    simulated = models.BooleanField(default=False)

    class Meta:
        db_table = "annotation_studyresponse"
        ordering = ["reader", "position"]
        constraints = [
            models.UniqueConstraint(fields=["reader", "case"], name="study_response_unique"),
        ]

    def __str__(self):
        return f"{self.reader}: case {self.position} -> {self.category.code}"

    @property
    def seconds(self) -> float:
        """Reading time: browser-active time if measured, else time on screen minus pauses."""
        if self.active_ms is not None:
            return self.active_ms / 1000
        wall = (self.answered_at - self.served_at).total_seconds() * 1000 - self.paused_ms
        return max(wall, 0) / 1000


class ModelTimingRun(Job):
    """The model timed over a study's cases on a worker: a tracked job the page can poll.

    On success the answers and timing go to ReaderStudy.model_timing, which the results read.
    """

    study = models.ForeignKey(ReaderStudy, models.CASCADE, related_name="timing_runs")
    model_version_id = models.PositiveIntegerField()
    progress = models.JSONField(default=dict, blank=True, help_text="done and total cases")
    worker = models.CharField(max_length=200, blank=True)
    hardware = models.CharField(max_length=300, blank=True,
                                help_text="CPU or GPU the model ran on, as the worker saw it")

    class Meta:
        ordering = ["-created"]

    def __str__(self):
        return f"timing of {self.study} ({self.status})"
