from django.apps import AppConfig


class AnnotationConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "annotation"

    def ready(self):
        # Models are importable only now.
        from django.db.models.signals import post_delete, post_save

        from core.jobs import stale_sweep

        from .models import Category
        from .selectors import categories_forget
        from .services import import_jobs_fail_stale

        stale_sweep(import_jobs_fail_stale)  # beat's one sweep over every job kind
        # A category renamed, retired or added is offered on the next answer.
        for signal in (post_save, post_delete):
            signal.connect(categories_forget, sender=Category,
                           dispatch_uid=f"categories-forget-{signal is post_save}")
