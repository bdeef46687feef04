"""Interactions API (SPEC §10). POST answers 201 only once the interaction is committed."""

from decimal import Decimal

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import PermissionDenied
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response

from customers.models import Customer
from customers.selectors import customers_visible_to
from offerings.models import Offering

from . import services
from .choices import Channel, Direction, InteractionType
from .models import Interaction, OrderLine


class OrderLineSerializer(serializers.ModelSerializer):
    class Meta:
        model = OrderLine
        fields = ["offering", "quantity", "unit_price", "discount", "unit_cost"]


class InteractionOutputSerializer(serializers.ModelSerializer):
    lines = OrderLineSerializer(many=True, read_only=True)
    logged_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

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
            "thread",
            "requires_response",
            "first_response_at",
            "resolved_at",
            "satisfaction",
            "next_step",
            "next_step_due",
            "lines",
        ]
        read_only_fields = fields


class OrderLineInputSerializer(serializers.Serializer):
    offering = serializers.PrimaryKeyRelatedField(queryset=Offering.objects.all())
    quantity = serializers.DecimalField(max_digits=10, decimal_places=2, min_value=Decimal("0.01"))
    unit_price = serializers.DecimalField(max_digits=12, decimal_places=2, min_value=0)
    discount = serializers.DecimalField(
        max_digits=5, decimal_places=4, min_value=0, max_value=1, required=False, default=0
    )
    unit_cost = serializers.DecimalField(max_digits=12, decimal_places=2, min_value=0)


class InteractionInputSerializer(serializers.Serializer):
    customer = serializers.PrimaryKeyRelatedField(queryset=Customer.objects.all())
    channel = serializers.ChoiceField(choices=Channel.choices)
    direction = serializers.ChoiceField(choices=Direction.choices)
    type = serializers.ChoiceField(choices=InteractionType.choices)
    subject = serializers.CharField(max_length=200)
    notes = serializers.CharField(required=False, allow_blank=True, default="")
    occurred_at = serializers.DateTimeField(required=False)
    requires_response = serializers.BooleanField(required=False, allow_null=True, default=None)
    thread = serializers.PrimaryKeyRelatedField(
        queryset=Interaction.objects.all(), required=False, allow_null=True
    )
    satisfaction = serializers.IntegerField(
        min_value=1, max_value=5, required=False, allow_null=True
    )
    next_step = serializers.CharField(max_length=200, required=False, allow_blank=True)
    next_step_due = serializers.DateField(required=False, allow_null=True)
    lines = OrderLineInputSerializer(many=True, required=False, default=list)

    def validate(self, attrs):
        thread = attrs.get("thread")
        if thread is not None and thread.customer_id != attrs["customer"].pk:
            raise serializers.ValidationError({"thread": "The thread belongs to another customer."})
        if attrs.get("lines") and attrs["type"] != InteractionType.ORDER:
            raise serializers.ValidationError({"lines": "Only order interactions have lines."})
        return attrs


class InteractionListApi(GenericAPIView):
    serializer_class = InteractionOutputSerializer

    def get_queryset(self):
        return (
            Interaction.objects.filter(customer__in=customers_visible_to(self.request.user))
            .select_related("logged_by")
            .prefetch_related("lines")
            .order_by("-occurred_at", "-id")
        )

    @extend_schema(
        operation_id="interactions_list", responses=InteractionOutputSerializer(many=True)
    )
    def get(self, request):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(InteractionOutputSerializer(page, many=True).data)

    @extend_schema(request=InteractionInputSerializer, responses={201: InteractionOutputSerializer})
    def post(self, request):
        if not request.user.has_perm("interactions.add_interaction"):
            raise PermissionDenied("You may not log interactions.")
        serializer = InteractionInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        if not customers_visible_to(request.user).filter(pk=data["customer"].pk).exists():
            raise PermissionDenied("This customer is not in your portfolio.")
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
        interaction = services.interaction_log(logged_by=request.user, lines=lines, **data)
        return Response(
            InteractionOutputSerializer(interaction).data, status=status.HTTP_201_CREATED
        )


class InteractionDetailApi(GenericAPIView):
    serializer_class = InteractionOutputSerializer

    def get(self, request, pk: int):
        interaction = get_object_or_404(
            Interaction.objects.filter(customer__in=customers_visible_to(request.user)), pk=pk
        )
        return Response(InteractionOutputSerializer(interaction).data)
