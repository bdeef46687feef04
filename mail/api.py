"""The email channel's API: answering an item by email (`POST /api/interactions/{id}/reply/`).

It sits beside the interactions API (crm/api_urls.py routes it there) because interactions is
below mail in the layers. An item of another portfolio answers 404, as everywhere."""

from django.db import transaction
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import PermissionDenied
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from core.parsers import BoundedJSONParser

from . import selectors, services, tasks
from .models import Delivery, Message


class ReplyInputSerializer(serializers.Serializer):
    body = serializers.CharField(max_length=100_000, trim_whitespace=True)
    cc = serializers.ListField(
        child=serializers.CharField(max_length=254), required=False, default=list, max_length=20
    )
    attachments = serializers.ListField(
        child=serializers.FileField(), required=False, default=list, max_length=10
    )


class ReplyOutputSerializer(serializers.Serializer):
    interaction = serializers.IntegerField(help_text="The outbound interaction of the reply.")
    thread = serializers.IntegerField(help_text="The conversation's root interaction.")
    message = serializers.IntegerField(help_text="The reply's mail message.")
    message_id = serializers.CharField(help_text="Its Message-ID, without angle brackets.")
    to = serializers.ListField(child=serializers.CharField())
    delivery = serializers.ChoiceField(choices=Delivery.choices)


class InteractionReplyApi(APIView):
    parser_classes = [BoundedJSONParser, MultiPartParser]

    @extend_schema(
        operation_id="interactions_reply",
        request={
            "application/json": ReplyInputSerializer,
            "multipart/form-data": ReplyInputSerializer,
        },
        responses={201: ReplyOutputSerializer},
    )
    @transaction.atomic  # the write and its reply commit together: no 5xx after a commit
    def post(self, request, pk: int):
        """Answer the item by email: the reply is stored as an outbound interaction in the
        item's thread, records the item's first response, and is sent after the commit with
        threading headers (Message-ID, In-Reply-To, References, a Reply-To with the thread
        token). `cc` is a list of addresses; attachments come as multipart files."""
        interaction = get_object_or_404(
            selectors.interactions_visible_to(request.user).select_related("customer"), pk=pk
        )
        if not request.user.has_perm("interactions.add_interaction"):
            raise PermissionDenied("You may not answer customers.")
        serializer = ReplyInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        reply = services.mail_reply_send(
            interaction=interaction,
            body=data["body"],
            cc=data["cc"],
            attachments=data["attachments"],
            sent_by=request.user,
            send=tasks.mail_send_request,
        )
        message = Message.objects.get(interaction=reply)
        return Response(
            ReplyOutputSerializer(
                {
                    "interaction": reply.pk,
                    "thread": reply.thread_id,
                    "message": message.pk,
                    "message_id": message.message_id,
                    "to": message.to,
                    "delivery": message.delivery,
                }
            ).data,
            status=status.HTTP_201_CREATED,
        )
