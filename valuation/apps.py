from django.apps import AppConfig

from core.money import money_fields_declare

from .declared import MONEY_FIGURES


class ValuationConfig(AppConfig):
    name = "valuation"
    verbose_name = "Customer valuation"

    def ready(self) -> None:
        # Which figures are money is declared with the figures (valuation.declared).
        money_fields_declare(MONEY_FIGURES)
