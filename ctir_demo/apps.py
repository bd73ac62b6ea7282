from django.apps import AppConfig


class CtirDemoConfig(AppConfig):
    """The demo on the top floor: its cohort generators, `seed_demo`, `demo_ready` and the
    demo reader study. Nothing in the product imports it."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "ctir_demo"
    verbose_name = "ctir demo"
