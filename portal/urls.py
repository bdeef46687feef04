from django.urls import path

from . import account_views as views
from . import community_views, ideas_views, request_views, review_answers

app_name = "portal"

urlpatterns = [
    path("", views.home, name="home"),
    path("sign-in/", views.sign_in, name="sign-in"),
    path("sign-in/<str:token>/", views.sign_in_confirm, name="sign-in-confirm"),
    path("sign-out/", views.sign_out, name="sign-out"),
    path("preferences/", views.preferences, name="preferences"),
    path(
        "subscriptions/<int:subscription_id>/pause/",
        views.subscription_pause,
        name="subscription-pause",
    ),
    path(
        "subscriptions/<int:subscription_id>/resume/",
        views.subscription_resume,
        name="subscription-resume",
    ),
    path(
        "subscriptions/<int:subscription_id>/skip/",
        views.subscription_skip,
        name="subscription-skip",
    ),
    path(
        "subscriptions/<int:subscription_id>/interval/",
        views.subscription_interval,
        name="subscription-interval",
    ),
    path("requests/", request_views.request_list, name="requests"),
    path("requests/<int:root_id>/", request_views.request_detail, name="request-detail"),
    path("requests/<int:root_id>/reply/", request_views.request_reply, name="request-reply"),
    path(
        "reviews/<int:review_id>/answer/",
        review_answers.review_answer_page,
        name="review-answer-page",
    ),
    path("display-name/", community_views.display_name, name="display-name"),
    path("offerings/<int:offering_id>/review/", community_views.review_post, name="review-post"),
    path("reviews/<int:review_id>/report/", community_views.review_report, name="review-report"),
    path("moderation/", community_views.moderation, name="moderation"),
    path(
        "moderation/<int:review_id>/approve/",
        community_views.review_approve,
        name="review-approve",
    ),
    path("moderation/<int:review_id>/hide/", community_views.review_hide, name="review-hide"),
    path(
        "moderation/<int:review_id>/answer/",
        community_views.review_answer,
        name="review-answer",
    ),
    # Tips and the ideas board (portal/ideas_views.py).
    path("offerings/<int:offering_id>/tip/", ideas_views.tip_post, name="tip-post"),
    path("tips/<int:tip_id>/report/", ideas_views.tip_report, name="tip-report"),
    path("ideas/", ideas_views.board, name="ideas"),
    path("ideas/post/", ideas_views.idea_post, name="idea-post"),
    path("ideas/<int:idea_id>/vote/", ideas_views.idea_vote, name="idea-vote"),
    path("ideas/<int:idea_id>/unvote/", ideas_views.idea_unvote, name="idea-unvote"),
    path("ideas/<int:idea_id>/report/", ideas_views.idea_report, name="idea-report"),
    path("ideas/manage/", ideas_views.manage, name="ideas-manage"),
    path("ideas/manage/<int:idea_id>/answer/", ideas_views.idea_answer, name="idea-answer"),
    path("moderation/tips/<int:tip_id>/approve/", ideas_views.tip_approve, name="tip-approve"),
    path("moderation/tips/<int:tip_id>/hide/", ideas_views.tip_hide, name="tip-hide"),
    path("moderation/tips/<int:tip_id>/answer/", ideas_views.tip_answer, name="tip-answer"),
    path(
        "moderation/ideas/<int:idea_id>/approve/",
        ideas_views.idea_approve,
        name="idea-approve",
    ),
    path("moderation/ideas/<int:idea_id>/hide/", ideas_views.idea_hide, name="idea-hide"),
]
