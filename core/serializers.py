"""Shared serializer bases."""

import copy

from django.core.exceptions import FieldDoesNotExist
from rest_framework import serializers
from rest_framework.utils.serializer_helpers import BindingDict

from .money import money_hidden


class CopiedFieldsMixin:
    """Each instance's fields made from the declared ones by `_field_copy` rather than DRF's
    deepcopy of them all: 0.4 ms less for the interaction's input, on every POST."""

    def get_fields(self):
        return {name: _field_copy(field) for name, field in self._declared_fields.items()}


class Serializer(CopiedFieldsMixin, serializers.Serializer):
    """A plain serializer whose fields are copied cheaply (CopiedFieldsMixin)."""


class InputSerializer(Serializer):
    """An input serializer whose fields are made and bound once per class and shared by every
    instance: validation keeps no state in its fields (the batch endpoint has always checked
    all its items with one instance), and making some thirty fields per request was a tenth
    of an interaction POST's CPU (issue 17).

    Only for input without context: a shared field's `context` is the first instance's. Never
    for output, where nested representations read the request's user (money) from the root.
    """

    @property
    def fields(self):
        shared = type(self).__dict__.get("_shared_fields")
        if shared is None:
            shared = BindingDict(self)
            for name, field in self.get_fields().items():
                shared[name] = field
            type(self)._shared_fields = shared
        return shared


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
        # Built from the model once per class, then made anew for each instance from each
        # field's constructor arguments (as DRF's deepcopy of a field does, without copying
        # the arguments, which no field changes): building them from the model's fields was
        # most of the CPU of an API reply (0.8 ms of an interaction's 0.96). The schema's
        # allowances therefore go into those arguments too.
        template = type(self).__dict__.get("_fields_template")
        if template is None:
            template = self._fields_build()
            type(self)._fields_template = template
        return {name: _field_copy(field) for name, field in template.items()}

    def _fields_build(self):
        fields = super().get_fields()
        model = self.Meta.model
        for name, field in fields.items():
            try:
                model_field = model._meta.get_field(field.source or name)
            except FieldDoesNotExist:
                continue
            if getattr(model_field, "null", False):
                field.allow_null = field._kwargs["allow_null"] = True
            if getattr(model_field, "blank", False) and isinstance(
                field, serializers.CharField | serializers.ChoiceField
            ):
                field.allow_blank = field._kwargs["allow_blank"] = True
        return fields


def _field_copy(field: serializers.Field) -> serializers.Field:
    """A new unbound field like `field`; one holding another field (a nested serializer, a
    list of related objects) is deep-copied, since each copy must own its inner field."""
    arguments = [*field._args, *field._kwargs.values()]  # type: ignore[attr-defined]
    if isinstance(field, serializers.BaseSerializer) or any(
        isinstance(argument, serializers.Field) for argument in arguments
    ):
        return copy.deepcopy(field)
    return field.__class__(*field._args, **field._kwargs)  # type: ignore[attr-defined]


class BatchEnvelopeSerializer(serializers.Serializer):
    """The envelope of a batch endpoint, `{"items": [...], "atomic": false}`: the items are
    checked one by one afterwards (each answers for itself), the envelope at once."""

    atomic = serializers.BooleanField(required=False, default=False)

    def __init__(self, *args, max_items: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["items"] = serializers.ListField(
            child=serializers.DictField(), allow_empty=False, max_length=max_items
        )
