"""Offerings API (SPEC §10): everyone signed in reads, admins write: offerings, and the
categories and partners they name (core.api)."""

import django_filters
from django.db import transaction
from django.db.models import Prefetch
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import serializers, status
from rest_framework.exceptions import PermissionDenied
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response

from accounts.roles import is_admin
from core.api import ConfigDeleteMixin, ConfigDetailApi, ConfigListApi, ConflictSerializer
from core.filters import StrictFilterSet
from core.serializers import OutputModelSerializer

from . import selectors, services
from .models import Category, Component, ComponentKind, Offering, Partner

IN_HOUSE = "in-house"


class ComponentOutputSerializer(OutputModelSerializer):
    provider = serializers.CharField(read_only=True)

    class Meta:
        model = Component
        fields = ["id", "name", "kind", "provider", "price", "cost"]
        read_only_fields = fields


class OfferingOutputSerializer(OutputModelSerializer):
    category = serializers.SlugRelatedField(slug_field="name", read_only=True)
    components = ComponentOutputSerializer(many=True, read_only=True)
    cost = serializers.DecimalField(max_digits=14, decimal_places=2, read_only=True)
    margin = serializers.DecimalField(max_digits=14, decimal_places=2, read_only=True)
    margin_percent = serializers.DecimalField(
        max_digits=7, decimal_places=1, read_only=True, allow_null=True
    )
    archived = serializers.BooleanField(read_only=True)

    class Meta:
        model = Offering
        fields = [
            "id",
            "name",
            "category",
            "description",
            "components",
            "price",
            "cost",
            "margin",
            "margin_percent",
            "active",
            "archived",
            "replenish_every_days",
        ]
        read_only_fields = fields


class ComponentInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    kind = serializers.ChoiceField(choices=ComponentKind.choices)
    provider = serializers.CharField(
        max_length=200,
        required=False,
        allow_blank=True,
        default=IN_HOUSE,
        help_text='"in-house" or the name of a partner.',
    )
    price = serializers.DecimalField(max_digits=12, decimal_places=2, min_value=0)
    cost = serializers.DecimalField(max_digits=12, decimal_places=2, min_value=0)

    def validate_provider(self, value: str) -> Partner | None:
        if value.strip().lower() in ("", IN_HOUSE):
            return None
        partner = Partner.objects.filter(name=value.strip()).first()
        if partner is None:
            raise serializers.ValidationError(
                f'No partner is named "{value}"; use "{IN_HOUSE}" or a partner\'s name.'
            )
        return partner


class OfferingInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    category = serializers.SlugRelatedField(slug_field="name", queryset=Category.objects.all())
    description = serializers.CharField(required=False, allow_blank=True)
    price = serializers.DecimalField(
        max_digits=12,
        decimal_places=2,
        min_value=0,
        required=False,
        help_text="Bundle price; when left out, the total of the components' prices.",
    )
    active = serializers.BooleanField(required=False)
    replenish_every_days = serializers.IntegerField(min_value=1, required=False, allow_null=True)
    components = ComponentInputSerializer(many=True, allow_empty=False)


class ComponentsInputSerializer(serializers.Serializer):
    """Components on their own: replaced as a whole, so never partial, even in a PATCH."""

    components = ComponentInputSerializer(many=True, allow_empty=False)


def component_inputs(data: list[dict]) -> list[services.ComponentInput]:
    return [
        services.ComponentInput(
            name=c["name"],
            kind=c["kind"],
            price=c["price"],
            cost=c["cost"],
            partner=c.get("provider"),
        )
        for c in data
    ]


def offerings_for_api():
    return selectors.offerings_with_figures().prefetch_related(
        Prefetch("components", queryset=Component.objects.select_related("partner"))
    )


class OfferingFilter(StrictFilterSet):
    category = django_filters.ModelChoiceFilter(
        field_name="category", to_field_name="name", queryset=Category.objects.all()
    )

    class Meta:
        model = Offering
        fields = ["active", "category"]


def require_admin(user) -> None:
    if not is_admin(user):
        raise PermissionDenied("Only admins change offerings.")


def valid_data(serializer: serializers.Serializer) -> dict:
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


class OfferingListApi(GenericAPIView):
    serializer_class = OfferingOutputSerializer
    filterset_class = OfferingFilter

    def get_queryset(self):
        return offerings_for_api().order_by("name", "id")

    @extend_schema(operation_id="offerings_list", responses=OfferingOutputSerializer(many=True))
    def get(self, request):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(
            OfferingOutputSerializer(page, many=True, context={"request": request}).data
        )

    @extend_schema(request=OfferingInputSerializer, responses={201: OfferingOutputSerializer})
    @transaction.atomic  # the write and its reply commit together: no 5xx after a commit
    def post(self, request):
        require_admin(request.user)
        data = valid_data(OfferingInputSerializer(data=request.data))
        components = component_inputs(data.pop("components"))
        offering = services.offering_create(components=components, **data)
        offering = offerings_for_api().get(pk=offering.pk)
        return Response(
            OfferingOutputSerializer(offering, context={"request": request}).data,
            status=status.HTTP_201_CREATED,
        )


class OfferingDetailApi(GenericAPIView):
    serializer_class = OfferingOutputSerializer

    def get_queryset(self):
        return offerings_for_api()

    def get(self, request, pk: int):
        return Response(
            OfferingOutputSerializer(
                get_object_or_404(self.get_queryset(), pk=pk), context={"request": request}
            ).data
        )

    @extend_schema(request=OfferingInputSerializer, responses={200: OfferingOutputSerializer})
    @transaction.atomic  # the write and its reply commit together: no 5xx after a commit
    def patch(self, request, pk: int):
        offering = get_object_or_404(self.get_queryset(), pk=pk)
        require_admin(request.user)
        fields = {k: v for k, v in request.data.items() if k != "components"}
        data = valid_data(OfferingInputSerializer(offering, data=fields, partial=True))
        components = None
        if "components" in request.data:
            components = valid_data(
                ComponentsInputSerializer(data={"components": request.data["components"]})
            )["components"]
        services.offering_update(
            offering=offering,
            data=data,
            components=None if components is None else component_inputs(components),
        )
        offering = offerings_for_api().get(pk=offering.pk)
        return Response(OfferingOutputSerializer(offering, context={"request": request}).data)


# --- Categories and partners -------------------------------------------------------------


class CategoryOutputSerializer(OutputModelSerializer):
    class Meta:
        model = Category
        fields = ["id", "name", "description"]
        read_only_fields = fields


class CategoryInputSerializer(serializers.ModelSerializer):
    class Meta:
        model = Category
        fields = ["name", "description"]


class PartnerOutputSerializer(OutputModelSerializer):
    class Meta:
        model = Partner
        fields = ["id", "name", "email"]
        read_only_fields = fields


class PartnerInputSerializer(serializers.ModelSerializer):
    class Meta:
        model = Partner
        fields = ["name", "email"]


REFUSED_DELETE = OpenApiResponse(
    ConflictSerializer, description="Still referred to (the reason names by what); it stays."
)


class CategoryFilter(StrictFilterSet):
    name = django_filters.CharFilter(lookup_expr="icontains", help_text="Part of the name.")

    class Meta:
        model = Category
        fields = ["name"]


class PartnerFilter(StrictFilterSet):
    name = django_filters.CharFilter(lookup_expr="icontains", help_text="Part of the name.")

    class Meta:
        model = Partner
        fields = ["name"]


@extend_schema_view(
    get=extend_schema(
        operation_id="categories_list", responses=CategoryOutputSerializer(many=True)
    ),
    post=extend_schema(request=CategoryInputSerializer, responses={201: CategoryOutputSerializer}),
)
class CategoryListApi(ConfigListApi):
    """The needs offerings serve: everyone signed in reads, admins write."""

    output_serializer = CategoryOutputSerializer
    input_serializer = CategoryInputSerializer
    write_permission = "offerings.add_category"
    filterset_class = CategoryFilter
    queryset = Category.objects.order_by("name", "id")

    def create(self, data):
        return services.category_create(**data)


@extend_schema_view(
    patch=extend_schema(request=CategoryInputSerializer, responses=CategoryOutputSerializer),
    delete=extend_schema(responses={204: None, 409: REFUSED_DELETE}),
)
class CategoryDetailApi(ConfigDeleteMixin, ConfigDetailApi):
    output_serializer = CategoryOutputSerializer
    input_serializer = CategoryInputSerializer
    write_permission = "offerings.change_category"
    queryset = Category.objects.all()

    def update(self, instance, data):
        return services.category_update(category=instance, data=data)

    def destroy(self, instance):
        services.category_delete(category=instance)


@extend_schema_view(
    get=extend_schema(operation_id="partners_list", responses=PartnerOutputSerializer(many=True)),
    post=extend_schema(request=PartnerInputSerializer, responses={201: PartnerOutputSerializer}),
)
class PartnerListApi(ConfigListApi):
    """The firms that deliver components of offerings: everyone signed in reads, admins write."""

    output_serializer = PartnerOutputSerializer
    input_serializer = PartnerInputSerializer
    write_permission = "offerings.add_partner"
    filterset_class = PartnerFilter
    queryset = Partner.objects.order_by("name", "id")

    def create(self, data):
        return services.partner_create(**data)


@extend_schema_view(
    patch=extend_schema(request=PartnerInputSerializer, responses=PartnerOutputSerializer),
    delete=extend_schema(responses={204: None, 409: REFUSED_DELETE}),
)
class PartnerDetailApi(ConfigDeleteMixin, ConfigDetailApi):
    output_serializer = PartnerOutputSerializer
    input_serializer = PartnerInputSerializer
    write_permission = "offerings.change_partner"
    queryset = Partner.objects.all()

    def update(self, instance, data):
        return services.partner_update(partner=instance, data=data)

    def destroy(self, instance):
        services.partner_delete(partner=instance)
