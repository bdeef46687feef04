"""Shared serializer bases."""

from django.core.exceptions import FieldDoesNotExist
from rest_framework import serializers


class OutputModelSerializer(serializers.ModelSerializer):
    """A model representation whose schema admits the blank and null values the model allows.

    DRF drops `allow_blank` and `allow_null` from read-only fields, so the OpenAPI schema
    claimed e.g. that a tier is always one of its choices while a new customer has none.
    """

    def get_fields(self):
        fields = super().get_fields()
        model = self.Meta.model
        for name, field in fields.items():
            try:
                model_field = model._meta.get_field(field.source or name)
            except FieldDoesNotExist:
                continue
            if getattr(model_field, "null", False):
                field.allow_null = True
            if getattr(model_field, "blank", False) and isinstance(
                field, serializers.CharField | serializers.ChoiceField
            ):
                field.allow_blank = True
        return fields
