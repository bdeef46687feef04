from django.urls import path

from . import views

app_name = "dataio"
urlpatterns = [
    path("", views.home, name="home"),
    path("imports/", views.import_upload, name="upload"),
    path("imports/<int:job_id>/", views.job_detail, name="job"),
    path("imports/<int:job_id>/progress/", views.job_progress, name="job-progress"),
    path("imports/<int:job_id>/status.json", views.job_status, name="job-status"),
    path("imports/<int:job_id>/report.csv", views.job_report, name="job-report"),
    path("export/customers.csv", views.customers_export, name="customers-csv"),
    path(
        "customers/<int:customer_id>/export.json",
        views.customer_privacy_export,
        name="customer-export",
    ),
    path("customers/<int:customer_id>/erase/", views.customer_erase, name="customer-erase"),
]
