"""Interactions API (SPEC §10). POST answers 201 only once the interaction is committed, and
the write and the reply it sends are one transaction: an error never follows a commit.

Object rules: support staff and admins reach every customer's interactions, managers only
their portfolio's; an id from another portfolio answers 404, as in the UI.
"""

from contextlib import nullcontext
from decimal import Decimal

import django_filters
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import (
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import serializers, status
from rest_framework.exceptions import APIException, PermissionDenied
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response

from core.api import ConfigDeleteMixin, ConfigDetailApi, ConfigListApi, ConflictSerializer
from core.errors import error_paths
from core.filters import StrictBooleanFilter, StrictFilterSet, UtcIsoDateTimeFilter
from core.serializers import (
    BatchEnvelopeSerializer,
    InputSerializer,
    OutputModelSerializer,
    Serializer,
)
from customers.facts import FactInput
from customers.selectors import customers_visible_to
from offerings.models import Offering

from . import selectors, services
from .assignment import assignment_chosen
from .choices import AssignmentMode, Channel, Direction, InteractionType, OfferOutcome
from .models import BusinessCalendar, ChannelCost, Interaction, OrderLine, ServiceLevelTarget


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
            "source",
            "source_id",
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


class OrderLineInputSerializer(Serializer):
    # An id, checked with one query for all the lines by the service (interaction_lines_check).
    offering = serializers.IntegerField()
    quantity = serializers.DecimalField(max_digits=10, decimal_places=2, min_value=Decimal("0.01"))
    unit_price = serializers.DecimalField(max_digits=12, decimal_places=2, min_value=0)
    discount = serializers.DecimalField(
        max_digits=5, decimal_places=4, min_value=0, max_value=1, required=False, default=0
    )
    unit_cost = serializers.DecimalField(max_digits=12, decimal_places=2, min_value=0)


class OfferInputSerializer(Serializer):
    offering = serializers.PrimaryKeyRelatedField(queryset=Offering.objects.all())
    outcome = serializers.ChoiceField(
        choices=OfferOutcome.choices, required=False, allow_blank=True, default=""
    )


class FactLearnedSerializer(Serializer):
    """What the customer taught us in this interaction (customers.facts)."""

    key = serializers.CharField(max_length=60)
    value = serializers.CharField(max_length=500)
    need_status = serializers.CharField(required=False, allow_blank=True, default="")


class InteractionInputSerializer(InputSerializer):
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
    source = serializers.CharField(
        max_length=50,
        required=False,
        allow_blank=True,
        default="",
        help_text="The other system this comes from (with source_id: a re-sent event is "
        "recognised and answers the interaction recorded first).",
    )
    source_id = serializers.CharField(
        max_length=200,
        required=False,
        allow_blank=True,
        default="",
        help_text="Its identifier in that system, unique per source.",
    )

    def to_internal_value(self, data):
        try:
            return super().to_internal_value(data)
        except serializers.ValidationError as error:
            _unknown_offerings_add(error.detail, data)
            raise


def _unknown_offerings_add(errors, data) -> None:
    """A request refused for other reasons also names the lines whose offering does not
    exist, so that one answer lists every problem. A valid request leaves this to the
    service, which checks every line's offering with one query (interaction_lines_check)."""
    lines = data.get("lines") if isinstance(data, dict) else None
    if not isinstance(errors, dict) or not isinstance(lines, list):
        return
    wanted = [
        (index, line["offering"])
        for index, line in enumerate(lines)
        if isinstance(line, dict) and isinstance(line.get("offering"), int)
    ]
    known = set(
        Offering.objects.filter(pk__in={pk for _, pk in wanted}).values_list("pk", flat=True)
    )
    # The lines' errors by index (DRF's shape for a nested many=True serializer); a list
    # instead means the lines as a whole were refused.
    line_errors = errors.setdefault("lines", {})
    if not isinstance(line_errors, dict):
        return
    for index, offering in wanted:
        if offering not in known:
            line_errors.setdefault(index, {}).setdefault("offering", [services.NO_SUCH_OFFERING])
    if not line_errors:
        del errors["lines"]


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

    @extend_schema(
        request=InteractionInputSerializer,
        responses={201: InteractionOutputSerializer, 200: InteractionOutputSerializer},
        description="Log an interaction (201). An interaction whose `source` and `source_id` "
        "were recorded before answers 200 with the one recorded first, and writes nothing.",
    )
    @transaction.atomic  # the write and its reply commit together: no 5xx after a commit
    def post(self, request):
        if not request.user.has_perm("interactions.add_interaction"):
            raise PermissionDenied("You may not log interactions.")
        serializer = InteractionInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        # Another portfolio's customer answers like a customer that does not exist.
        data["customer"] = (
            customers_visible_to(request.user)
            .select_related(None)
            .filter(pk=data["customer"])
            .first()
        )
        if data["customer"] is None:
            raise serializers.ValidationError({"customer": NO_SUCH_CUSTOMER})
        if data["source"] and data["source_id"]:
            existing = (
                Interaction.objects.filter(source=data["source"], source_id=data["source_id"])
                .values_list("pk", "customer_id")
                .first()
            )
            if existing is not None:
                return self._recorded_before(request, *existing)
        if data.get("thread") is not None:
            # The service refuses another customer's thread with the same words.
            data["thread"] = Interaction.objects.filter(pk=data["thread"]).first()
            if data["thread"] is None:
                raise serializers.ValidationError({"thread": services.NO_SUCH_THREAD})
        lines = [
            services.OrderLineInput(
                offering_id=line["offering"],
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
        try:
            # A savepoint only when a source reference could clash with a concurrent one.
            with transaction.atomic() if data["source_id"] else nullcontext():
                interaction = services.interaction_log(
                    logged_by=request.user,
                    lines=lines,
                    facts=facts,
                    offer=offer.get("offering"),
                    offer_outcome=offer.get("outcome", ""),
                    **data,
                )
        except IntegrityError:
            # Only the source reference's unique index can clash here: a concurrent request
            # recorded the same reference first.
            if not data["source_id"]:
                raise
            raise Conflict(SOURCE_RACE) from None
        # The reply is what was just written, lines and stored due time included.
        return Response(
            InteractionOutputSerializer(interaction, context={"request": request}).data,
            status=status.HTTP_201_CREATED,
        )

    def _recorded_before(self, request, interaction_id: int, customer_id: int) -> Response:
        """A re-sent event (the same source and source_id): the interaction recorded first,
        with 200 instead of 201, and nothing written. Recorded for a customer the caller
        cannot see: refused without saying whose."""
        if not customers_visible_to(request.user).filter(pk=customer_id).exists():
            raise serializers.ValidationError({"source_id": services.SOURCE_ELSEWHERE})
        interaction = (
            selectors.with_service_level(Interaction.objects.filter(pk=interaction_id))
            .select_related("logged_by", "assignee")
            .prefetch_related("lines")
            .get()
        )
        return Response(
            InteractionOutputSerializer(interaction, context={"request": request}).data,
            status=status.HTTP_200_OK,
        )


SOURCE_RACE = "A concurrent request recorded the same source reference; send it again."


class Conflict(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"


# --- Batches -----------------------------------------------------------------------------


class OfferBatchSerializer(OfferInputSerializer):
    offering = serializers.IntegerField()  # type: ignore[assignment]


class InteractionBatchItemSerializer(InteractionInputSerializer):
    """One item: exactly what POST /api/interactions/ takes. Its references are ids, looked up
    for the whole batch at once."""

    offer = OfferBatchSerializer(required=False, allow_null=True, default=None)
    assignee = serializers.IntegerField(required=False, allow_null=True)  # type: ignore[assignment]


class InteractionBatchInputSerializer(serializers.Serializer):
    """As the schema shows it; each item is validated on its own (InteractionBatchApi)."""

    items = serializers.ListField(
        child=InteractionBatchItemSerializer(),
        allow_empty=False,
        max_length=services.BATCH_MAX_ITEMS,
    )
    atomic = serializers.BooleanField(
        required=False,
        default=False,
        help_text="All or nothing: one refused item and nothing is written (answered 422).",
    )


class BatchResultSerializer(serializers.Serializer):
    id = serializers.IntegerField(
        allow_null=True, help_text="The interaction; null when the item was not committed."
    )
    duplicate = serializers.BooleanField(
        required=False, help_text="True: recorded before with the same source reference."
    )
    errors = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        required=False,
        help_text="Why the item was refused, by field path (lines[0].quantity).",
    )


class BatchOutputSerializer(serializers.Serializer):
    results = BatchResultSerializer(many=True, help_text="One per item, in input order.")


def batch_results(results) -> list[dict]:
    answer = []
    for result in results:
        if result.errors:
            answer.append({"id": None, "errors": result.errors})
        elif result.duplicate:
            answer.append({"id": result.id, "duplicate": True})
        else:
            answer.append({"id": result.id})
    return answer


def _batch_item(data: dict) -> services.InteractionBatchItem:
    offer = data.pop("offer") or {}
    return services.InteractionBatchItem(
        customer_id=data.pop("customer"),
        thread_id=data.pop("thread", None),
        assignee_id=data.pop("assignee", None),
        lines=[
            services.OrderLineInput(
                offering_id=line["offering"],
                quantity=line["quantity"],
                unit_price=line["unit_price"],
                unit_cost=line["unit_cost"],
                discount=line["discount"],
            )
            for line in data.pop("lines")
        ],
        facts=[FactInput(f["key"], f["value"], f["need_status"]) for f in data.pop("facts")],
        offer_id=offer.get("offering"),
        offer_outcome=offer.get("outcome", ""),
        **data,
    )


class InteractionBatchApi(GenericAPIView):
    serializer_class = BatchOutputSerializer

    @extend_schema(
        operation_id="interactions_batch",
        request=InteractionBatchInputSerializer,
        responses={200: BatchOutputSerializer, 422: BatchOutputSerializer},
    )
    @transaction.atomic  # the writes and their reply commit together
    def post(self, request):
        """Log up to 1,000 interactions in one request; one result per item, in order.

        Each item is what POST /api/interactions/ takes and is checked by the same rules.
        Valid items are committed and refused ones are not (200); with `atomic` one refused
        item commits nothing (422, every item's errors listed). An item whose `source` and
        `source_id` were recorded before answers that interaction's id with
        `"duplicate": true`. One recompute per distinct customer is queued after the commit.
        """
        if not request.user.has_perm("interactions.add_interaction"):
            raise PermissionDenied("You may not log interactions.")
        envelope = BatchEnvelopeSerializer(data=request.data, max_items=services.BATCH_MAX_ITEMS)
        envelope.is_valid(raise_exception=True)
        items: list = []
        # One serializer for every item: its fields are made once, not once per item (0.4 ms).
        checker = InteractionBatchItemSerializer()
        for item in envelope.validated_data["items"]:
            try:
                items.append(_batch_item(dict(checker.run_validation(item))))
            except serializers.ValidationError as error:
                items.append(error_paths(error.detail))
        try:
            results = services.interactions_batch_log(
                items=items,
                customers=customers_visible_to(request.user),
                logged_by=request.user,
                atomic=envelope.validated_data["atomic"],
            )
        except IntegrityError:
            raise Conflict(SOURCE_RACE) from None
        refused = envelope.validated_data["atomic"] and any(r.errors for r in results)
        return Response(
            {"results": batch_results(results)},
            status=status.HTTP_422_UNPROCESSABLE_ENTITY if refused else status.HTTP_200_OK,
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


# A policy's fields, as the services write them.
SERVICE_LEVEL_POLICY_FIELDS = list(services.SERVICE_LEVEL_FIELDS)


class ServiceLevelTargetOutputSerializer(OutputModelSerializer):
    class Meta:
        model = ServiceLevelTarget
        fields = ["id", *SERVICE_LEVEL_POLICY_FIELDS]
        read_only_fields = fields


class ServiceLevelTargetInputSerializer(serializers.ModelSerializer):
    """`channel` empty: any channel; `tier` empty: any tier (the customer's tier, then the
    item's own channel, win over them). `business_hours`: the hours count on `calendar` (empty:
    the channel's calendar, else the default one)."""

    class Meta:
        model = ServiceLevelTarget
        fields = SERVICE_LEVEL_POLICY_FIELDS


BUSINESS_CALENDAR_FIELDS = [
    "name",
    "time_zone",
    "weekly_hours",
    "holidays",
    "always_open",
    "is_default",
    "channel",
]


class BusinessCalendarOutputSerializer(OutputModelSerializer):
    class Meta:
        model = BusinessCalendar
        fields = ["id", *BUSINESS_CALENDAR_FIELDS]
        read_only_fields = fields


class BusinessCalendarInputSerializer(serializers.ModelSerializer):
    """`weekly_hours`: {"0": [["09:00", "17:00"]], ...} (0 = Monday, local times; "24:00"
    closes at midnight); `holidays`: local dates ["2026-12-25", ...]."""

    class Meta:
        model = BusinessCalendar
        fields = BUSINESS_CALENDAR_FIELDS

    def validate(self, attrs):
        # The model's rules (zone, hours, holidays) as a 400 naming the field.
        instance = self.instance or BusinessCalendar()
        candidate = BusinessCalendar(
            **{name: attrs.get(name, getattr(instance, name)) for name in BUSINESS_CALENDAR_FIELDS}
        )
        try:
            candidate.clean()
        except DjangoValidationError as error:
            raise serializers.ValidationError(error.message_dict) from None
        return attrs


class BusinessCalendarFilter(StrictFilterSet):
    class Meta:
        model = BusinessCalendar
        fields = ["channel", "is_default"]


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


@extend_schema_view(
    get=extend_schema(
        operation_id="business_calendars_list",
        responses=BusinessCalendarOutputSerializer(many=True),
    ),
    post=extend_schema(
        request=BusinessCalendarInputSerializer,
        responses={201: BusinessCalendarOutputSerializer},
    ),
)
class BusinessCalendarListApi(ConfigListApi):
    """When the desk is open, for business-hours policies. A change recomputes the stored due
    times (services.interactions_due_recompute)."""

    output_serializer = BusinessCalendarOutputSerializer
    input_serializer = BusinessCalendarInputSerializer
    write_permission = "interactions.add_businesscalendar"
    read_permission = "interactions.view_businesscalendar"
    read_refused = "Only admins see the business calendars."
    filterset_class = BusinessCalendarFilter
    queryset = BusinessCalendar.objects.order_by("name", "id")

    def create(self, data):
        return services.business_calendar_create(**data)


@extend_schema_view(
    patch=extend_schema(
        request=BusinessCalendarInputSerializer, responses=BusinessCalendarOutputSerializer
    ),
    delete=extend_schema(responses={204: None, 409: ConflictSerializer}),
)
class BusinessCalendarDetailApi(ConfigDeleteMixin, ConfigDetailApi):
    output_serializer = BusinessCalendarOutputSerializer
    input_serializer = BusinessCalendarInputSerializer
    write_permission = "interactions.change_businesscalendar"
    read_permission = "interactions.view_businesscalendar"
    read_refused = "Only admins see the business calendars."
    queryset = BusinessCalendar.objects.all()

    def update(self, instance, data):
        return services.business_calendar_update(calendar=instance, data=data)

    def destroy(self, instance):
        services.business_calendar_delete(calendar=instance)


# --- The admins' choice of assignment (/api/support-assignment/) ------------------------------


class SupportAssignmentSerializer(Serializer):
    assignment = serializers.ChoiceField(
        choices=AssignmentMode.choices, help_text="Who takes a new support item."
    )
    default = serializers.ChoiceField(
        choices=AssignmentMode.choices,
        read_only=True,
        help_text="The deployment's setting (CRM_SUPPORT_ASSIGNMENT), used until an admin chooses.",
    )
    chosen = serializers.BooleanField(
        read_only=True, help_text="Whether an admin chose it (else it is the default)."
    )
    changed_at = serializers.DateTimeField(read_only=True, allow_null=True)
    changed_by = serializers.IntegerField(read_only=True, allow_null=True)


class SupportAssignmentApi(GenericAPIView):
    """How new support items are assigned: admins read it and choose it (PUT); the setting
    CRM_SUPPORT_ASSIGNMENT is the default until they do."""

    serializer_class = SupportAssignmentSerializer
    refused = "Only admins see and choose the assignment."

    def check_permissions(self, request):
        super().check_permissions(request)
        if not request.user.has_perm("interactions.change_supportsettings"):
            raise PermissionDenied(self.refused)

    def get_object(self):
        """The one row, or None while the setting decides (OPTIONS asks for it on PUT)."""
        return assignment_chosen()

    def _state(self) -> dict:
        chosen = assignment_chosen()
        return {
            "assignment": chosen.assignment if chosen else settings.SUPPORT_ASSIGNMENT,
            "default": settings.SUPPORT_ASSIGNMENT,
            "chosen": chosen is not None,
            "changed_at": chosen.changed_at if chosen else None,
            "changed_by": chosen.changed_by_id if chosen else None,
        }

    def get(self, request):
        return Response(SupportAssignmentSerializer(self._state()).data)

    @extend_schema(request=SupportAssignmentSerializer, responses=SupportAssignmentSerializer)
    @transaction.atomic  # the write and its reply commit together
    def put(self, request):
        serializer = SupportAssignmentSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        mode = serializer.validated_data["assignment"]
        services.support_assignment_set(mode=mode, by=request.user)
        return Response(SupportAssignmentSerializer(self._state()).data)
