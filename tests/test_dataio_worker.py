"""An import uploaded in the admin page returns at once and runs in a real worker process,
whose progress the page's status endpoint reports until 100 %."""

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile

from crm.celery import app
from dataio.models import ImportJob
from interactions.models import Interaction
from valuation.models import ModelFit

from .worker import celery_worker, wait_for, worker_database_url

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

ROWS = 12_000


def transaction_log() -> bytes:
    body = "".join(
        f"W-{n % 500},2025-{1 + n % 12:02d}-{1 + n % 28:02d},{n % 90 + 5}\n" for n in range(ROWS)
    )
    return ("customer_ref,date,amount\n" + body).encode()


def test_it_imports_an_uploaded_file_in_the_worker_and_reports_progress_to_100(client, ada):
    app.control.purge()
    client.force_login(get_user_model().objects.get(username="ada"))

    upload = SimpleUploadedFile("log.csv", transaction_log(), content_type="text/csv")
    response = client.post("/data/imports/", {"kind": "transactions", "file": upload})

    job = ImportJob.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/data/imports/{job.pk}/"
    assert job.status == "queued"  # the upload returned before any row was read
    assert not Interaction.objects.exists()

    seen: list[int] = []

    def finished():
        status = client.get(f"/data/imports/{job.pk}/status.json").json()
        seen.append(status["percent"])
        return status if status["finished"] else None

    with celery_worker(env={"DATABASE_URL": worker_database_url()}):
        status = wait_for(finished, timeout=180, interval=0.2)

    assert (status["status"], status["percent"]) == ("done", 100)
    assert (status["total_rows"], status["created_rows"], status["customers_created"]) == (
        ROWS,
        ROWS - status["duplicate_rows"],
        500,
    )
    assert seen == sorted(seen)  # progress never goes backwards
    assert Interaction.objects.count() == status["created_rows"]
    assert ModelFit.objects.filter(status="done").count() == 1
    report = client.get(f"/data/imports/{job.pk}/report.csv")
    assert b"".join(report.streaming_content).decode().splitlines()[0] == (
        '"line","outcome","field","reason"'
    )
