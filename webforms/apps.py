from django.apps import AppConfig


class WebformsConfig(AppConfig):
    name = "webforms"
    verbose_name = "Web forms"
    default_auto_field = "django.db.models.BigAutoField"
