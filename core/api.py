"""Shared shape of the configuration endpoints (categories, partners, the fact vocabulary,
channel costs, service-level targets, users): staff read, the role holding the model's
permission writes (admins: accounts.roles), every write is one service call.

A subclass names its output and input serializers and the services; the views stay thin
(docs/architecture.md): validate, call the service, read back, answer. The write and its
reply are one transaction, so an error never follows a commit. A service refusing a delete
(the record is still referred to) answers 409 with the reason.
"""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.shortcuts import get_object_or_404
from rest_framework import serializers, status
from rest_framework.exceptions import PermissionDenied
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response


class ConflictSerializer(serializers.Serializer):
    detail = serializers.CharField(help_text="Why the record stays.")


class ConfigApi(GenericAPIView):
    """Base of a configuration list (GET, POST) or detail (GET, PATCH, DELETE) endpoint."""

    output_serializer: type[serializers.BaseSerializer]
    input_serializer: type[serializers.Serializer] | None = None
    # "app_label.codename": who may write (model permissions of the roles, accounts.roles).
    write_permission: str = ""
    write_refused = "Only admins change this configuration."
    read_permission: str = ""
    read_refused = "You may not see this configuration."

    def get_serializer_class(self):
        return self.output_serializer

    def check_permissions(self, request):
        super().check_permissions(request)
        if self.read_permission and not request.user.has_perm(self.read_permission):
            raise PermissionDenied(self.read_refused)

    def require_writer(self) -> None:
        if not self.request.user.has_perm(self.write_permission):
            raise PermissionDenied(self.write_refused)

    def valid_input(self, instance=None, *, partial=False) -> dict:
        assert self.input_serializer is not None
        serializer = self.input_serializer(
            instance, data=self.request.data, partial=partial, context=self.get_serializer_context()
        )
        serializer.is_valid(raise_exception=True)
        return dict(serializer.validated_data)

    def output(self, instance, **kwargs):
        return self.output_serializer(instance, context={"request": self.request}, **kwargs).data

    def read_back(self, instance):
        """The written record as the list reads it (annotations, related rows)."""
        return self.get_queryset().get(pk=instance.pk)


class ConfigListApi(ConfigApi):
    def get(self, request):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(self.output(page, many=True))

    def create(self, data: dict):
        raise NotImplementedError

    @transaction.atomic  # the write and its reply commit together: no 5xx after a commit
    def post(self, request):
        self.require_writer()
        instance = self.create(self.valid_input())
        return Response(self.output(self.read_back(instance)), status=status.HTTP_201_CREATED)


class ConfigDetailApi(ConfigApi):
    def get_object(self):
        return get_object_or_404(self.get_queryset(), pk=self.kwargs["pk"])

    def get(self, request, pk: int):
        return Response(self.output(self.get_object()))

    def update(self, instance, data: dict):
        raise NotImplementedError

    @transaction.atomic  # the write and its reply commit together: no 5xx after a commit
    def patch(self, request, pk: int):
        # Configuration is no secret (staff read it): refused before it is looked up.
        self.require_writer()
        instance = self.get_object()
        instance = self.update(instance, self.valid_input(instance, partial=True))
        return Response(self.output(self.read_back(instance)))


class ConfigDeleteMixin:
    """DELETE of a record the service may refuse to delete (still referred to): 409."""

    def destroy(self, instance) -> None:
        raise NotImplementedError

    @transaction.atomic
    def delete(self, request, pk: int):
        self.require_writer()  # type: ignore[attr-defined]
        instance = self.get_object()  # type: ignore[attr-defined]
        try:
            self.destroy(instance)
        except DjangoValidationError as error:
            return Response({"detail": " ".join(error.messages)}, status=status.HTTP_409_CONFLICT)
        return Response(status=status.HTTP_204_NO_CONTENT)
