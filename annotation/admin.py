from django import forms
from django.contrib import admin
from django.db import transaction

from . import models
from .services import (
    CategoryRetired,
    queue_flags_refresh,
    reference_label_set,
    report_counts_changed,
)


class CategoryInline(admin.TabularInline):
    model = models.Category
    extra = 0


class MembershipInline(admin.TabularInline):
    model = models.Membership
    extra = 0
    autocomplete_fields = ["user"]


QUEUE_SETTINGS = ["annotations_per_report", "double_read_fraction", "queue_scope"]


@admin.register(models.Project)
class ProjectAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "created"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [CategoryInline, MembershipInline]

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        # Which reports wait in the labeling queue depends on these settings.
        if change and any(name in form.changed_data for name in QUEUE_SETTINGS):
            queue_flags_refresh(project=obj)


@admin.register(models.Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ["project", "code", "name", "key"]
    list_filter = ["project"]


@admin.register(models.Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "project", "role"]
    list_filter = ["project", "role"]


@admin.register(models.ImportBatch)
class ImportBatchAdmin(admin.ModelAdmin):
    list_display = ["filename", "project", "imported_by", "created", "rows", "reports_created"]
    list_filter = ["project"]


@admin.register(models.Patient)
class PatientAdmin(admin.ModelAdmin):
    list_display = ["pseudo_id", "project", "sex", "age"]
    list_filter = ["project", "sex"]
    search_fields = ["pseudo_id"]


@admin.register(models.Report)
class ReportAdmin(admin.ModelAdmin):
    list_display = ["accession", "project", "procedure_date", "split"]
    list_filter = ["project", "split"]
    search_fields = ["accession", "text"]
    raw_id_fields = ["patient", "import_batch"]

    # A report added, moved to another split or deleted here changes the project's counts:
    # their stamp moves on, so no page shows the counts from before.
    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        report_counts_changed(project_id=obj.project_id)

    def delete_model(self, request, obj):
        super().delete_model(request, obj)
        report_counts_changed(project_id=obj.project_id)

    def delete_queryset(self, request, queryset):
        projects = set(queryset.values_list("project_id", flat=True))
        super().delete_queryset(request, queryset)
        for project_id in projects:
            report_counts_changed(project_id=project_id)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Append-only records: visible in the admin, never added, edited or deleted there (a row
    made here would have no history and no timing behind it)."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(models.Annotation)
class AnnotationAdmin(ReadOnlyAdmin):
    list_display = ["report", "user", "category", "submitted_at", "active_ms"]
    list_filter = ["report__project", "user"]
    raw_id_fields = ["report", "supersedes"]


class ReferenceLabelForm(forms.ModelForm):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}),
                             help_text="Why the label changes; kept in the label history.")

    class Meta:
        model = models.ReferenceLabel
        fields = ["category"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["category"].queryset = models.Category.objects.filter(
                project_id=self.instance.report.project_id)

    def clean_category(self):
        category = self.cleaned_data["category"]
        if category.retired:
            raise forms.ValidationError(str(CategoryRetired(category)))
        return category


@admin.register(models.ReferenceLabel)
class ReferenceLabelAdmin(admin.ModelAdmin):
    """The category may be changed here, as an adjudication with a reason, through the same
    service as the adjudication page, so the change is in the report's label history."""

    form = ReferenceLabelForm
    list_display = ["report", "category", "method", "set_by", "updated"]
    list_filter = ["method", "category"]
    fields = ["report", "category", "reason", "method", "set_by", "updated"]
    readonly_fields = ["report", "method", "set_by", "updated"]

    def has_add_permission(self, request):
        return False  # a label comes from annotations, adjudication or import

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        # Not obj.save(): the service locks the row, writes the history and settles the queue.
        with transaction.atomic():
            reference_label_set(report=obj.report, category=form.cleaned_data["category"],
                                method=models.LabelMethod.ADJUDICATION, user=request.user,
                                reason=form.cleaned_data["reason"].strip())
        obj.refresh_from_db()


@admin.register(models.ReferenceLabelChange)
class ReferenceLabelChangeAdmin(ReadOnlyAdmin):
    list_display = ["report", "old_category", "new_category", "new_method", "changed_by",
                    "changed_at"]
    raw_id_fields = ["report"]
