from django.apps import AppConfig


class AnnotationConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "annotation"

    def ready(self):
        # Models are importable only now.
        from core.jobs import stale_sweep

        from .services import import_jobs_fail_stale

        stale_sweep(import_jobs_fail_stale)  # beat's one sweep over every job kind
