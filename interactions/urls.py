from django.urls import path

from . import views

app_name = "interactions"
urlpatterns = [
    path("log/<int:customer_id>/", views.interaction_log, name="log"),
]
