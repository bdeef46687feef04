from django.urls import path

from . import views

app_name = "customers"
# The list and the forms. The portfolio and the customer page compose several apps: they are
# workspace's (workspace.urls.customer_pages), mounted in this namespace by crm/urls.py.
urlpatterns = [
    path("", views.customer_list, name="list"),
    path("new/", views.customer_create, name="create"),
    path("<int:customer_id>/edit/", views.customer_edit, name="edit"),
    path("<int:customer_id>/emails/", views.customer_emails, name="emails"),
    path("<int:customer_id>/merge/", views.customer_merge, name="merge"),
    path("<int:customer_id>/emails/remove/", views.customer_email_remove, name="email-remove"),
    path(
        "<int:customer_id>/preference-link/",
        views.customer_preference_link_rotate,
        name="preference-link-rotate",
    ),
]
