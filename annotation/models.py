from django.conf import settings
from django.db import models


class Project(models.Model):
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=60, unique=True)
    description = models.TextField(blank=True)
    guideline = models.TextField(blank=True, help_text="Shown to annotators (Markdown-like text).")
    created = models.DateTimeField(auto_now_add=True)

    # Labeling queue settings.
    class QueueScope(models.TextChoices):
        UNLABELLED = "unlabelled", "Reports without a reference label"
        ALL = "all", "Every report"

    class QueueOrder(models.TextChoices):
        CHRONOLOGICAL = "chronological", "Chronological"
        RANDOM = "random", "Random"
        UNCERTAINTY = "uncertainty", "Least certain first (active model's margin)"

    annotations_per_report = models.PositiveSmallIntegerField(
        default=1, help_text="Independent annotations a report needs; 2 for double reading."
    )
    double_read_fraction = models.FloatField(
        default=1.0,
        help_text="With 2+ annotations per report: the share of reports read more than once "
        "(chosen at random, reproducibly); the rest need one.",
    )
    queue_scope = models.CharField(
        max_length=12, choices=QueueScope.choices, default=QueueScope.UNLABELLED
    )
    queue_order = models.CharField(
        max_length=14, choices=QueueOrder.choices, default=QueueOrder.CHRONOLOGICAL
    )
    active_window_seconds = models.PositiveIntegerField(
        default=60, help_text="Reading time counts only this long after the last key or mouse "
        "activity, and only while the tab is visible."
    )
    claim_minutes = models.PositiveIntegerField(
        default=15, help_text="How long a served report is held for one annotator."
    )
    # Seconds-fast retraining while people label: after every this many new reference
    # labels the modeling app trains the TF-IDF candidate alone and promotes it through the
    # usual gate (annotation.signals.reference_labels_due).
    fast_retrain_every = models.PositiveIntegerField(
        default=10, help_text="After this many new reference labels a fast model (TF-IDF, "
        "seconds) is trained in the background and replaces the active model when it is at "
        "least as good on validation. 0 turns it off."
    )
    # The count of labels written (below) at which annotation next asks modeling whether a
    # fast retrain is due. The label write that reaches it moves it `fast_retrain_every` on
    # (one message per that many labels, even with no worker running); modeling sets it when
    # it starts a version or must wait, so a label write costs no message between checks.
    fast_retrain_due_at = models.PositiveBigIntegerField(default=0)
    # One more for every reference label written or changed. The modeling app keeps this
    # number for each model version, so "labels since the last version" (the auto-retrain
    # policy) is one row read, never a count over the labels.
    reference_labels_written = models.PositiveBigIntegerField(default=0)
    # One more whenever reports are added or the splits are assigned again. With the label
    # count above it stamps the project's counts (selectors.report_tally): a page reads them
    # from the cache under that stamp, not by counting a million reports every time.
    reports_changed = models.PositiveBigIntegerField(default=0)
    # The column mapping and date format of the last file imported (annotation.columns),
    # offered again for the next export of the same shape.
    import_mapping = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class Category(models.Model):
    project = models.ForeignKey(Project, models.CASCADE, related_name="categories")
    code = models.PositiveSmallIntegerField()
    name = models.CharField(max_length=100)
    description = models.CharField(max_length=300, blank=True)
    key = models.CharField(max_length=1, help_text="Keyboard key that picks this category.")
    colour = models.CharField(max_length=7, default="#64748b")
    # Reference labels of this category given to reports that had no split; every few of
    # them go to validation (services.split_draw), so this counter makes the draw stratified.
    labels_drawn = models.PositiveIntegerField(default=0)
    # A category that labels, annotations or predictions use is never deleted; retired, it
    # keeps them but is no longer offered to annotators or accepted from imports.
    retired = models.BooleanField(default=False)

    class Meta:
        ordering = ["project", "code"]
        constraints = [
            models.UniqueConstraint(fields=["project", "code"], name="category_code_unique"),
            models.UniqueConstraint(fields=["project", "key"], name="category_key_unique"),
        ]
        verbose_name_plural = "categories"

    def __str__(self):
        return f"{self.code} {self.name}"


class CategoryChange(models.Model):
    """One edit of a category (name, description, key, colour, retired): who, when, from what."""

    category = models.ForeignKey(Category, models.CASCADE, related_name="changes")
    field = models.CharField(max_length=20)
    old_value = models.CharField(max_length=300, blank=True)
    new_value = models.CharField(max_length=300, blank=True)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+"
    )
    changed_at = models.DateTimeField()

    class Meta:
        ordering = ["changed_at", "id"]

    def __str__(self):
        return f"{self.category}: {self.field} {self.old_value!r} -> {self.new_value!r}"


class Role(models.TextChoices):
    ADMIN = "admin", "Admin"
    ANNOTATOR = "annotator", "Annotator"
    READER = "reader", "Reader"


class Membership(models.Model):
    """A user's role in one project; a user with no membership cannot see the project at all."""

    project = models.ForeignKey(Project, models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=Role.choices)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["project", "user"], name="membership_unique"),
        ]

    def __str__(self):
        return f"{self.user} {self.role} in {self.project}"


class ImportBatch(models.Model):
    project = models.ForeignKey(Project, models.CASCADE, related_name="import_batches")
    filename = models.CharField(max_length=255)
    sha256 = models.CharField(max_length=64)
    imported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created = models.DateTimeField(auto_now_add=True)
    rows = models.PositiveIntegerField(default=0)
    reports_created = models.PositiveIntegerField(default=0)
    labels_created = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-created"]
        verbose_name_plural = "import batches"

    def __str__(self):
        return f"{self.filename} ({self.created:%Y-%m-%d})"


class Patient(models.Model):
    class Sex(models.TextChoices):
        FEMALE = "F", "Female"
        MALE = "M", "Male"
        OTHER = "O", "Other"
        UNKNOWN = "U", "Unknown"

    # No index of its own: patient_id_unique (project, pseudo_id) serves every lookup by
    # project, and one index less is one less to keep on every patient an import writes.
    project = models.ForeignKey(Project, models.CASCADE, related_name="patients",
                                db_index=False)
    pseudo_id = models.CharField("patient id", max_length=64)
    sex = models.CharField(max_length=1, choices=Sex.choices, default=Sex.UNKNOWN)
    age = models.PositiveSmallIntegerField(
        "age at first procedure", null=True, blank=True
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["project", "pseudo_id"], name="patient_id_unique"),
        ]

    def __str__(self):
        return self.pseudo_id


class Split(models.TextChoices):
    TRAIN = "train", "Train"
    VALIDATION = "validation", "Validation"
    TEST = "test", "Test"
    UNASSIGNED = "unassigned", "Unassigned"


# A validation set that grows from the first labels, for reports that arrive without splits:
# of each category's labels, the 3rd and every 5th after it (3rd, 8th, 13th, ...) go to
# validation, up to a cap per category, and are never trained on; the rest go to train.
# Two train labels per category come first, so three labels a category can train a model.
VALIDATION_FIRST = 3
VALIDATION_EVERY = 5
VALIDATION_CAP_PER_CATEGORY = 60


# Reports in date order; those without a date last, on SQLite as on PostgreSQL (whose
# ascending index already keeps NULLs last, so the queue's index still serves this order).
CHRONOLOGICAL = (models.F("procedure_date").asc(nulls_last=True), "accession")


class Report(models.Model):
    # No index of its own: the (project, ...) indexes below and report_accession_unique
    # serve every lookup by project, and an import writes one index less per report.
    project = models.ForeignKey(Project, models.CASCADE, related_name="reports",
                                db_index=False)
    patient = models.ForeignKey(Patient, models.PROTECT, related_name="reports")
    accession = models.CharField(max_length=64)
    # None where the file gave none (a Label Studio, doccano or Prodigy export often has no
    # date): such a report stays out of the chronological split until an import gives it one.
    procedure_date = models.DateField(null=True, blank=True)
    text = models.TextField()
    split = models.CharField(max_length=10, choices=Split.choices, default=Split.UNASSIGNED)
    import_batch = models.ForeignKey(
        ImportBatch, models.SET_NULL, null=True, blank=True, related_name="reports"
    )
    created = models.DateTimeField(auto_now_add=True)
    # Still waiting in the labeling queue (per the project's scope and annotations per
    # report). Kept by the services so the queue reads a small partial index instead of
    # stepping over every report already done, which grows with every answer.
    in_queue = models.BooleanField(default=True)

    class Meta:
        ordering = list(CHRONOLOGICAL)
        constraints = [
            models.UniqueConstraint(
                fields=["project", "accession"], name="report_accession_unique"
            ),
        ]
        indexes = [
            # A split in date order (the reports browser's split filter, a page at a time;
            # the test split is the newest fifth, which the date index alone reaches last).
            models.Index(fields=["project", "split", "procedure_date", "accession"]),
            models.Index(fields=["project", "procedure_date", "accession"]),
            models.Index(fields=["project", "procedure_date", "accession"],
                         condition=models.Q(in_queue=True), name="report_queue_idx"),
        ]

    def __str__(self):
        return self.accession


class Annotation(models.Model):
    """One decision of one user on one report. Never updated: a correction is a new row."""

    report = models.ForeignKey(Report, models.CASCADE, related_name="annotations")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, related_name="annotations")
    category = models.ForeignKey(Category, models.PROTECT, related_name="annotations")
    served_at = models.DateTimeField(help_text="When the server sent the report to the user.")
    submitted_at = models.DateTimeField(help_text="When the server received the answer.")
    active_ms = models.PositiveIntegerField(
        null=True, blank=True, help_text="Visible-and-active time measured in the browser."
    )
    # The suggestion on screen. The model version is kept as a plain id, not a foreign key:
    # annotation data must not depend on the modeling app (data flows annotation -> modeling),
    # and deleting a model version must never delete what people decided.
    suggestion_model_version_id = models.PositiveIntegerField(null=True, blank=True)
    suggested_category = models.ForeignKey(
        Category, models.PROTECT, null=True, blank=True, related_name="+"
    )
    suggested_probability = models.FloatField(null=True, blank=True)
    supersedes = models.ForeignKey(
        "self", models.SET_NULL, null=True, blank=True, related_name="superseded_by",
        help_text="The earlier annotation of the same user this one corrects.",
    )

    class Meta:
        ordering = ["submitted_at"]
        indexes = [
            models.Index(fields=["report", "user", "submitted_at"]),
            models.Index(fields=["user", "submitted_at"]),
        ]

    def __str__(self):
        return f"{self.report} -> {self.category.code} by {self.user}"


class LabelMethod(models.TextChoices):
    SINGLE = "single", "Single annotator"
    AGREEMENT = "agreement", "Agreement"
    ADJUDICATION = "adjudication", "Adjudication"
    IMPORTED = "imported", "Imported"


class ReportClaim(models.Model):
    """A report served to one annotator, held for them until it expires or they answer."""

    report = models.ForeignKey(Report, models.CASCADE, related_name="claims")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, models.CASCADE, related_name="+")
    expires_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["report", "user"], name="claim_unique"),
        ]
        indexes = [models.Index(fields=["user", "expires_at"])]

    def __str__(self):
        return f"{self.report} held for {self.user} until {self.expires_at:%H:%M}"


class ReportSkip(models.Model):
    """An annotator chose not to label this report; the queue stops offering it to them."""

    report = models.ForeignKey(Report, models.CASCADE, related_name="skips")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, models.CASCADE, related_name="+")
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["report", "user"], name="skip_unique"),
        ]

    def __str__(self):
        return f"{self.report} skipped by {self.user}"


class ReferenceLabel(models.Model):
    """The adjudicated truth for a report. Changed only through services, which keep history."""

    report = models.OneToOneField(Report, models.CASCADE, related_name="reference_label")
    category = models.ForeignKey(Category, models.PROTECT, related_name="reference_labels")
    method = models.CharField(max_length=12, choices=LabelMethod.choices)
    set_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+"
    )
    updated = models.DateTimeField()

    def __str__(self):
        return f"{self.report}: {self.category.code} ({self.method})"


class ReferenceLabelChange(models.Model):
    report = models.ForeignKey(Report, models.CASCADE, related_name="label_history")
    old_category = models.ForeignKey(
        Category, models.PROTECT, null=True, blank=True, related_name="+"
    )
    new_category = models.ForeignKey(Category, models.PROTECT, related_name="+")
    old_method = models.CharField(max_length=12, blank=True)
    new_method = models.CharField(max_length=12, choices=LabelMethod.choices)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+"
    )
    changed_at = models.DateTimeField()
    reason = models.TextField(blank=True)

    class Meta:
        ordering = ["changed_at", "id"]

    def __str__(self):
        return f"{self.report}: {self.old_category_id} -> {self.new_category_id}"


class ImportJob(models.Model):
    """A big import confirmed in the browser, run by a Celery worker (annotation.tasks).

    Its state is written here at each phase; the live counters (rows checked, rows written)
    go to Redis instead (annotation.import_progress), because the writing pass runs in one
    transaction, and nothing written to this row inside it is visible before the commit.

    It is not a core.models.Job: an import's outcome has a state the others lack
    ("rejected": checked, nothing written), its line for the page is a running message
    rather than an error, and its heartbeat is in Redis. Its stale sweep is registered with
    core's one beat sweep like every other job kind (annotation.apps).
    """

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Imported"
        REJECTED = "rejected", "Rejected (nothing imported)"
        FAILED = "failed", "Failed"

    ACTIVE = (Status.QUEUED, Status.RUNNING)

    project = models.ForeignKey(Project, models.CASCADE, related_name="import_jobs")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+"
    )
    filename = models.CharField(max_length=255)
    staged = models.CharField(max_length=500, help_text="The uploaded file, until the job ends.")
    rows = models.PositiveIntegerField(
        default=0, help_text="Rows the preview counted (for an API upload, its line breaks).")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    message = models.TextField(blank=True)
    # Row problems when the file changed between preview and import: [line, column, reason].
    errors = models.JSONField(default=list, blank=True)
    # The preview's columns and date format, so the worker reads the file as it was shown.
    mapping = models.JSONField(
        null=True, blank=True, help_text="The column mapping the preview used "
        "(ColumnMapping.to_dict); null: guess from the header.")
    batch = models.ForeignKey(ImportBatch, models.SET_NULL, null=True, blank=True,
                              related_name="+")
    # A check only: the preview of a big or compressed upload, read by a worker so that no
    # web request spends minutes on it. It writes nothing and keeps its plan for the page.
    check_only = models.BooleanField(default=False)
    plan = models.JSONField(null=True, blank=True,
                            help_text="The checked file's preview (ImportPlan.to_dict).")
    created = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created"]
        constraints = [
            # One import at a time per project, held by the database even when two admins
            # confirm in the same instant. Checks write nothing and may run beside it.
            models.UniqueConstraint(fields=["project"], condition=models.Q(
                status__in=["queued", "running"], check_only=False),
                name="one_active_import"),
        ]

    def __str__(self):
        return f"{self.filename} ({self.status})"

    @property
    def is_active(self) -> bool:
        return self.status in self.ACTIVE
