"""Valuation API (SPEC §10): population fits, newest first; POST starts a refit."""

import django_filters
from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.utils import (
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    inline_serializer,
)
from rest_framework import serializers, status
from rest_framework.exceptions import PermissionDenied
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response

from accounts.roles import is_admin
from core import bounds
from core.serializers import OutputModelSerializer
from customers import api as customers_api
from customers import selectors as customer_selectors
from customers.models import WalletSource

from . import selectors, tasks
from .declared import FIGURE_NAMES, SNAPSHOT_FIGURES, ValueTier
from .models import (
    CustomerFigures,
    CustomerSnapshot,
    FitMethod,
    FitPriors,
    ModelFit,
    PurchaseModelName,
)
from .numerics.purchase import MODEL_NAMES

# --- Customers with their figures (the customers API, extended) ---------------------------

# The figures' names in the API where they differ from the column's.
API_NAMES = {"computed_at": "figures_computed_at"}


class _FigureFields(OutputModelSerializer):
    class Meta:
        model = CustomerFigures
        fields = [*FIGURE_NAMES, "computed_at"]
        read_only_fields = fields


class CustomerWithFiguresOutputSerializer(customers_api.CustomerOutputSerializer):
    """A customer with their figures (valuation.declared), flat beside the profile. Money
    figures are left out for support staff (SPEC §2); null until the first recompute."""

    class Meta(customers_api.CustomerOutputSerializer.Meta):
        pass

    def get_fields(self):
        fields = super().get_fields()
        for name, field in _FigureFields().get_fields().items():
            field.source = f"figures.{name}"
            field.allow_null = True  # a customer without figures yet
            fields[API_NAMES.get(name, name)] = field
        return fields

    def to_representation(self, instance):
        data = super().to_representation(instance)
        # No wallet on record but one inferred from peers: say so (the value and its basis are
        # the inferred_wallet and wallet_* figures). `wallet_annual` stays what was stated.
        figures = getattr(instance, "figures", None)  # None: no figures row yet
        if (
            "wallet_source" in data
            and not data["wallet_source"]
            and figures is not None
            and figures.inferred_wallet is not None
        ):
            data["wallet_source"] = WalletSource.INFERRED
        return data


class CustomerWithFiguresFilter(customers_api.CustomerFilter):
    tier = django_filters.ChoiceFilter(field_name="figures__tier", choices=ValueTier.choices)


class _WithFigures:
    serializer_class = CustomerWithFiguresOutputSerializer

    def output_queryset(self, queryset):
        return queryset.select_related("figures")


class CustomerListApi(_WithFigures, customers_api.CustomerListApi):
    filterset_class = CustomerWithFiguresFilter

    @extend_schema(
        operation_id="customers_list", responses=CustomerWithFiguresOutputSerializer(many=True)
    )
    def get(self, request):
        return super().get(request)

    @extend_schema(
        request=customers_api.CustomerInputSerializer,
        responses={201: CustomerWithFiguresOutputSerializer},
    )
    def post(self, request):
        return super().post(request)


class CustomerDetailApi(_WithFigures, customers_api.CustomerDetailApi):
    @extend_schema(
        responses={
            200: CustomerWithFiguresOutputSerializer,
            301: OpenApiResponse(
                description="Merged into another customer: Location names the survivor."
            ),
        }
    )
    def get(self, request, pk: int):
        return super().get(request, pk)

    @extend_schema(
        request=customers_api.CustomerInputSerializer,
        responses={200: CustomerWithFiguresOutputSerializer},
    )
    def patch(self, request, pk: int):
        return super().patch(request, pk)


class SnapshotOutputSerializer(OutputModelSerializer):
    class Meta:
        model = CustomerSnapshot
        fields = ["taken_on", "computed_at", *SNAPSHOT_FIGURES]
        read_only_fields = fields


class CustomerFiguresHistoryApi(GenericAPIView):
    """Dated snapshots of a customer's figures, newest first."""

    serializer_class = SnapshotOutputSerializer
    queryset = CustomerSnapshot.objects.none()  # for the schema; get() scopes by customer

    @extend_schema(
        operation_id="customers_figures_history", responses=SnapshotOutputSerializer(many=True)
    )
    def get(self, request, pk: int):
        customer = get_object_or_404(customer_selectors.customers_visible_to(request.user), pk=pk)
        page = self.paginate_queryset(customer.snapshots.order_by("-taken_on"))
        return self.get_paginated_response(
            SnapshotOutputSerializer(page, many=True, context={"request": request}).data
        )


# --- Fits ----------------------------------------------------------------------------------


class _PurchaseModelFitSerializer(serializers.Serializer):
    log_likelihood = serializers.FloatField()
    converged = serializers.BooleanField(
        help_text="False: the data did not pin the parameters down; the model is not chosen."
    )


class BgNbdSerializer(_PurchaseModelFitSerializer):
    r = serializers.FloatField()
    alpha = serializers.FloatField()
    a = serializers.FloatField()
    b = serializers.FloatField()


class MbgNbdSerializer(BgNbdSerializer):
    pass


class ParetoNbdSerializer(_PurchaseModelFitSerializer):
    r = serializers.FloatField()
    alpha = serializers.FloatField()
    s = serializers.FloatField()
    beta = serializers.FloatField()


class GammaGammaSerializer(serializers.Serializer):
    p = serializers.FloatField()
    q = serializers.FloatField()
    gamma = serializers.FloatField()
    log_likelihood = serializers.FloatField()
    customers = serializers.IntegerField()


class FitPriorsSerializer(serializers.ModelSerializer):
    """The fit's basis for customers with no purchase yet and for inferred wallets."""

    class Meta:
        model = FitPriors
        fields = [
            "conversion_window_days",
            "prospects_seen",
            "prospects_converted",
            "conversion_rate",
            "conversion_observed",
            "mean_spend",
            "margin_ratio",
            "expected_transactions",
            "new_customer_value",
            "prospect_value",
            "late_prospects_seen",
            "late_prospects_converted",
            "late_conversion_rate",
            "late_conversion_observed",
            "late_prospect_value",
            "wallet_quantile",
            "wallet_min_peers",
            "wallet_samples",
        ]
        read_only_fields = fields


class HoldoutForecastSerializer(serializers.Serializer):
    bgnbd = serializers.FloatField(allow_null=True)
    mbgnbd = serializers.FloatField(allow_null=True)
    pareto_nbd = serializers.FloatField(allow_null=True)


class HoldoutSerializer(serializers.Serializer):
    calibration_end = serializers.DateField(help_text="The models were fitted up to this date.")
    holdout_end = serializers.DateField()
    customers = serializers.IntegerField(help_text="Customers who bought by calibration_end.")
    actual = serializers.FloatField(
        help_text="Their repeat transactions (days with an order) after calibration_end."
    )
    predicted = HoldoutForecastSerializer(
        help_text="Each model's forecast of `actual`, fitted on the calibration period."
    )


def _candidate(fit: ModelFit, name: str) -> dict | None:
    entry = fit.candidates.get(name)
    if entry is not None:
        return {
            **entry["params"],
            "log_likelihood": entry["log_likelihood"],
            "converged": entry["converged"],
        }
    if name == "bgnbd" and fit.bgnbd_r is not None:  # a fit from before the other models
        return {
            "r": fit.bgnbd_r,
            "alpha": fit.bgnbd_alpha,
            "a": fit.bgnbd_a,
            "b": fit.bgnbd_b,
            "log_likelihood": fit.bgnbd_log_likelihood,
            "converged": True,
        }
    return None


class FitOutputSerializer(OutputModelSerializer):
    bgnbd = serializers.SerializerMethodField()
    mbgnbd = serializers.SerializerMethodField()
    pareto_nbd = serializers.SerializerMethodField()
    gamma_gamma = serializers.SerializerMethodField()
    priors = serializers.SerializerMethodField()
    chosen = serializers.SerializerMethodField()
    holdout = serializers.SerializerMethodField()

    class Meta:
        model = ModelFit
        fields = [
            "id",
            "status",
            "method",
            "fitted_at",
            "as_of",
            "customers",
            "duration_ms",
            "task_id",
            "error",
            "bgnbd",
            "mbgnbd",
            "pareto_nbd",
            "gamma_gamma",
            "priors",
            "chosen",
            "chosen_by",
            "holdout",
        ]
        read_only_fields = fields

    @extend_schema_field(FitPriorsSerializer(allow_null=True))
    def get_priors(self, fit) -> dict | None:
        priors = selectors.fit_priors_of(fit)
        return None if priors is None else FitPriorsSerializer(priors).data

    @extend_schema_field(BgNbdSerializer(allow_null=True))
    def get_bgnbd(self, fit) -> dict | None:
        return _candidate(fit, "bgnbd")

    @extend_schema_field(MbgNbdSerializer(allow_null=True))
    def get_mbgnbd(self, fit) -> dict | None:
        return _candidate(fit, "mbgnbd")

    @extend_schema_field(ParetoNbdSerializer(allow_null=True))
    def get_pareto_nbd(self, fit) -> dict | None:
        return _candidate(fit, "pareto_nbd")

    @extend_schema_field(GammaGammaSerializer(allow_null=True))
    def get_gamma_gamma(self, fit) -> dict | None:
        if fit.gg_p is None:
            return None
        return {
            "p": fit.gg_p,
            "q": fit.gg_q,
            "gamma": fit.gg_gamma,
            "log_likelihood": fit.gg_log_likelihood,
            "customers": fit.gg_customers,
        }

    @extend_schema_field(
        serializers.ChoiceField(
            choices=PurchaseModelName.choices,
            allow_null=True,
            help_text="The purchase model the figures use (null: the simple estimate).",
        )
    )
    def get_chosen(self, fit) -> str | None:
        if fit.method != FitMethod.MODEL:
            return None
        return fit.chosen_model or "bgnbd"

    @extend_schema_field(HoldoutSerializer(allow_null=True))
    def get_holdout(self, fit) -> dict | None:
        if fit.holdout is None:
            return None
        keys = ("calibration_end", "holdout_end", "customers", "actual")
        return {
            **{key: fit.holdout[key] for key in keys},
            "predicted": {name: fit.holdout["predicted"].get(name) for name in MODEL_NAMES},
        }


class FitInputSerializer(serializers.Serializer):
    as_of = serializers.DateField(
        required=False,
        validators=[bounds.validate_happened_on],
        help_text="Fit on transactions up to this date.",
    )

    def validate_as_of(self, value):
        if value > timezone.localdate():
            raise serializers.ValidationError("as_of cannot be in the future.")
        return value


class FitListApi(GenericAPIView):
    serializer_class = FitOutputSerializer
    queryset = ModelFit.objects.select_related("priors").order_by("-created_at", "-id")

    def check_permissions(self, request):
        super().check_permissions(request)
        if not is_admin(request.user):
            raise PermissionDenied("Only admins see and start model fits.")

    @extend_schema(operation_id="valuation_fits_list", responses=FitOutputSerializer(many=True))
    def get(self, request):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(FitOutputSerializer(page, many=True).data)

    @extend_schema(
        request=FitInputSerializer,
        responses={
            202: inline_serializer(
                "FitStarted",
                {
                    "id": serializers.IntegerField(),
                    "task_id": serializers.CharField(),
                    "status": serializers.CharField(),
                    "as_of": serializers.DateField(),
                },
            )
        },
    )
    def post(self, request):
        serializer = FitInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        fit = tasks.valuation_fit_request(as_of=serializer.validated_data.get("as_of"))
        return Response(
            {"id": fit.pk, "task_id": fit.task_id, "status": fit.status, "as_of": fit.as_of},
            status=status.HTTP_202_ACCEPTED,
        )
