"""Interactions API (SPEC §10). POST answers 201 only once the interaction is committed, and
the write and the reply it sends are one transaction: an error never follows a commit.

Object rules: support staff and admins reach every customer's interactions, managers only
their portfolio's; an id from another portfolio answers 404, as in the UI.
"""

from decimal import Decimal

import django_filters
from django.contrib.auth import get_user_model
from django.db import transaction
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema, extend_schema_field, extend_schema_view
from rest_framework import serializers, status
from rest_framework.exceptions import PermissionDenied
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response

from core.api import ConfigDeleteMixin, ConfigDetailApi, ConfigListApi
from core.filters import StrictBooleanFilter, StrictFilterSet, UtcIsoDateTimeFilter
from core.serializers import OutputModelSerializer
from customers.facts import FactInput
from customers.selectors import customers_visible_to
from offerings.models import Offering

from . import selectors, services
from .choices import Channel, Direction, InteractionType, OfferOutcome
from .models import ChannelCost, Interaction, OrderLine, ServiceLevelTarget


class OrderLineSerializer(OutputModelSerializer):
    class Meta:
        model = OrderLine
        fields = ["offering", "quantity", "unit_price", "discount", "unit_cost"]
        read_only_fields = fields


class OfferOutputSerializer(serializers.Serializer):
    offering = serializers.IntegerField(source="offer_id")
    outcome = serializers.CharField(source="offer_outcome")


class InteractionOutputSerializer(OutputModelSerializer):
    lines = OrderLineSerializer(many=True, read_only=True)
    logged_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    assignee = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    offer = serializers.SerializerMethodField()
    response_due_at = serializers.SerializerMethodField()

    class Meta:
        model = Interaction
        fields = [
            "id",
            "customer",
            "channel",
            "direction",
            "type",
            "subject",
            "notes",
            "occurred_at",
            "logged_by",
            "assignee",
            "thread",
            "requires_response",
            "response_due_at",
            "first_response_at",
            "resolved_at",
            "satisfaction",
            "offer",
            "next_step",
            "next_step_due",
            "lines",
        ]
        read_only_fields = fields

    @extend_schema_field(OfferOutputSerializer(allow_null=True))
    def get_offer(self, interaction: Interaction):
        if interaction.offer_id is None:
            return None
        return OfferOutputSerializer(interaction).data

    @extend_schema_field(serializers.DateTimeField(allow_null=True))
    def get_response_due_at(self, interaction: Interaction):
        """When the first response is due under the service-level target (null: no target)."""
        due = getattr(interaction, "response_due_at", None)
        return serializers.DateTimeField().to_representation(due) if due else None


class OrderLineInputSerializer(serializers.Serializer):
    offering = serializers.PrimaryKeyRelatedField(queryset=Offering.objects.all())
    quantity = serializers.DecimalField(max_digits=10, decimal_places=2, min_value=Decimal("0.01"))
    unit_price = serializers.DecimalField(max_digits=12, decimal_places=2, min_value=0)
    discount = serializers.DecimalField(
        max_digits=5, decimal_places=4, min_value=0, max_value=1, required=False, default=0
    )
    unit_cost = serializers.DecimalField(max_digits=12, decimal_places=2, min_value=0)


class OfferInputSerializer(serializers.Serializer):
    offering = serializers.PrimaryKeyRelatedField(queryset=Offering.objects.all())
    outcome = serializers.ChoiceField(
        choices=OfferOutcome.choices, required=False, allow_blank=True, default=""
    )


class FactLearnedSerializer(serializers.Serializer):
    """What the customer taught us in this interaction (customers.facts)."""

    key = serializers.CharField(max_length=60)
    value = serializers.CharField(max_length=500)
    need_status = serializers.CharField(required=False, allow_blank=True, default="")


class InteractionInputSerializer(serializers.Serializer):
    """The rules between fields (a thread of the same customer, lines only on orders) are the
    service's: every way in enforces them. The customer and the thread are ids, looked up
    among what the caller may see, so that another portfolio's reads like nothing at all."""

    customer = serializers.IntegerField()
    channel = serializers.ChoiceField(choices=Channel.choices)
    direction = serializers.ChoiceField(choices=Direction.choices)
    type = serializers.ChoiceField(choices=InteractionType.choices)
    subject = serializers.CharField(max_length=200)
    notes = serializers.CharField(required=False, allow_blank=True, default="")
    occurred_at = serializers.DateTimeField(required=False)
    requires_response = serializers.BooleanField(required=False, allow_null=True, default=None)
    thread = serializers.IntegerField(required=False, allow_null=True)
    satisfaction = serializers.IntegerField(
        min_value=1, max_value=5, required=False, allow_null=True
    )
    next_step = serializers.CharField(max_length=200, required=False, allow_blank=True)
    next_step_due = serializers.DateField(required=False, allow_null=True)
    lines = OrderLineInputSerializer(many=True, required=False, default=list)
    offer = OfferInputSerializer(required=False, allow_null=True, default=None)
    facts = FactLearnedSerializer(many=True, required=False, default=list)
    assignee = serializers.PrimaryKeyRelatedField(
        queryset=get_user_model().objects.filter(is_active=True), required=False, allow_null=True
    )


class InteractionPatchSerializer(serializers.Serializer):
    first_response_at = serializers.DateTimeField(required=False)
    resolved_at = serializers.DateTimeField(required=False)
    satisfaction = serializers.IntegerField(min_value=1, max_value=5, required=False)
    assignee = serializers.PrimaryKeyRelatedField(
        queryset=get_user_model().objects.filter(is_active=True), required=False, allow_null=True
    )


class InteractionFilter(StrictFilterSet):
    customer = django_filters.NumberFilter(field_name="customer_id")
    requires_response = StrictBooleanFilter()
    open = StrictBooleanFilter(
        method="filter_open", label="Needs a response and is not resolved yet"
    )
    occurred_after = UtcIsoDateTimeFilter(field_name="occurred_at", lookup_expr="gte")
    occurred_before = UtcIsoDateTimeFilter(field_name="occurred_at", lookup_expr="lt")
    search = django_filters.CharFilter(method="filter_search")

    class Meta:
        model = Interaction
        fields = ["customer", "channel", "direction", "type", "requires_response"]

    def filter_search(self, queryset, name, value):
        return selectors.interaction_search_text(interactions=queryset, text=value)

    def filter_open(self, queryset, name, value):
        return selectors.interactions_open(interactions=queryset, open=value)


def _visible_interactions(user):
    return selectors.with_service_level(
        Interaction.objects.filter(customer__in=customers_visible_to(user).values("pk"))
    )


NO_SUCH_CUSTOMER = "No such customer."


class InteractionListApi(GenericAPIView):
    serializer_class = InteractionOutputSerializer
    filterset_class = InteractionFilter

    def get_queryset(self):
        return (
            _visible_interactions(self.request.user)
            .select_related("logged_by", "assignee")
            .prefetch_related("lines")
            .order_by("-occurred_at", "-id")
        )

    @extend_schema(
        operation_id="interactions_list", responses=InteractionOutputSerializer(many=True)
    )
    def get(self, request):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(
            InteractionOutputSerializer(page, many=True, context={"request": request}).data
        )

    @extend_schema(request=InteractionInputSerializer, responses={201: InteractionOutputSerializer})
    @transaction.atomic  # the write and its reply commit together: no 5xx after a commit
    def post(self, request):
        if not request.user.has_perm("interactions.add_interaction"):
            raise PermissionDenied("You may not log interactions.")
        serializer = InteractionInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        # Another portfolio's customer answers like a customer that does not exist.
        data["customer"] = customers_visible_to(request.user).filter(pk=data["customer"]).first()
        if data["customer"] is None:
            raise serializers.ValidationError({"customer": NO_SUCH_CUSTOMER})
        if data.get("thread") is not None:
            # The service refuses another customer's thread with the same words.
            data["thread"] = Interaction.objects.filter(pk=data["thread"]).first()
            if data["thread"] is None:
                raise serializers.ValidationError({"thread": services.NO_SUCH_THREAD})
        lines = [
            services.OrderLineInput(
                offering_id=line["offering"].pk,
                quantity=line["quantity"],
                unit_price=line["unit_price"],
                unit_cost=line["unit_cost"],
                discount=line["discount"],
            )
            for line in data.pop("lines")
        ]
        offer = data.pop("offer") or {}
        facts = [
            FactInput(fact["key"], fact["value"], fact["need_status"]) for fact in data.pop("facts")
        ]
        interaction = services.interaction_log(
            logged_by=request.user,
            lines=lines,
            facts=facts,
            offer=offer.get("offering"),
            offer_outcome=offer.get("outcome", ""),
            **data,
        )
        # Read back with its service level in the same transaction: if anything fails before
        # the reply is built, nothing was committed. Visibility was checked above.
        interaction = (
            selectors.with_service_level(Interaction.objects.filter(pk=interaction.pk))
            .select_related("logged_by", "assignee")
            .prefetch_related("lines")
            .get()
        )
        return Response(
            InteractionOutputSerializer(interaction, context={"request": request}).data,
            status=status.HTTP_201_CREATED,
        )


class InteractionDetailApi(GenericAPIView):
    serializer_class = InteractionOutputSerializer

    def get_object(self):
        return get_object_or_404(
            _visible_interactions(self.request.user).select_related("logged_by", "assignee"),
            pk=self.kwargs["pk"],
        )

    def get(self, request, pk: int):
        return Response(
            InteractionOutputSerializer(self.get_object(), context={"request": request}).data
        )

    @extend_schema(request=InteractionPatchSerializer, responses=InteractionOutputSerializer)
    @transaction.atomic  # the write and its reply commit together: no 5xx after a commit
    def patch(self, request, pk: int):
        """Record the first response, the resolution, satisfaction or the assignee.

        Times once recorded are kept (idempotent: the first writer wins).
        """
        interaction = self.get_object()
        if not request.user.has_perm("interactions.change_interaction"):
            raise PermissionDenied("You may not change interactions.")
        serializer = InteractionPatchSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        with transaction.atomic():
            if "first_response_at" in data:
                services.interaction_respond(interaction=interaction, at=data["first_response_at"])
            if "resolved_at" in data:
                services.interaction_resolve(interaction=interaction, at=data["resolved_at"])
            if "satisfaction" in data:
                services.interaction_record_satisfaction(
                    interaction=interaction, satisfaction=data["satisfaction"]
                )
            if "assignee" in data:
                services.interaction_assign(interaction=interaction, assignee=data["assignee"])
        return Response(
            InteractionOutputSerializer(self.get_object(), context={"request": request}).data
        )


class CustomerTimelineApi(GenericAPIView):
    serializer_class = InteractionOutputSerializer
    queryset = Interaction.objects.none()  # for the schema; get() uses the selectors

    @extend_schema(
        operation_id="customers_timeline", responses=InteractionOutputSerializer(many=True)
    )
    def get(self, request, pk: int):
        """Every interaction with the customer across channels, newest first."""
        customer = get_object_or_404(customers_visible_to(request.user), pk=pk)
        timeline = selectors.with_service_level(
            selectors.customer_timeline(customer_id=customer.pk)
        )
        page = self.paginate_queryset(timeline)
        return self.get_paginated_response(
            InteractionOutputSerializer(page, many=True, context={"request": request}).data
        )


# --- Channel costs and service-level targets (everyone signed in reads, admins write) --------


class ChannelCostOutputSerializer(OutputModelSerializer):
    """A channel's cost per contact: money (core.money), left out for support staff."""

    class Meta:
        model = ChannelCost
        fields = ["id", "channel", "cost_per_interaction"]
        read_only_fields = fields


class ChannelCostInputSerializer(serializers.ModelSerializer):
    class Meta:
        model = ChannelCost
        fields = ["channel", "cost_per_interaction"]


class ServiceLevelTargetOutputSerializer(OutputModelSerializer):
    class Meta:
        model = ServiceLevelTarget
        fields = ["id", "type", "channel", "first_response_hours"]
        read_only_fields = fields


class ServiceLevelTargetInputSerializer(serializers.ModelSerializer):
    """`channel` empty: any channel (a target for the item's own channel wins over it)."""

    class Meta:
        model = ServiceLevelTarget
        fields = ["type", "channel", "first_response_hours"]


class ChannelCostFilter(StrictFilterSet):
    class Meta:
        model = ChannelCost
        fields = ["channel"]


class ServiceLevelTargetFilter(StrictFilterSet):
    class Meta:
        model = ServiceLevelTarget
        fields = ["type", "channel"]


@extend_schema_view(
    get=extend_schema(
        operation_id="channel_costs_list", responses=ChannelCostOutputSerializer(many=True)
    ),
    post=extend_schema(
        request=ChannelCostInputSerializer, responses={201: ChannelCostOutputSerializer}
    ),
)
class ChannelCostListApi(ConfigListApi):
    """What one contact on a channel costs (the cost to serve). A change applies to contacts
    logged from then on, as in the admin; a channel without a row costs nothing."""

    output_serializer = ChannelCostOutputSerializer
    input_serializer = ChannelCostInputSerializer
    write_permission = "interactions.add_channelcost"
    filterset_class = ChannelCostFilter
    queryset = ChannelCost.objects.order_by("channel", "id")

    def create(self, data):
        return services.channel_cost_create(**data)


@extend_schema_view(
    patch=extend_schema(request=ChannelCostInputSerializer, responses=ChannelCostOutputSerializer),
    delete=extend_schema(responses={204: None}),
)
class ChannelCostDetailApi(ConfigDeleteMixin, ConfigDetailApi):
    output_serializer = ChannelCostOutputSerializer
    input_serializer = ChannelCostInputSerializer
    write_permission = "interactions.change_channelcost"
    queryset = ChannelCost.objects.all()

    def update(self, instance, data):
        return services.channel_cost_update(channel_cost=instance, data=data)

    def destroy(self, instance):
        services.channel_cost_delete(channel_cost=instance)


@extend_schema_view(
    get=extend_schema(
        operation_id="service_level_targets_list",
        responses=ServiceLevelTargetOutputSerializer(many=True),
    ),
    post=extend_schema(
        request=ServiceLevelTargetInputSerializer,
        responses={201: ServiceLevelTargetOutputSerializer},
    ),
)
class ServiceLevelTargetListApi(ConfigListApi):
    """First-response targets per type (and channel): applied when the queue is read, so a
    change shows in every item's due time at once."""

    output_serializer = ServiceLevelTargetOutputSerializer
    input_serializer = ServiceLevelTargetInputSerializer
    write_permission = "interactions.add_serviceleveltarget"
    filterset_class = ServiceLevelTargetFilter
    queryset = ServiceLevelTarget.objects.order_by("type", "channel", "id")

    def create(self, data):
        return services.service_level_target_create(**data)


@extend_schema_view(
    patch=extend_schema(
        request=ServiceLevelTargetInputSerializer, responses=ServiceLevelTargetOutputSerializer
    ),
    delete=extend_schema(responses={204: None}),
)
class ServiceLevelTargetDetailApi(ConfigDeleteMixin, ConfigDetailApi):
    output_serializer = ServiceLevelTargetOutputSerializer
    input_serializer = ServiceLevelTargetInputSerializer
    write_permission = "interactions.change_serviceleveltarget"
    queryset = ServiceLevelTarget.objects.all()

    def update(self, instance, data):
        return services.service_level_target_update(target=instance, data=data)

    def destroy(self, instance):
        services.service_level_target_delete(target=instance)
