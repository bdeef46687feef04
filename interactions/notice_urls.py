"""/notices/: each staff member's escalation notices (top-level, like the top bar's badge)."""

from django.urls import path

from . import views

app_name = "notices"
urlpatterns = [
    path("", views.notice_list, name="list"),
    path("<int:notice_id>/read/", views.notice_read, name="read"),
    path("email/", views.notice_emails, name="email"),
]
