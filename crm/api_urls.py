from django.urls import path

from accounts import api as accounts_api
from customers import api as customers_api
from dataio import api as dataio_api
from interactions import api as interactions_api
from mail import api as mail_api
from mail import endpoints as mail_endpoints
from offerings import api as offerings_api
from replenishment import api as replenishment_api
from valuation import api as valuation_api
from webhooks import api as webhooks_api
from workspace import api as workspace_api

urlpatterns = [
    path("auth/token/", accounts_api.TokenApi.as_view(), name="api-token"),
    path("customers/", valuation_api.CustomerListApi.as_view(), name="api-customers"),
    path("customers/batch/", customers_api.CustomerBatchApi.as_view(), name="api-customers-batch"),
    path(
        "customers/lookalikes/",
        customers_api.CustomerLookalikesApi.as_view(),
        name="api-customers-lookalikes",
    ),
    path(
        "customers/export/",
        dataio_api.CustomersExportApi.as_view(),
        name="api-customers-export",
    ),
    path(
        "customers/reassign/",
        customers_api.CustomersReassignApi.as_view(),
        name="api-customers-reassign",
    ),
    path("customers/<int:pk>/", valuation_api.CustomerDetailApi.as_view(), name="api-customer"),
    path(
        "customers/<int:pk>/merge/",
        customers_api.CustomerMergeApi.as_view(),
        name="api-customer-merge",
    ),
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
    path(
        "interactions/<int:pk>/reply/",
        mail_api.InteractionReplyApi.as_view(),
        name="api-interaction-reply",
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
    # The rest of the model (issue 17): the catalog's vocabulary, subscriptions, the fact
    # vocabulary, channel costs, service-level targets and users.
    path("categories/", offerings_api.CategoryListApi.as_view(), name="api-categories"),
    path("categories/<int:pk>/", offerings_api.CategoryDetailApi.as_view(), name="api-category"),
    path("partners/", offerings_api.PartnerListApi.as_view(), name="api-partners"),
    path("partners/<int:pk>/", offerings_api.PartnerDetailApi.as_view(), name="api-partner"),
    path(
        "subscriptions/",
        replenishment_api.SubscriptionListApi.as_view(),
        name="api-subscriptions",
    ),
    path(
        "subscriptions/<int:pk>/",
        replenishment_api.SubscriptionDetailApi.as_view(),
        name="api-subscription",
    ),
    path(
        "subscriptions/<int:pk>/pause/",
        replenishment_api.SubscriptionPauseApi.as_view(),
        name="api-subscription-pause",
    ),
    path(
        "subscriptions/<int:pk>/resume/",
        replenishment_api.SubscriptionResumeApi.as_view(),
        name="api-subscription-resume",
    ),
    path(
        "subscriptions/<int:pk>/skip/",
        replenishment_api.SubscriptionSkipApi.as_view(),
        name="api-subscription-skip",
    ),
    path(
        "subscriptions/<int:pk>/interval/",
        replenishment_api.SubscriptionIntervalApi.as_view(),
        name="api-subscription-interval",
    ),
    path(
        "subscriptions/<int:pk>/cancel/",
        replenishment_api.SubscriptionCancelApi.as_view(),
        name="api-subscription-cancel",
    ),
    path("fact-keys/", customers_api.FactKeyListApi.as_view(), name="api-fact-keys"),
    path("fact-keys/<int:pk>/", customers_api.FactKeyDetailApi.as_view(), name="api-fact-key"),
    path(
        "channel-costs/",
        interactions_api.ChannelCostListApi.as_view(),
        name="api-channel-costs",
    ),
    path(
        "channel-costs/<int:pk>/",
        interactions_api.ChannelCostDetailApi.as_view(),
        name="api-channel-cost",
    ),
    path(
        "service-level-targets/",
        interactions_api.ServiceLevelTargetListApi.as_view(),
        name="api-service-level-targets",
    ),
    path(
        "service-level-targets/<int:pk>/",
        interactions_api.ServiceLevelTargetDetailApi.as_view(),
        name="api-service-level-target",
    ),
    path(
        "business-calendars/",
        interactions_api.BusinessCalendarListApi.as_view(),
        name="api-business-calendars",
    ),
    path(
        "business-calendars/<int:pk>/",
        interactions_api.BusinessCalendarDetailApi.as_view(),
        name="api-business-calendar",
    ),
    path(
        "support-assignment/",
        interactions_api.SupportAssignmentApi.as_view(),
        name="api-support-assignment",
    ),
    path("users/", accounts_api.UserListApi.as_view(), name="api-users"),
    path("users/<int:pk>/", accounts_api.UserDetailApi.as_view(), name="api-user"),
    path("webhooks/", webhooks_api.EndpointListApi.as_view(), name="api-webhooks"),
    path("webhooks/<int:pk>/", webhooks_api.EndpointDetailApi.as_view(), name="api-webhook"),
    path(
        "webhooks/<int:pk>/deliveries/",
        webhooks_api.EndpointDeliveriesApi.as_view(),
        name="api-webhook-deliveries",
    ),
    path(
        "webhooks/<int:pk>/deliveries/<int:delivery_id>/resend/",
        webhooks_api.DeliveryResendApi.as_view(),
        name="api-webhook-delivery-resend",
    ),
]
