from django.contrib import admin

from . import models


@admin.register(models.ModelVersion)
class ModelVersionAdmin(admin.ModelAdmin):
    list_display = ["__str__", "status", "phase", "is_active", "created_by", "created"]
    list_filter = ["project", "status", "is_active"]
    readonly_fields = ["metrics", "history", "progress", "label_snapshot"]


@admin.register(models.PrelabelRun)
class PrelabelRunAdmin(admin.ModelAdmin):
    list_display = ["__str__", "status", "done", "total", "created"]
    list_filter = ["project", "status"]


@admin.register(models.Prediction)
class PredictionAdmin(admin.ModelAdmin):
    list_display = ["report", "model_version", "category", "margin"]
    list_filter = ["model_version"]
    raw_id_fields = ["report"]


@admin.register(models.RetrainPolicy)
class RetrainPolicyAdmin(admin.ModelAdmin):
    list_display = ["project", "mode", "every", "checked_at", "note"]
