from django.urls import path

from . import views

app_name = "webforms"
urlpatterns = [
    path("<slug:slug>/", views.contact_form_page, name="form"),
]
