from django.conf import settings
from django.db import models
from django.db.models import Q

from annotation.models import Category, Project, Report
from core.models import ACTIVE_STATUSES, Job


class Trigger(models.TextChoices):
    MANUAL = "manual", "Started by hand"
    AUTO = "auto", "Automatic (retrain policy)"
    FIRST = "first", "Automatic (first model, as soon as the labels allow)"
    FAST = "fast", "Automatic (fast model, every few new labels)"
    IMPORTED = "imported", "Imported from a model archive"


class ModelVersion(Job):
    """One fine-tuning job and, if it succeeded, the model it produced.

    Its state is written to the database at every phase so pages can poll it and a run
    whose worker died can be told apart from one that is still working (heartbeat_at).
    """

    project = models.ForeignKey(Project, models.CASCADE, related_name="model_versions")
    number = models.PositiveIntegerField(help_text="v1, v2, ... within the project")
    base_model = models.CharField(max_length=500)
    hyperparameters = models.JSONField(default=dict)
    phase = models.CharField(max_length=20, blank=True)
    progress = models.JSONField(default=dict, blank=True)
    history = models.JSONField(default=list, blank=True)
    metrics = models.JSONField(default=dict, blank=True)
    label_snapshot = models.JSONField(default=dict, blank=True)
    artifact_dir = models.CharField(max_length=500, blank=True)
    auto_promote = models.BooleanField(default=False)
    trigger = models.CharField(max_length=10, choices=Trigger.choices, default=Trigger.MANUAL)
    # Project.reference_labels_written when this version was queued: the labels gathered
    # since the newest version are the project's count minus this.
    labels_written = models.PositiveBigIntegerField(default=0)
    # Why an auto-promoting run was or was not promoted (the comparison on validation).
    promotion_note = models.TextField(blank=True)
    cancel_requested = models.BooleanField(default=False)
    is_active = models.BooleanField(default=False)
    worker = models.CharField(max_length=200, blank=True)
    promoted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-number"]
        constraints = [
            models.UniqueConstraint(fields=["project", "number"], name="model_version_number"),
            models.UniqueConstraint(
                fields=["project"], condition=Q(is_active=True), name="one_active_model_version"
            ),
        ]

    def __str__(self):
        return f"{self.project.slug} v{self.number}"

    @property
    def is_finished(self) -> bool:
        return self.status not in ACTIVE_STATUSES

    @property
    def duration_seconds(self) -> float | None:
        if self.started_at and self.finished_at:
            return (self.finished_at - self.started_at).total_seconds()
        return None

    def metric(self, split: str, name: str = "accuracy", source: str = "bert"):
        block = self.metrics.get("baseline", {}) if source == "baseline" else self.metrics
        return ((block or {}).get(split) or {}).get(name)


class RetrainPolicy(models.Model):
    """When a project retrains by itself: never, or after every N new reference labels.

    No row means off. Beat checks the policies once a minute (modeling.tasks.auto_retrain);
    labels are counted in the database, so a check missed while the broker is down is
    made up by the next one.
    """

    class Mode(models.TextChoices):
        OFF = "off", "Off"
        EVERY = "every", "After every N new reference labels"

    project = models.OneToOneField(Project, models.CASCADE, related_name="retrain_policy")
    mode = models.CharField(max_length=5, choices=Mode.choices, default=Mode.OFF)
    every = models.PositiveIntegerField(default=50)
    # Why the last due check did not start a run (a job was running, the broker was down).
    note = models.CharField(max_length=300, blank=True)
    checked_at = models.DateTimeField(null=True, blank=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+"
    )
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "retrain policies"

    def __str__(self):
        return f"{self.project.slug}: {self.mode} {self.every}"

    @property
    def is_on(self) -> bool:
        return self.mode == self.Mode.EVERY


class PrelabelRun(Job):
    """Batch inference of one model version over a project's reports."""

    project = models.ForeignKey(Project, models.CASCADE, related_name="prelabel_runs")
    model_version = models.ForeignKey(ModelVersion, models.CASCADE, related_name="prelabel_runs")
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    reports_per_second = models.FloatField(null=True, blank=True)

    class Meta:
        ordering = ["-created"]

    def __str__(self):
        return f"pre-label {self.model_version} ({self.status})"


class Prediction(models.Model):
    report = models.ForeignKey(Report, models.CASCADE, related_name="predictions")
    model_version = models.ForeignKey(ModelVersion, models.CASCADE, related_name="predictions")
    category = models.ForeignKey(Category, models.PROTECT, related_name="predictions")
    probabilities = models.JSONField(help_text="category code -> probability")
    margin = models.FloatField(help_text="top probability minus the second")
    ms = models.FloatField(help_text="milliseconds of model time for this report")
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["report", "model_version"], name="prediction_unique"),
        ]
        indexes = [models.Index(fields=["model_version", "margin"])]

    def __str__(self):
        return f"{self.report} -> {self.category.code} ({self.model_version})"
