from django.urls import path

from accounts import api as accounts_api
from customers import api as customers_api
from dataio import api as dataio_api
from interactions import api as interactions_api
from mail import endpoints as mail_endpoints
from offerings import api as offerings_api
from valuation import api as valuation_api
from workspace import api as workspace_api

urlpatterns = [
    path("auth/token/", accounts_api.TokenApi.as_view(), name="api-token"),
    path("customers/", valuation_api.CustomerListApi.as_view(), name="api-customers"),
    path("customers/batch/", customers_api.CustomerBatchApi.as_view(), name="api-customers-batch"),
    path(
        "customers/export/",
        dataio_api.CustomersExportApi.as_view(),
        name="api-customers-export",
    ),
    path("customers/<int:pk>/", valuation_api.CustomerDetailApi.as_view(), name="api-customer"),
    path(
        "customers/<int:pk>/export/",
        dataio_api.CustomerPrivacyExportApi.as_view(),
        name="api-customer-export",
    ),
    path(
        "customers/<int:pk>/erase/",
        dataio_api.CustomerEraseApi.as_view(),
        name="api-customer-erase",
    ),
    path("imports/", dataio_api.ImportListApi.as_view(), name="api-imports"),
    path("imports/<int:pk>/", dataio_api.ImportDetailApi.as_view(), name="api-import"),
    path(
        "customers/<int:pk>/timeline/",
        interactions_api.CustomerTimelineApi.as_view(),
        name="api-customer-timeline",
    ),
    path("interactions/", interactions_api.InteractionListApi.as_view(), name="api-interactions"),
    path(
        "interactions/batch/",
        interactions_api.InteractionBatchApi.as_view(),
        name="api-interactions-batch",
    ),
    path(
        "interactions/<int:pk>/",
        interactions_api.InteractionDetailApi.as_view(),
        name="api-interaction",
    ),
    path("valuation/fits/", valuation_api.FitListApi.as_view(), name="api-valuation-fits"),
    path(
        "customers/<int:pk>/facts/",
        customers_api.CustomerFactsApi.as_view(),
        name="api-customer-facts",
    ),
    path(
        "customers/<int:pk>/figures-history/",
        valuation_api.CustomerFiguresHistoryApi.as_view(),
        name="api-customer-figures-history",
    ),
    path(
        "customers/<int:pk>/next-best-offerings/",
        workspace_api.NextBestOfferingsApi.as_view(),
        name="api-customer-next-best-offerings",
    ),
    path("mail/inbound/", mail_endpoints.mail_inbound, name="api-mail-inbound"),
    path("offerings/", offerings_api.OfferingListApi.as_view(), name="api-offerings"),
    path("offerings/<int:pk>/", offerings_api.OfferingDetailApi.as_view(), name="api-offering"),
]
