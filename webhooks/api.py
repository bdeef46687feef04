"""Webhooks API (docs/webhooks.md): admins register endpoints and read their delivery log."""

import json

import django_filters
from django.db import transaction
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.exceptions import PermissionDenied
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response

from accounts.roles import is_admin
from core.filters import StrictFilterSet
from core.serializers import OutputModelSerializer

from . import selectors, services, tasks
from .models import Delivery, DeliveryStatus, Endpoint
from .names import WebhookEvent


def _require_admin(request) -> None:
    if not is_admin(request.user):
        raise PermissionDenied("Only admins manage webhooks.")


class EndpointOutputSerializer(OutputModelSerializer):
    events = serializers.ListField(child=serializers.ChoiceField(choices=WebhookEvent.choices))

    class Meta:
        model = Endpoint
        fields = [
            "id",
            "url",
            "events",
            "description",
            "active",
            "failure_count",
            "failing_since",
            "disabled_at",
            "disabled_reason",
            "created_at",
        ]
        read_only_fields = fields


class EndpointCreatedSerializer(EndpointOutputSerializer):
    secret = serializers.CharField(
        read_only=True, help_text="Shown only now: sign checks use it (docs/webhooks.md)."
    )

    class Meta(EndpointOutputSerializer.Meta):
        fields = [*EndpointOutputSerializer.Meta.fields, "secret"]
        read_only_fields = fields


class EndpointInputSerializer(serializers.Serializer):
    url = serializers.URLField(max_length=500)
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=WebhookEvent.choices), allow_empty=False
    )
    description = serializers.CharField(max_length=200, required=False, allow_blank=True)
    active = serializers.BooleanField(required=False)


@extend_schema_field(OpenApiTypes.OBJECT)
class _JsonBody(serializers.Field):
    def to_representation(self, value):
        return json.loads(value)


class DeliveryOutputSerializer(OutputModelSerializer):
    payload = _JsonBody(source="body", read_only=True)

    class Meta:
        model = Delivery
        fields = [
            "id",
            "endpoint",
            "event_id",
            "event_type",
            "status",
            "attempts",
            "next_attempt_at",
            "last_status_code",
            "last_error",
            "response_excerpt",
            "created_at",
            "last_attempt_at",
            "delivered_at",
            "payload",
        ]
        read_only_fields = fields


class DeliveryFilter(StrictFilterSet):
    status = django_filters.ChoiceFilter(choices=DeliveryStatus.choices)

    class Meta:
        model = Delivery
        fields = ["status"]


def _valid(serializer: serializers.Serializer) -> dict:
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


class EndpointListApi(GenericAPIView):
    serializer_class = EndpointOutputSerializer

    def get_queryset(self):
        return selectors.endpoints_all()

    @extend_schema(operation_id="webhooks_list", responses=EndpointOutputSerializer(many=True))
    def get(self, request):
        _require_admin(request)
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(
            EndpointOutputSerializer(page, many=True, context={"request": request}).data
        )

    @extend_schema(request=EndpointInputSerializer, responses={201: EndpointCreatedSerializer})
    @transaction.atomic  # the write and its reply commit together: no 5xx after a commit
    def post(self, request):
        _require_admin(request)
        data = _valid(EndpointInputSerializer(data=request.data))
        active = data.pop("active", True)
        endpoint = services.endpoint_create(**data)
        if not active:
            endpoint = services.endpoint_update(endpoint=endpoint, data={"active": False})
        return Response(
            EndpointCreatedSerializer(endpoint, context={"request": request}).data,
            status=status.HTTP_201_CREATED,
        )


class EndpointDetailApi(GenericAPIView):
    serializer_class = EndpointOutputSerializer

    def _endpoint(self, request, pk: int) -> Endpoint:
        _require_admin(request)
        return get_object_or_404(selectors.endpoints_all(), pk=pk)

    @extend_schema(responses={200: EndpointOutputSerializer})
    def get(self, request, pk: int):
        endpoint = self._endpoint(request, pk)
        return Response(EndpointOutputSerializer(endpoint, context={"request": request}).data)

    @extend_schema(request=EndpointInputSerializer, responses={200: EndpointOutputSerializer})
    @transaction.atomic
    def patch(self, request, pk: int):
        endpoint = self._endpoint(request, pk)
        data = _valid(EndpointInputSerializer(data=request.data, partial=True))
        endpoint = services.endpoint_update(endpoint=endpoint, data=data)
        return Response(EndpointOutputSerializer(endpoint, context={"request": request}).data)

    @extend_schema(responses={204: None})
    @transaction.atomic
    def delete(self, request, pk: int):
        services.endpoint_delete(endpoint=self._endpoint(request, pk))
        return Response(status=status.HTTP_204_NO_CONTENT)


class EndpointDeliveriesApi(GenericAPIView):
    serializer_class = DeliveryOutputSerializer
    filterset_class = DeliveryFilter

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # the schema generator has no pk
            return Delivery.objects.none()
        return selectors.endpoint_deliveries(endpoint_id=self.kwargs["pk"])

    @extend_schema(
        operation_id="webhook_deliveries_list", responses=DeliveryOutputSerializer(many=True)
    )
    def get(self, request, pk: int):
        _require_admin(request)
        get_object_or_404(selectors.endpoints_all(), pk=pk)
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(
            DeliveryOutputSerializer(page, many=True, context={"request": request}).data
        )


class DeliveryResendApi(GenericAPIView):
    serializer_class = DeliveryOutputSerializer

    @extend_schema(
        operation_id="webhook_delivery_resend",
        request=None,
        responses={202: DeliveryOutputSerializer},
    )
    @transaction.atomic
    def post(self, request, pk: int, delivery_id: int):
        _require_admin(request)
        delivery = get_object_or_404(selectors.endpoint_deliveries(endpoint_id=pk), pk=delivery_id)
        tasks.deliveries_resend([delivery.pk])
        delivery.refresh_from_db()
        return Response(
            DeliveryOutputSerializer(delivery, context={"request": request}).data,
            status=status.HTTP_202_ACCEPTED,
        )
