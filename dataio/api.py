"""Bulk data API (SPEC §10): customer CSV export, imports, privacy export and erasure."""

from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import PermissionDenied
from rest_framework.generics import GenericAPIView
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from accounts.roles import is_admin, role_of
from customers.models import Customer

from . import privacy, tasks, views
from .forms import MAX_UPLOAD_BYTES
from .models import ImportJob, ImportKind


def _require_admin(request) -> None:
    if not is_admin(request.user):
        raise PermissionDenied("Only admins do this.")


class CustomersExportApi(GenericAPIView):
    """The customers the caller may see as CSV, streamed; money columns only for roles that
    see money figures."""

    @extend_schema(
        operation_id="customers_export_csv", responses={(200, "text/csv"): OpenApiTypes.STR}
    )
    def get(self, request):
        if role_of(request.user) is None:
            raise PermissionDenied("Only staff export data.")
        return views.customers_csv_response(request.user)


class ImportInputSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=ImportKind.choices)
    file = serializers.FileField()

    def validate_file(self, upload):
        if upload.size > MAX_UPLOAD_BYTES:
            raise serializers.ValidationError("larger than 200 MB; use the command")
        return upload


class ImportOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    status = serializers.CharField()
    percent = serializers.IntegerField()
    finished = serializers.BooleanField()
    total_rows = serializers.IntegerField()
    processed_rows = serializers.IntegerField()
    created_rows = serializers.IntegerField()
    updated_rows = serializers.IntegerField()
    unchanged_rows = serializers.IntegerField()
    duplicate_rows = serializers.IntegerField()
    error_rows = serializers.IntegerField()
    customers_created = serializers.IntegerField()
    key_rule = serializers.CharField(
        help_text="Transactions: how rows already imported are recognised: `occurrence` "
        "(identical rows counted by occurrence) or `order_ref` (order_ref as key); "
        "empty for customers."
    )
    key_rule_display = serializers.CharField()
    error = serializers.CharField()


class ImportListApi(GenericAPIView):
    parser_classes = [MultiPartParser, FormParser]
    serializer_class = ImportInputSerializer

    @extend_schema(request=ImportInputSerializer, responses={202: ImportOutputSerializer})
    def post(self, request):
        _require_admin(request)
        data = ImportInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        upload = data.validated_data["file"]
        job = tasks.import_job_enqueue(
            kind=data.validated_data["kind"],
            content=upload.read(),
            file_name=upload.name,
            by=request.user,
        )
        return Response(
            ImportOutputSerializer(views.job_status_data(job)).data,
            status=status.HTTP_202_ACCEPTED,
        )


class ImportDetailApi(GenericAPIView):
    @extend_schema(responses={200: ImportOutputSerializer})
    def get(self, request, pk: int):
        _require_admin(request)
        job = get_object_or_404(ImportJob.objects.defer("content"), pk=pk)
        return Response(ImportOutputSerializer(views.job_status_data(job)).data)


class CustomerPrivacyExportApi(GenericAPIView):
    """Everything held on one customer (SPEC §7): profile, facts with history, consents,
    interactions with lines, ratings, summary, snapshots and audit history. Admins only."""

    @extend_schema(operation_id="customer_privacy_export", responses={200: OpenApiTypes.OBJECT})
    def get(self, request, pk: int):
        _require_admin(request)
        customer = get_object_or_404(Customer, pk=pk)
        return Response(privacy.customer_everything(customer_id=customer.pk))


class EraseInputSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=300, help_text="Why; no personal data.")


class ErasureOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    customer_id = serializers.IntegerField()
    erased_at = serializers.DateTimeField()
    erased_by = serializers.CharField(source="erased_by.username")
    reason = serializers.CharField()


class CustomerEraseApi(GenericAPIView):
    serializer_class = EraseInputSerializer

    @extend_schema(
        operation_id="customer_erase",
        request=EraseInputSerializer,
        responses={201: ErasureOutputSerializer, 403: OpenApiResponse(description="not admin")},
    )
    def post(self, request, pk: int):
        _require_admin(request)
        customer = get_object_or_404(Customer, pk=pk)
        data = EraseInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        record = privacy.customer_erase(
            customer_id=customer.pk, by=request.user, reason=data.validated_data["reason"]
        )
        return Response(ErasureOutputSerializer(record).data, status=status.HTTP_201_CREATED)
