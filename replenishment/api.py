"""Replenishment subscriptions API (SPEC §3, §10).

Object rules, as for customers: managers reach their portfolio's customers' subscriptions,
support staff and admins everyone's; another portfolio's subscription answers 404, like one
that does not exist. Managers change their own customers' subscriptions and admins anyone's;
support staff read them. Every change is one service call and publishes
`subscription.changed` (the customer's next due action follows in the same transaction).
"""

from decimal import Decimal

import django_filters
from django.db import transaction
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers, status
from rest_framework.exceptions import PermissionDenied
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response

from accounts.roles import Role, role_of
from core import bounds
from core.filters import StrictFilterSet
from core.serializers import OutputModelSerializer
from customers.selectors import customers_editable_by, customers_visible_to
from offerings.models import Offering

from . import services
from .models import ReplenishmentSubscription, SubscriptionMode, SubscriptionStatus

NO_SUCH_CUSTOMER = "No such customer."
MAY_NOT_CHANGE = "Only the customer's manager and admins change their subscriptions."


class SubscriptionOutputSerializer(OutputModelSerializer):
    offering_name = serializers.CharField(source="offering.name", read_only=True)

    class Meta:
        model = ReplenishmentSubscription
        fields = [
            "id",
            "customer",
            "offering",
            "offering_name",
            "interval_days",
            "quantity",
            "next_due",
            "mode",
            "status",
            "created_at",
        ]
        read_only_fields = fields


class SubscriptionInputSerializer(serializers.Serializer):
    """The customer is an id looked up among those the caller may see; the offering must be
    on offer (the service's rule)."""

    customer = serializers.IntegerField()
    offering = serializers.PrimaryKeyRelatedField(queryset=Offering.objects.all())
    next_due = serializers.DateField(validators=[bounds.validate_planned_on])
    interval_days = serializers.IntegerField(
        min_value=1,
        required=False,
        allow_null=True,
        validators=[bounds.validate_interval_days],
        help_text="Every so many days; when left out, the offering's own rhythm.",
    )
    mode = serializers.ChoiceField(choices=SubscriptionMode.choices, required=False)
    quantity = serializers.DecimalField(
        max_digits=10,
        decimal_places=2,
        min_value=Decimal("0.01"),
        required=False,
        validators=[bounds.validate_quantity],
    )


class IntervalInputSerializer(serializers.Serializer):
    interval_days = serializers.IntegerField(
        min_value=1, validators=[bounds.validate_interval_days]
    )


class SubscriptionFilter(StrictFilterSet):
    customer = django_filters.NumberFilter(field_name="customer_id")
    offering = django_filters.NumberFilter(field_name="offering_id")

    class Meta:
        model = ReplenishmentSubscription
        fields = ["customer", "offering", "status", "mode"]


def subscriptions_visible_to(user):
    return ReplenishmentSubscription.objects.filter(
        customer__in=customers_visible_to(user).values("pk")
    ).select_related("offering")


def _require_editor(user, customer_id: int) -> None:
    if not customers_editable_by(user).filter(pk=customer_id).exists():
        raise PermissionDenied(MAY_NOT_CHANGE)


def _output(request, subscription):
    subscription = subscriptions_visible_to(request.user).get(pk=subscription.pk)
    return SubscriptionOutputSerializer(subscription, context={"request": request}).data


class SubscriptionListApi(GenericAPIView):
    serializer_class = SubscriptionOutputSerializer
    filterset_class = SubscriptionFilter

    def get_queryset(self):
        return subscriptions_visible_to(self.request.user).order_by("next_due", "id")

    @extend_schema(
        operation_id="subscriptions_list", responses=SubscriptionOutputSerializer(many=True)
    )
    def get(self, request):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(
            SubscriptionOutputSerializer(page, many=True, context={"request": request}).data
        )

    @extend_schema(
        request=SubscriptionInputSerializer, responses={201: SubscriptionOutputSerializer}
    )
    @transaction.atomic  # the write and its reply commit together: no 5xx after a commit
    def post(self, request):
        if role_of(request.user) not in (Role.ADMIN, Role.MANAGER):
            raise PermissionDenied(MAY_NOT_CHANGE)
        serializer = SubscriptionInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = {k: v for k, v in serializer.validated_data.items() if v is not None}
        # Another portfolio's customer answers like a customer that does not exist.
        customer = customers_visible_to(request.user).filter(pk=data.pop("customer")).first()
        if customer is None:
            raise serializers.ValidationError({"customer": NO_SUCH_CUSTOMER})
        _require_editor(request.user, customer.pk)
        subscription = services.replenishment_subscribe(customer=customer, **data)
        return Response(_output(request, subscription), status=status.HTTP_201_CREATED)


class SubscriptionDetailApi(GenericAPIView):
    serializer_class = SubscriptionOutputSerializer

    def get_queryset(self):
        return subscriptions_visible_to(self.request.user)

    def get(self, request, pk: int):
        subscription = get_object_or_404(self.get_queryset(), pk=pk)
        return Response(
            SubscriptionOutputSerializer(subscription, context={"request": request}).data
        )


class SubscriptionActionApi(GenericAPIView):
    """One change of a subscription: POST, answered with the subscription as it is now."""

    serializer_class = SubscriptionOutputSerializer
    input_serializer: type[serializers.Serializer] | None = None

    def get_queryset(self):
        return subscriptions_visible_to(self.request.user)

    def act(self, subscription, data: dict):
        raise NotImplementedError

    @transaction.atomic  # the write and its reply commit together: no 5xx after a commit
    def post(self, request, pk: int):
        subscription = get_object_or_404(self.get_queryset(), pk=pk)
        _require_editor(request.user, subscription.customer_id)
        data: dict = {}
        if self.input_serializer is not None:
            serializer = self.input_serializer(data=request.data)
            serializer.is_valid(raise_exception=True)
            data = dict(serializer.validated_data)
        subscription = self.act(subscription, data)
        return Response(_output(request, subscription))


class SubscriptionStatusApi(SubscriptionActionApi):
    """An action that sets the subscription's status (`status`), through the service."""

    status: str

    def act(self, subscription, data):
        return services.replenishment_set_status(subscription=subscription, status=self.status)


def _status_schema(operation_id: str, summary: str):
    return extend_schema_view(
        post=extend_schema(
            operation_id=operation_id,
            summary=summary,
            request=None,
            responses=SubscriptionOutputSerializer,
        )
    )


@_status_schema("subscriptions_pause", "Pause a subscription")
class SubscriptionPauseApi(SubscriptionStatusApi):
    """Pause: nothing is delivered or reminded until it is resumed."""

    status = SubscriptionStatus.PAUSED


@_status_schema("subscriptions_resume", "Resume a subscription")
class SubscriptionResumeApi(SubscriptionStatusApi):
    """Resume a paused subscription; an overdue next date becomes today (the periods spent
    paused are not replayed)."""

    status = SubscriptionStatus.ACTIVE


@_status_schema("subscriptions_cancel", "Cancel a subscription")
class SubscriptionCancelApi(SubscriptionStatusApi):
    """Cancel for good (its deliveries stay on the history): a cancelled subscription is not
    resumed; subscribe again."""

    status = SubscriptionStatus.CANCELLED


class SubscriptionSkipApi(SubscriptionActionApi):
    """Skip the next delivery: the next due date moves one interval on."""

    @extend_schema(
        operation_id="subscriptions_skip",
        summary="Skip the next delivery",
        request=None,
        responses=SubscriptionOutputSerializer,
    )
    def post(self, request, pk: int):
        return super().post(request, pk)

    def act(self, subscription, data):
        return services.replenishment_skip_next(subscription=subscription)


class SubscriptionIntervalApi(SubscriptionActionApi):
    """Change how often it is delivered, from the next due date on."""

    input_serializer = IntervalInputSerializer

    @extend_schema(
        operation_id="subscriptions_interval",
        summary="Change the interval",
        request=IntervalInputSerializer,
        responses=SubscriptionOutputSerializer,
    )
    def post(self, request, pk: int):
        return super().post(request, pk)

    def act(self, subscription, data):
        return services.replenishment_interval_change(
            subscription=subscription, interval_days=data["interval_days"]
        )
