"""Issue 14, items 3 and 7: every CSV the application writes is safe to open in a spreadsheet,
and an import never ends half-applied, silently stale or "running" for good."""

import csv
import io
import os
import re
import signal
import subprocess
import sys
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from customers.models import Customer
from dataio import tasks as dataio_tasks
from dataio.models import ImportJob, ImportKind, ImportStatus, RowOutcome
from dataio.services import import_job_create, import_job_run
from interactions.models import Interaction, OrderLine
from valuation.models import CustomerFigures
from valuation.selectors import customers_with_stale_figures

from ..factories import CustomerFactory
from ..worker import worker_database_url

ROOT = Path(__file__).resolve().parents[2]

# Cells as an attacker would enter them (OWASP "CSV Injection"), one per formula start.
FORMULAS = [
    '=HYPERLINK("http://x","y")',
    "+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
    "  =1+1",
]
# A separator inside a cell must not start a new cell whose first character is a formula.
SEPARATED = ["Anna,=1+1", "Anna;=1+1", 'Anna";=1+1', "Anna\t=1+1"]
# What each becomes in the file: still readable, never a formula.
AS_TEXT = {
    '=HYPERLINK("http://x","y")': '\'=HYPERLINK("http://x","y")',
    "+cmd|' /C calc'!A0": "'+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0": "'-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0": "'@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1": "'\t'=1+1",
    "\r=1+1": "'\r'=1+1",
    "  =1+1": "'  =1+1",
    "Anna,=1+1": "Anna,'=1+1",
    "Anna;=1+1": "Anna;'=1+1",
    'Anna";=1+1': "Anna\";'=1+1",
    "Anna\t=1+1": "Anna\t'=1+1",
    "-12.50": "'-12.50",
}
TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?")


def cells_as_a_spreadsheet_reads_them(text: str) -> list[list[str]]:
    """The cells as read with the file's own separator, and as a spreadsheet whose locale
    splits on `;` or tab reads them: there quotes protect only the first cell of a line, so
    every physical line and every separator starts a cell."""
    cells = list(csv.reader(io.StringIO(text, newline="")))
    for delimiter in (";", "\t"):
        cells += [line.split(delimiter) for line in text.splitlines()]
    return cells


def assert_no_formula(text: str) -> None:
    """No cell starts a formula; a plain number (-12.50) is a number, not a formula."""
    for row in cells_as_a_spreadsheet_reads_them(text):
        for cell in row:
            if NUMBER.fullmatch(cell):
                continue
            assert not cell.lstrip(' \n"').startswith(TRIGGERS), (cell, text)


def csv_text(response) -> str:
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv"
    return b"".join(response.streaming_content).decode()


# --- Item 3: CSV formula injection -----------------------------------------------------------


@pytest.fixture
def hostile_customers(alice, bob):
    """Customers of alice's and bob's portfolios whose text fields hold formulas, and whose
    money figures are negative numbers that must stay numbers."""
    names = FORMULAS + SEPARATED + ["-12.50"]
    made = []
    for index, name in enumerate(names):
        customer = CustomerFactory(
            name=name,
            email=f"c{index}@example.net",
            phone="+41 44 000 00 00",
            external_ref=f"@ref-{index}",
            owner=alice if index % 2 == 0 else bob,
        )
        made.append(customer)
    CustomerFigures.objects.update(
        growth_potential=Decimal("-12.50"), predicted_clv=Decimal("-0.75")
    )
    return made


def export_of(who: str, way: str, request) -> str:
    user = request.getfixturevalue(who)
    if way == "page":
        from django.test import Client

        client = Client()
        client.force_login(user)
        return csv_text(client.get("/data/export/customers.csv"))
    client = APIClient()
    client.force_authenticate(user)
    return csv_text(client.get("/api/customers/export/"))


@pytest.mark.django_db
@pytest.mark.parametrize("way", ["page", "api"])
@pytest.mark.parametrize("who", ["alice", "bob", "charlie", "ada"])
def test_it_writes_no_formula_in_the_customer_export_for_any_role(
    hostile_customers, who, way, request
):
    # Given customers whose names, references and phones start like formulas
    # When each role that may export downloads the customers, from the page and the API
    text = export_of(who, way, request)

    # Then no cell, however the spreadsheet splits the line, starts a formula
    assert_no_formula(text)
    rows = list(csv.DictReader(io.StringIO(text)))
    mine = {
        "alice": hostile_customers[0::2],
        "bob": hostile_customers[1::2],
    }.get(who, hostile_customers)
    assert sorted(r["name"] for r in rows) == sorted(AS_TEXT[c.name] for c in mine)
    assert {r["phone"] for r in rows} == {"'+41 44 000 00 00"}
    assert all(r["external_ref"].startswith("'@ref-") for r in rows)
    # and the numbers of money columns stay numbers, negative ones included, unquoted
    if who == "charlie":
        assert "growth_potential" not in rows[0]
    else:
        assert {(r["growth_potential"], r["predicted_clv"]) for r in rows} == {("-12.50", "-0.75")}
        assert text.count(',-0.75,-12.50,""') == len(rows)


@pytest.mark.django_db
def test_it_keeps_a_negative_looking_name_text_but_a_negative_figure_a_number(alice):
    CustomerFactory(name="-12.50", owner=alice)
    CustomerFigures.objects.update(growth_potential=Decimal("-12.50"))
    client = APIClient()
    client.force_authenticate(alice)

    text = csv_text(client.get("/api/customers/export/"))

    row = next(csv.DictReader(io.StringIO(text)))
    assert (row["name"], row["growth_potential"]) == ("'-12.50", "-12.50")


HOSTILE_HEADER = b'external_ref,name,"=HYPERLINK(""http://x"",""y"")"\nK-1,Anna\n'


@pytest.mark.django_db
def test_it_writes_no_formula_in_the_import_report_on_the_page_or_from_the_command(ada, tmp_path):
    # Given an import whose header names a column as a formula (the report echoes it)
    job = import_job_run(
        job_id=import_job_create(kind=ImportKind.CUSTOMERS, content=HOSTILE_HEADER).pk
    )
    assert job.status == ImportStatus.FAILED
    from django.test import Client

    client = Client()
    client.force_login(ada)

    # When the admin downloads the report, and the command writes it
    page = csv_text(client.get(f"/data/imports/{job.pk}/report.csv"))
    path = tmp_path / "customers.csv"
    path.write_bytes(HOSTILE_HEADER)
    report = tmp_path / "report.csv"
    with pytest.raises(Exception, match="unknown column"):
        call_command("import_customers", str(path), "--report", str(report), "--quiet")

    # Then neither holds a formula, and the header name is still readable
    for text in (page, report.read_text()):
        assert_no_formula(text)
        rows = list(csv.reader(io.StringIO(text)))
        assert rows[1][:3] == ["1", "error", '\'=hyperlink("http://x","y")']


# --- Item 7: a half-applied import -------------------------------------------------------------


def customers_file(good_before: int, bad: str, good_after: int) -> bytes:
    rows = [f"K-{n},Customer {n},{n % 900 + 100}" for n in range(1, good_before + 1)]
    rows.append(f"K-BAD,Bad wallet,{bad}")
    rows += [
        f"K-{n},Customer {n},100" for n in range(good_before + 1, good_before + good_after + 1)
    ]
    return ("external_ref,name,wallet_annual\n" + "\n".join(rows) + "\n").encode()


def problems(job: ImportJob) -> list[tuple]:
    """The rows not applied (not the new customers named as look-alikes: "Customer 12" looks
    like "Customer 123" by the same rule as on create)."""
    applied = job.problems.exclude(outcome=RowOutcome.LOOKALIKE)
    return list(applied.values_list("line", "outcome", "field"))


def run(kind: str, content: bytes) -> ImportJob:
    return import_job_run(job_id=import_job_create(kind=kind, content=content).pk)


@pytest.mark.django_db
def test_it_reports_a_wallet_out_of_range_on_its_line_and_lands_every_good_row_with_figures():
    # Given 6,000 good customers, one with a wallet of 1e30, then 10 more
    job = run(ImportKind.CUSTOMERS, customers_file(6000, "1e30", 10))

    # Then the job is done, the bad row is reported on its line, every good row landed
    assert job.status == ImportStatus.DONE
    assert problems(job) == [(6002, "error", "wallet_annual")]
    assert (job.total_rows, job.created_rows, job.error_rows) == (6011, 6010, 1)
    assert Customer.objects.count() == 6010
    # and the figures know them all: computed, none left stale
    assert not Customer.objects.filter(figures__computed_at__isnull=True).exists()
    assert not [c.pk for c in Customer.objects.all() if c.figures.stale]


GOOD_LOG = b"customer_ref,date,amount,margin\nT-1,2026-01-05,100.00,40\n"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("row", "field"),
    [
        (b"T-2,2026-01-05,1e30,", "amount"),
        (b"T-2,2026-01-05,-1e30,", "amount"),
        (b"T-2,2026-01-05,1e400,", "amount"),
        (b"T-2,2026-01-05,1e999999999,", "amount"),
        (b"T-2,2026-01-05,NaN,", "amount"),
        (b"T-2,2026-01-05,-Infinity,", "amount"),
        (b"T-2,2026-01-05,100,1e30", "margin"),
        (b"T-2,2026-01-05,100,-1e30", "margin"),
        (b"T-2,2026-01-05,100,-99999999999", "margin"),
        (b"T-2,2026-01-05,100,sNaN", "margin"),
        (b"T-2,99991231,100,", "date"),
    ],
)
def test_it_reports_a_number_out_of_range_in_a_transaction_log_on_its_line(row, field):
    # Given a log whose second row holds a number no column can hold
    job = run(ImportKind.TRANSACTIONS, GOOD_LOG + row + b"\nT-3,2026-01-06,5,\n")

    # Then that row is an error naming its column, the others land
    assert job.status == ImportStatus.DONE
    assert problems(job) == [(3, "error", field)]
    assert sorted(Customer.objects.values_list("external_ref", flat=True)) == ["T-1", "T-3"]
    assert Interaction.objects.count() == OrderLine.objects.count() == 2


@pytest.mark.django_db
def test_it_makes_every_bound_of_a_model_field_a_row_error_of_its_column(monkeypatch):
    # Given bounds on the fields an import fills (as the date windows are added to the models)
    from django.core.validators import MaxValueValidator, MinValueValidator

    from interactions.models import Interaction as InteractionModel

    def bound(model, name, validator):
        field = model._meta.get_field(name)
        monkeypatch.setattr(field, "validators", [*field.validators, validator])

    floor = timezone.make_aware(timezone.datetime(1990, 1, 1))
    bound(InteractionModel, "occurred_at", MinValueValidator(floor))
    bound(OrderLine, "unit_price", MaxValueValidator(Decimal("1000")))
    bound(Customer, "wallet_annual", MaxValueValidator(Decimal("1000000")))
    bound(Customer, "acquired_on", MinValueValidator(timezone.datetime(1995, 1, 1).date()))

    # When files cross them
    log = run(
        ImportKind.TRANSACTIONS,
        b"customer_ref,date,amount\nT-1,1989-12-31,5\nT-2,2026-01-05,1000.01\nT-3,2026-01-05,9\n"
        b"T-4,1994-06-01,5\n",
    )
    people = run(ImportKind.CUSTOMERS, b"external_ref,name,wallet_annual\nK-1,A,1000001\nK-2,B,5\n")

    # Then each crossing is an error of its row and column, the rest lands
    assert problems(log) == [(2, "error", "date"), (3, "error", "amount"), (5, "error", "date")]
    assert problems(people) == [(2, "error", "wallet_annual")]
    assert sorted(Customer.objects.values_list("external_ref", flat=True)) == ["K-2", "T-3"]


REFUSE_ROW = """
CREATE OR REPLACE FUNCTION review_refuse_row() RETURNS trigger AS $$
BEGIN
    IF NEW.external_ref = 'K-6001' THEN
        {action};
    END IF;
    RETURN NEW;
END $$ LANGUAGE plpgsql;
CREATE TRIGGER review_refuse BEFORE INSERT ON customers_customer
    FOR EACH ROW EXECUTE FUNCTION review_refuse_row();
"""
LOCK = 814_007


@pytest.fixture
def database_trigger(transactional_db):
    """A trigger on the customers table that acts on row K-6001 (in the second batch)."""

    def install(action: str) -> None:
        with connection.cursor() as cursor:
            cursor.execute(REFUSE_ROW.format(action=action))

    yield install
    with connection.cursor() as cursor:
        cursor.execute("DROP TRIGGER IF EXISTS review_refuse ON customers_customer")
        cursor.execute("DROP FUNCTION IF EXISTS review_refuse_row()")


def import_command(path: Path) -> subprocess.Popen:
    env = {
        **os.environ,
        "DATABASE_URL": worker_database_url(),
        "DJANGO_SETTINGS_MODULE": "crm.settings.test",
    }
    return subprocess.Popen(
        [sys.executable, "manage.py", "import_customers", str(path), "--quiet"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_the_command_prints_a_clear_error_exits_non_zero_and_leaves_the_landed_rows_stale(
    database_trigger, tmp_path
):
    # Given a file whose second batch the database refuses (a failure no row check foresees)
    database_trigger("RAISE EXCEPTION 'the review refuses this row'")
    path = tmp_path / "customers.csv"
    path.write_bytes(customers_file(6000, "100", 10))

    # When the command imports it
    process = import_command(path)
    _out, err = process.communicate(timeout=300)

    # Then it says why in a line, without a traceback, and exits non-zero
    assert process.returncode == 1
    assert "Traceback" not in err
    job = ImportJob.objects.get()
    assert err.strip().splitlines()[-1] == f"CommandError: import {job.pk} failed: {job.error}"
    assert "the review refuses this row" in job.error
    # and the job is failed, not running; the first batch landed and the figures know it
    assert (job.status, job.finished_at is not None) == (ImportStatus.FAILED, True)
    assert Customer.objects.count() == 5000
    assert customers_with_stale_figures(older_than=timedelta(0)).count() == 5000


def test_it_fails_a_job_whose_process_died_and_the_api_and_admin_show_it(
    database_trigger, tmp_path, ada
):
    # Given an import command held in its second batch (the database waits on a lock)
    database_trigger(f"PERFORM pg_advisory_xact_lock({LOCK})")
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s)", [LOCK])
    path = tmp_path / "customers.csv"
    path.write_bytes(customers_file(6000, "100", 10))
    process = import_command(path)
    try:
        deadline = time.monotonic() + 600
        while not ImportJob.objects.filter(processed_rows=5000).exists():
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline, "the first batch did not land in 10 minutes"
            time.sleep(0.1)
        # When its process is killed
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [LOCK])
    assert ImportJob.objects.get().status == ImportStatus.RUNNING

    # and the periodic check of import jobs runs
    dataio_tasks.dataio_import_jobs_check()

    # Then the job is failed, saying why, in the API and the admin
    job = ImportJob.objects.get()
    assert job.status == ImportStatus.FAILED
    assert "stopped" in job.error
    api = APIClient()
    api.force_authenticate(ada)
    assert api.get(f"/api/imports/{job.pk}/").json()["status"] == "failed"
    from django.test import Client

    admin = Client()
    admin.force_login(ada)
    assert "Failed" in admin.get(f"/admin/dataio/importjob/{job.pk}/change/").content.decode()
    # and what landed is stale, for the sweeper
    assert customers_with_stale_figures(older_than=timedelta(0)).count() == 5000


@pytest.mark.django_db
def test_it_fails_a_running_job_that_stopped_reporting_progress():
    # Given a job running elsewhere that has not reported progress for an hour
    job = import_job_create(kind=ImportKind.TRANSACTIONS, content=GOOD_LOG)
    ImportJob.objects.filter(pk=job.pk).update(
        status=ImportStatus.RUNNING,
        worker="another-host:4242",
        heartbeat_at=timezone.now() - timedelta(hours=1),
    )
    lively = import_job_create(kind=ImportKind.TRANSACTIONS, content=GOOD_LOG)
    ImportJob.objects.filter(pk=lively.pk).update(
        status=ImportStatus.RUNNING, worker="another-host:4243", heartbeat_at=timezone.now()
    )

    # When the periodic check runs
    dataio_tasks.dataio_import_jobs_check()

    # Then the silent job is failed, the lively one left running
    assert ImportJob.objects.get(pk=job.pk).status == ImportStatus.FAILED
    assert ImportJob.objects.get(pk=lively.pk).status == ImportStatus.RUNNING
