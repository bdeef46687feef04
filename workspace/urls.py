from django.urls import path

from . import views

app_name = "workspace"
urlpatterns = [
    path("todo/", views.todo, name="todo"),
    path("todo/<int:interaction_id>/done/", views.todo_done, name="todo-done"),
    path("todo/<int:interaction_id>/reopen/", views.todo_reopen, name="todo-reopen"),
    path("todo/<int:interaction_id>/snooze/", views.todo_snooze, name="todo-snooze"),
    path("todo/<int:interaction_id>/reassign/", views.todo_reassign, name="todo-reassign"),
    path("map/", views.portfolio_map, name="map"),
    path("scorecards/", views.manager_scorecards, name="scorecards"),
    path("models/", views.model_check, name="models"),
    path("new-senders/", views.triage_page, name="triage"),
    path("new-senders/<int:customer_id>/checked/", views.triage_clear, name="triage-clear"),
    path("customers/<int:customer_id>/offer/", views.offer_make, name="offer-make"),
    path("offers/<int:interaction_id>/outcome/", views.offer_outcome, name="offer-outcome"),
]

# The composed customer pages keep their addresses and names under /customers/ and the
# `customers:` namespace: crm/urls.py mounts them there beside customers.urls (the project
# wiring sits above both apps, so neither imports the other).
customer_pages = [
    path("portfolio/", views.portfolio, name="portfolio"),
    path("<int:customer_id>/", views.customer_page, name="detail"),
    path("<int:customer_id>/card/", views.customer_card, name="card"),
]
