from django.urls import path

from . import views

app_name = "customers"
urlpatterns = [
    path("", views.customer_list, name="list"),
    path("portfolio/", views.portfolio, name="portfolio"),
    path("new/", views.customer_create, name="create"),
    path("<int:customer_id>/", views.customer_detail, name="detail"),
    path("<int:customer_id>/edit/", views.customer_edit, name="edit"),
    path(
        "<int:customer_id>/preference-link/",
        views.customer_preference_link_rotate,
        name="preference-link-rotate",
    ),
]
