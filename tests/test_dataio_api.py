"""Imports through the API, and the erasure record in the Django admin."""

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from dataio.models import ErasureRecord, ImportJob
from dataio.privacy import customer_erase
from dataio.services import import_job_run

from .factories import CustomerFactory

pytestmark = pytest.mark.django_db


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def upload() -> SimpleUploadedFile:
    return SimpleUploadedFile("log.csv", b"customer_ref,date,amount\nA-1,2025-05-01,12.50\n")


def test_an_admin_starts_an_import_through_the_api_and_reads_its_status(ada):
    response = api(ada).post("/api/imports/", {"kind": "transactions", "file": upload()})

    assert response.status_code == 202
    assert (response.json()["status"], response.json()["percent"]) == ("queued", 0)
    job_id = response.json()["id"]
    import_job_run(job_id=job_id)  # what the worker does with the task
    status = api(ada).get(f"/api/imports/{job_id}/").json()
    assert (status["status"], status["percent"], status["created_rows"]) == ("done", 100, 1)


def test_it_names_the_field_of_a_bad_import_request(ada):
    response = api(ada).post("/api/imports/", {"kind": "spreadsheet", "file": upload()})

    assert response.status_code == 400
    assert list(response.json()) == ["kind"]
    assert not ImportJob.objects.exists()


@pytest.mark.parametrize("who", ["alice", "charlie"])
def test_only_admins_import(who, request):
    user = request.getfixturevalue(who)

    response = api(user).post("/api/imports/", {"kind": "transactions", "file": upload()})

    assert response.status_code == 403
    assert not ImportJob.objects.exists()


def test_the_erasure_is_listed_in_the_admin_without_personal_data(client, ada):
    customer = CustomerFactory(name="Yorick Vandersloot")
    customer_erase(customer_id=customer.pk, by=ada, reason="request by e-mail")
    client.force_login(get_user_model().objects.get(username="ada"))

    page = client.get("/admin/dataio/erasurerecord/").content.decode()

    assert ErasureRecord.objects.get().customer_id == customer.pk
    assert "request by e-mail" in page
    assert "Vandersloot" not in page
