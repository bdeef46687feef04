from django.urls import path

from . import views

app_name = "workspace"
urlpatterns = [
    path("todo/", views.todo, name="todo"),
    path("map/", views.portfolio_map, name="map"),
    path("scorecards/", views.scorecards, name="scorecards"),
    path("customers/<int:customer_id>/offer/", views.offer_make, name="offer-make"),
    path("offers/<int:interaction_id>/outcome/", views.offer_outcome, name="offer-outcome"),
]
