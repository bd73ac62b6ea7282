from django.apps import AppConfig


class CoreConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "core"

    def ready(self):
        from django.urls import register_converter

        from .converters import RowId

        # Registered before any URLconf is read: every app's urls write <id:...>.
        register_converter(RowId, "id")
