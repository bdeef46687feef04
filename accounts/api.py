"""Sign-in for scripts (SPEC §10): POST /api/auth/token/ with username and password returns a
token, sent as `Authorization: Token <key>`; DELETE revokes it (signing out)."""

from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response

from .services import token_issue, token_revoke
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
