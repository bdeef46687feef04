"""Shared serializer bases."""

from django.core.exceptions import FieldDoesNotExist
from rest_framework import serializers

from .money import money_hidden


class OutputModelSerializer(serializers.ModelSerializer):
    """A model representation whose schema admits the blank and null values the model allows,
    and that leaves the money fields (core.money) out for a user who may not see money.

    DRF drops `allow_blank` and `allow_null` from read-only fields, so the OpenAPI schema
    claimed e.g. that a tier is always one of its choices while a new customer has none.
    Money is shown only when the context's request is of a user who may see it: a view that
    forgets to pass ``context={"request": request}`` hides money from everyone, never shows it.
    """

    def to_representation(self, instance):
        request = self.context.get("request")
        return money_hidden(
            super().to_representation(instance), user=getattr(request, "user", None)
        )

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


class BatchEnvelopeSerializer(serializers.Serializer):
    """The envelope of a batch endpoint, `{"items": [...], "atomic": false}`: the items are
    checked one by one afterwards (each answers for itself), the envelope at once."""

    atomic = serializers.BooleanField(required=False, default=False)

    def __init__(self, *args, max_items: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["items"] = serializers.ListField(
            child=serializers.DictField(), allow_empty=False, max_length=max_items
        )
