from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from customers.selectors import customers_visible_to

from .selectors import next_best


class NextBestOfferingOutputSerializer(serializers.Serializer):
    offering = serializers.SerializerMethodField()
    score = serializers.FloatField()
    reason = serializers.CharField()

    def get_offering(self, obj) -> dict:
        return {"id": obj.offering.pk, "name": obj.offering.name}


class NextBestOfferingsApi(APIView):
    """The customer's next best offerings, best first (SPEC §5)."""

    @extend_schema(
        operation_id="customers_next_best_offerings",
        responses=NextBestOfferingOutputSerializer(many=True),
    )
    def get(self, request, pk: int):
        customer = get_object_or_404(customers_visible_to(request.user), pk=pk)
        ranked = next_best.next_best_offerings(customer=customer)
        return Response(NextBestOfferingOutputSerializer(ranked, many=True).data)
