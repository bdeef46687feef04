from django.apps import AppConfig
from django.utils.module_loading import autodiscover_modules


class EventsConfig(AppConfig):
    name = "events"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Every installed app's `handlers` module registers its subscribers on import, as the
        # Django admin finds `admin` modules: no app has to be named here.
        autodiscover_modules("handlers")
