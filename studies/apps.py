from django.apps import AppConfig

from annotation.signals import demo_seeded


class StudiesConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "studies"

    def ready(self):
        # Models are importable only now.
        from .demo import seed_study

        demo_seeded.connect(seed_study, dispatch_uid="studies.demo.seed_study")
