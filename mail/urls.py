from django.urls import path

from . import views

app_name = "mail"
urlpatterns = [
    path("conversations/<int:root_id>/", views.conversation, name="conversation"),
    path("conversations/<int:root_id>/reply/", views.conversation_reply, name="reply"),
    path("conversations/<int:root_id>/triage-clear/", views.triage_clear, name="triage-clear"),
    path(
        "conversations/messages/<int:message_id>/send-again/",
        views.message_send_again,
        name="send-again",
    ),
    path(
        "conversations/messages/<int:message_id>/add-address/",
        views.sender_address_add,
        name="address-add",
    ),
    path(
        "conversations/attachments/<int:attachment_id>/",
        views.attachment_download,
        name="attachment",
    ),
]
