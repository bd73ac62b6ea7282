from django.apps import AppConfig

from annotation.signals import reference_labels_due


class ModelingConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "modeling"

    def ready(self):
        # Models are importable only now.
        from annotation.labeling.selectors import candidate_phrases_register
        from core.jobs import stale_sweep

        from .ml.candidates import PHRASES
        from .services import fast_retrain_poke, stale_jobs_fail

        candidate_phrases_register(PHRASES)
        reference_labels_due.connect(fast_retrain_poke, dispatch_uid="modeling.fast_retrain")
        stale_sweep(stale_jobs_fail)  # training and pre-labeling jobs
