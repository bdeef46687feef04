from django.apps import AppConfig


class DataioConfig(AppConfig):
    name = "dataio"
    verbose_name = "Bulk data and privacy"
