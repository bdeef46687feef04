from django.urls import path

from . import local_views

app_name = "mail-local"
urlpatterns = [
    path("", local_views.local_mailbox, name="list"),
    path("write/", local_views.local_answer, name="write"),
    path("<str:key>/answer/", local_views.local_answer, name="answer"),
]
