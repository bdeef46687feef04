"""An admin uploads a transaction log in the browser; a real worker imports it while the
page's progress bar fills, then shows the report of the rows it did not import."""

import pytest
from playwright.sync_api import expect

from crm.celery import app
from dataio.models import ImportJob

from .browser import shot, sign_in
from .worker import celery_worker, worker_database_url

pytestmark = [pytest.mark.browser, pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_an_admin_uploads_a_log_and_watches_the_progress_bar_complete(page, ada, tmp_path):
    rows = "".join(
        f"P-{n % 40},2025-{1 + n % 12:02d}-{1 + n % 28:02d},{5 + n / 100:.2f}\n"
        for n in range(8000)
    )
    log = tmp_path / "orders.csv"
    log.write_text("customer_ref,date,amount\n" + rows + "P-1,not a date,5\nP-2,2025-01-01,-3\n")
    app.control.purge()

    sign_in(page, "ada")
    page.get_by_role("link", name="Import & export").click()
    page.get_by_label("What the file holds").select_option("transactions")
    page.get_by_label("File", exact=False).and_(page.locator("input[type=file]")).set_input_files(
        str(log)
    )
    shot(page, "dataio-upload")
    page.get_by_role("button", name="Upload and import").click()

    job = ImportJob.objects.get()
    expect(page.locator("#import-progress")).to_have_attribute("data-status", "queued")
    with celery_worker(env={"DATABASE_URL": worker_database_url()}):
        expect(page.locator("#import-progress")).to_have_attribute(
            "data-status", "done", timeout=120_000
        )

    progress = page.locator("#import-progress progress")
    expect(progress).to_have_attribute("value", "100")
    expect(page.locator("#import-progress .percent")).to_have_text("100 %")
    report = page.locator("table.report tbody tr")
    expect(report).to_have_count(2)
    expect(report.nth(0)).to_contain_text("8002")
    expect(report.nth(0)).to_contain_text("bad date: expected YYYY-MM-DD")
    expect(report.nth(1)).to_contain_text("8003")
    expect(report.nth(1)).to_contain_text("negative amount")
    shot(page, "dataio-import-done")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download the report (CSV)").click()
    assert download.value.suggested_filename == f"import-{job.pk}-report.csv"
    assert download.value.path().read_text().splitlines() == [
        '"line","outcome","field","reason"',
        '8002,"error","date","bad date: expected YYYY-MM-DD"',
        '8003,"error","amount","negative amount"',
    ]
