from django.urls import path

from . import views

app_name = "interactions"
urlpatterns = [
    path("", views.interaction_search, name="search"),
    path("queue/", views.support_queue, name="queue"),
    path("queue/availability/", views.staff_availability, name="availability"),
    path("service-levels/", views.service_level_report, name="service-levels"),
    path("assignment/", views.support_assignment, name="assignment"),
    path("log/<int:customer_id>/", views.interaction_log, name="log"),
    path("rate/<int:customer_id>/", views.offering_rate, name="rate"),
    path("<int:interaction_id>/resolve/", views.interaction_resolve, name="resolve"),
    path("<int:interaction_id>/take/", views.interaction_take, name="take"),
    path("<int:interaction_id>/wait/", views.interaction_wait, name="wait"),
]
