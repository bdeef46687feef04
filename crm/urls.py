from csp.decorators import csp_update
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from accounts.forms import SignInForm
from customers import urls as customer_urls
from portal import community_views as portal_community_views
from portal import views as portal_views
from workspace import urls as workspace_urls
from workspace import views as workspace_views

from . import health, views

urlpatterns = [
    path("", views.home, name="home"),
    # The admins' landing page: the state of fits, imports, figures, the queue and the relays.
    path("overview/", views.admin_overview, name="overview"),
    path("healthz", health.healthz, name="healthz"),
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(
            redirect_authenticated_user=True, authentication_form=SignInForm
        ),
        name="login",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    # One namespace, two owners: the customer list and forms (customers) and the composed
    # portfolio and customer page (workspace).
    path(
        "customers/",
        include(
            (customer_urls.urlpatterns + workspace_urls.customer_pages, customer_urls.app_name)
        ),
    ),
    path("preferences/<str:token>/", portal_views.preference_centre, name="preference-centre"),
    # The customer's own pages, signed in by a link mailed to them (docs/portal.md).
    path("portal/", include("portal.urls")),
    # The published reviews of an offering: public, display names only (docs/portal.md).
    path(
        "offerings/<int:offering_id>/reviews/",
        portal_community_views.offering_reviews,
        name="offering-reviews",
    ),
    # Public contact forms, shown in an iframe on the firm's sites (webforms).
    path("forms/", include("webforms.urls")),
    path("interactions/", include("interactions.urls")),
    # Escalation notices (the top bar's badge): interactions'.
    path("notices/", include("interactions.notice_urls")),
    # The email channel's pages: conversations (mail/urls.py names its own paths).
    path("", include("mail.urls")),
    path("workspace/", include("workspace.urls")),
    # Search everywhere (the top bar's box): workspace's, since it composes customers and
    # interactions.
    path("search/", workspace_views.search_page, name="search"),
    path("data/", include("dataio.urls")),
    path("mail/local/", include("mail.local_urls")),
    path("admin/", admin.site.urls),
    path("api/", include("crm.api_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves Swagger UI's set-up script as a file (no inline script); the
    # React UI sets style attributes, so this one page allows them.
    path(
        "api/docs/",
        csp_update({"style-src": ["'unsafe-inline'"]})(
            SpectacularSwaggerSplitView.as_view(url_name="schema")
        ),
        name="api-docs",
    ),
]
