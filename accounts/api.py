"""Sign-in for scripts (SPEC §10): POST /api/auth/token/ with username and password returns a
token, sent as `Authorization: Token <key>`; DELETE revokes it (signing out). And the users
API (admins only): staff users with their role."""

from django.contrib.auth import get_user_model
from django.db.models import Count
from drf_spectacular.utils import (
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
    inline_serializer,
)
from rest_framework import serializers, status
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response

from core.api import ConfigDetailApi, ConfigListApi
from core.filters import StrictBooleanFilter, StrictFilterSet

from .services import ROLE_SLUGS, role_slug, token_issue, token_revoke, user_create, user_update
from .throttles import SignInRateThrottle


class TokenApi(ObtainAuthToken):
    """DRF's ObtainAuthToken with what it leaves out: a throttle (it sets none), a token that
    expires (accounts.authentication) and a way to revoke it."""

    def get_permissions(self):
        if self.request.method == "DELETE":
            return [IsAuthenticated()]
        return [AllowAny()]

    def get_throttles(self):
        if self.request.method == "POST":
            return [SignInRateThrottle()]
        return super().get_throttles()

    @extend_schema(
        operation_id="auth_token_create",
        request=ObtainAuthToken.serializer_class,
        responses={
            200: inline_serializer("TokenOutput", {"token": serializers.CharField()}),
            400: OpenApiResponse(description="Wrong username or password, or locked out"),
            429: OpenApiResponse(description="Too many sign-in attempts from this address"),
        },
    )
    def post(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        token = token_issue(user=serializer.validated_data["user"])
        return Response({"token": token.key})

    @extend_schema(operation_id="auth_token_destroy", request=None, responses={204: None})
    def delete(self, request, *args, **kwargs):
        token_revoke(user_id=request.user.pk, reason="signed out")
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- Users and their roles (admins only) -----------------------------------------------------

ROLE_CHOICES = sorted(ROLE_SLUGS)


class UserOutputSerializer(serializers.ModelSerializer):
    role = serializers.SerializerMethodField()
    # A user may have no address: "" is not an email, so no `format: email` in the schema.
    email = serializers.CharField(read_only=True)
    portfolio_size = serializers.IntegerField(
        read_only=True, help_text="How many customers they own."
    )

    class Meta:
        model = get_user_model()
        fields = [
            "id",
            "username",
            "email",
            "first_name",
            "last_name",
            "role",
            "is_active",
            "last_login",
            "date_joined",
            "portfolio_size",
        ]
        read_only_fields = fields

    @extend_schema_field(
        serializers.ChoiceField(choices=ROLE_CHOICES, allow_null=True)  # type: ignore[arg-type]
    )
    def get_role(self, user) -> str | None:
        return role_slug(user)


class UserInputSerializer(serializers.ModelSerializer):
    role = serializers.ChoiceField(
        choices=ROLE_CHOICES,
        allow_null=True,
        help_text="admin, manager (owns a portfolio) or support; null: no role.",
    )
    password = serializers.CharField(
        write_only=True,
        required=False,
        max_length=128,
        trim_whitespace=False,
        style={"input_type": "password"},
        help_text="Left out: they cannot sign in until one is set. A new one revokes their "
        "API tokens.",
    )

    class Meta:
        model = get_user_model()
        fields = ["username", "email", "first_name", "last_name", "role", "password", "is_active"]


class UserFilter(StrictFilterSet):
    is_active = StrictBooleanFilter()

    class Meta:
        model = get_user_model()
        fields = ["is_active"]


def users_for_api():
    return (
        get_user_model()
        .objects.prefetch_related("groups")
        .annotate(portfolio_size=Count("portfolio"))
        .order_by("username", "id")
    )


@extend_schema_view(
    get=extend_schema(operation_id="users_list", responses=UserOutputSerializer(many=True)),
    post=extend_schema(request=UserInputSerializer, responses={201: UserOutputSerializer}),
)
class UserListApi(ConfigListApi):
    """Staff users and their roles (admins only). Portfolios are handed over with
    `POST /api/customers/reassign/`."""

    output_serializer = UserOutputSerializer
    input_serializer = UserInputSerializer
    read_permission = write_permission = "auth.change_user"
    read_refused = write_refused = "Only admins manage users."
    filterset_class = UserFilter

    def get_queryset(self):
        return users_for_api()

    def create(self, data):
        return user_create(**data)


@extend_schema_view(
    patch=extend_schema(request=UserInputSerializer, responses=UserOutputSerializer),
)
class UserDetailApi(ConfigDetailApi):
    """Change a user; `{"is_active": false}` deactivates them (never deleted: their
    interactions name them) and revokes their API tokens, as a new password does."""

    output_serializer = UserOutputSerializer
    input_serializer = UserInputSerializer
    read_permission = write_permission = "auth.change_user"
    read_refused = write_refused = "Only admins manage users."

    def get_queryset(self):
        return users_for_api()

    def update(self, instance, data):
        return user_update(user=instance, data=data, by=self.request.user)
