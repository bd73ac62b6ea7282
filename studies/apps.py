from django.apps import AppConfig


class StudiesConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "studies"

    def ready(self):
        # Models are importable only now.
        from core.jobs import stale_sweep

        from .services import timing_runs_fail_stale

        stale_sweep(timing_runs_fail_stale)
