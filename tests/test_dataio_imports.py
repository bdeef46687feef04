"""Imports of transaction logs and customers: the report line by line, nothing half-applied,
re-imports change nothing, one rebuild of the figures afterwards."""

import importlib.util
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import call_command
from django.utils import timezone

from customers.models import Customer
from dataio.models import ImportedTransaction, ImportJob, ImportKind, ImportStatus
from dataio.services import IMPORTED_OFFERING, import_job_create, import_job_run
from interactions.models import Interaction, OrderLine
from valuation.models import CustomerSummary, ModelFit

from .factories import CustomerFactory, OfferingFactory

pytestmark = pytest.mark.django_db

CDNOW_DIR = Path(importlib.util.find_spec("lifetimes").submodule_search_locations[0]) / "datasets"


def run(kind: str, content: bytes) -> ImportJob:
    job = import_job_create(kind=kind, content=content, file_name="upload.csv")
    return import_job_run(job_id=job.pk)


def problems(job: ImportJob) -> list[tuple]:
    return list(job.problems.values_list("line", "outcome", "field", "reason"))


BAD_LOG = (
    b"customer_ref,date,amount,margin,offering,channel\n"
    b"C-1,2026-01-05,100.00,40.00,Espresso beans,email\n"
    b"C-1,2026-02-05,50,,,\n"
    b"C-2,2026-13-01,10.00,,,\n"
    b"C-2,2026-01-01,-5.00,,,\n"
    b"C-2,2026-01-01,5.00,,No such thing,\n"
    b"C-1,2026-01-05,100.00,40.00,Espresso beans,email\n"
    b"C-\xff3,2026-01-01,5.00,,,\n"
    b"C-4,2026-01-01\n"
    b"C-5,2026-01-01,5.00,6.00,,\n"
    b"C-5,2026-01-01,5.00,,,fax\n"
    b"C-5,2026-01-01,five,,,\n"
    b"\n"
    b",2026-01-01,5.00,,,\n"
    b"C-6,2999-01-01,5.00,,,\n"
)


def test_it_reports_every_bad_row_by_line_and_applies_only_the_good_rows_in_full():
    OfferingFactory(name="Espresso beans", price=Decimal("24.00"))  # cost 11.50

    job = run(ImportKind.TRANSACTIONS, BAD_LOG)

    assert job.status == ImportStatus.DONE
    assert problems(job) == [
        (4, "error", "date", "bad date: expected YYYY-MM-DD"),
        (5, "error", "amount", "negative amount"),
        (6, "error", "offering", "unknown offering"),
        (8, "error", "", "encoding: byte 0xff at position 3 is not UTF-8; save the file as UTF-8"),
        (9, "error", "amount", "missing column: amount, margin, offering, channel"),
        (10, "error", "margin", "margin greater than the amount"),
        (
            11,
            "error",
            "channel",
            "unknown channel (one of email, phone, chat, web, in_person, social, sms, letter, "
            "partner)",
        ),
        (12, "error", "amount", "amount: not a number"),
        (14, "error", "customer_ref", "customer_ref: empty"),
        (15, "error", "date", "date in the future"),
    ]
    # Line 7 repeats line 2: a second equal purchase (identical rows count by occurrence).
    assert (job.total_rows, job.processed_rows, job.created_rows) == (13, 13, 3)
    assert (job.duplicate_rows, job.error_rows, job.customers_created) == (0, 10, 1)
    # Nothing partial: the customers of bad rows were not created, no orphan interaction.
    assert list(Customer.objects.values_list("external_ref", flat=True)) == ["C-1"]
    assert Interaction.objects.count() == OrderLine.objects.count() == 3
    lines = {
        line.interaction.occurred_at.date(): line
        for line in OrderLine.objects.select_related("interaction", "offering")
    }
    beans, imported = lines[date(2026, 1, 5)], lines[date(2026, 2, 5)]
    assert (beans.offering.name, beans.unit_price, beans.unit_cost) == (
        "Espresso beans",
        Decimal("100.00"),
        Decimal("60.00"),
    )
    assert (beans.interaction.type, beans.interaction.direction, beans.interaction.channel) == (
        "order",
        "inbound",
        "email",
    )
    assert (imported.offering.name, imported.offering.category.name) == (
        IMPORTED_OFFERING,
        "Imported",
    )
    assert (imported.unit_price, imported.unit_cost, imported.quantity) == (
        Decimal("50.00"),
        Decimal("0.00"),
        Decimal("1"),
    )
    assert imported.interaction.channel == "web"


def test_it_prices_the_cost_from_the_offering_cost_ratio_without_a_margin():
    OfferingFactory(name="Espresso beans", price=Decimal("24.00"))  # cost 11.50 of 24.00

    run(
        ImportKind.TRANSACTIONS,
        b"customer_ref,date,amount,offering\nC-1,2026-01-05,48,Espresso beans\n",
    )

    assert OrderLine.objects.get().unit_cost == Decimal("23.00")


def test_it_changes_nothing_when_the_same_file_is_imported_again():
    OfferingFactory(name="Espresso beans")
    first = run(ImportKind.TRANSACTIONS, BAD_LOG)
    before = (
        list(Interaction.objects.order_by("id").values_list("id", "customer_id", "occurred_at")),
        list(OrderLine.objects.order_by("id").values_list("id", "unit_price", "unit_cost")),
        list(
            Customer.objects.order_by("id").values_list(
                "id", "figures__predicted_clv", "figures__tier"
            )
        ),
        ModelFit.objects.count(),
    )

    again = run(ImportKind.TRANSACTIONS, BAD_LOG)

    after = (
        list(Interaction.objects.order_by("id").values_list("id", "customer_id", "occurred_at")),
        list(OrderLine.objects.order_by("id").values_list("id", "unit_price", "unit_cost")),
        list(
            Customer.objects.order_by("id").values_list(
                "id", "figures__predicted_clv", "figures__tier"
            )
        ),
        ModelFit.objects.count(),
    )
    assert after == before
    assert (again.created_rows, again.duplicate_rows, again.error_rows) == (0, 3, 10)
    assert problems(again)[:2] == [
        (2, "duplicate", "", f"duplicate: already imported (import {first.pk}, line 2)"),
        (3, "duplicate", "", f"duplicate: already imported (import {first.pk}, line 3)"),
    ]


def test_it_rebuilds_every_summary_and_refits_once_after_the_rows_are_committed():
    fits_before = ModelFit.objects.count()

    run(
        ImportKind.TRANSACTIONS,
        b"customer_ref,date,amount,margin\n"
        b"C-1,2026-01-05,100,30\nC-1,2026-02-05,50,20\nC-2,2026-03-01,20,5\n",
    )

    assert ModelFit.objects.count() == fits_before + 1
    summary = CustomerSummary.objects.get(customer__external_ref="C-1")
    assert (summary.transaction_days, summary.revenue_total, summary.margin_total) == (
        2,
        Decimal("150"),
        Decimal("50"),
    )
    customer = Customer.objects.get(external_ref="C-1")
    assert customer.figures.historic_value == Decimal("50.00")
    assert customer.figures.computed_at is not None


def test_it_rejects_a_file_whose_header_lacks_a_required_column_and_writes_nothing():
    job = run(ImportKind.TRANSACTIONS, b"customer_ref,day,amount\nC-1,2026-01-05,100\n")

    assert job.status == ImportStatus.FAILED
    assert problems(job) == [(1, "error", "date", "missing column: date in the header")]
    assert job.error == "missing column: date in the header"
    assert not Customer.objects.exists()
    assert not Interaction.objects.exists()


def test_it_forgets_the_uploaded_file_once_imported():
    job = run(ImportKind.TRANSACTIONS, b"customer_ref,date,amount\nC-1,2026-01-05,100\n")

    assert bytes(ImportJob.objects.get(pk=job.pk).content) == b""


def test_it_imports_a_slice_of_the_cdnow_master_file_with_its_header(tmp_path):
    lines = (CDNOW_DIR / "CDNOW_master.txt").read_text().splitlines()[:301]
    path = tmp_path / "cdnow.txt"
    path.write_text("\n".join(lines) + "\n")
    ids = {line.split()[0] for line in lines[1:]}

    call_command(
        "import_transactions", "--format", "cdnow", str(path), "--as-of", "1998-06-30", "--quiet"
    )

    job = ImportJob.objects.get()
    assert ModelFit.objects.get().as_of == date(1998, 6, 30)
    assert (job.status, job.total_rows, job.created_rows, job.error_rows) == ("done", 300, 300, 0)
    assert job.processed_rows == 300  # the header line is not a transaction
    assert Customer.objects.count() == len(ids)
    first = Interaction.objects.filter(customer__external_ref="cdnow-1").get()
    assert first.occurred_at.date() == date(1997, 1, 1)
    assert first.subject == f"{IMPORTED_OFFERING} (1 items)"
    assert first.lines.get().unit_price == Decimal("11.77")


def test_it_reads_the_cdnow_sample_layout_with_its_sample_id_column(tmp_path):
    path = tmp_path / "sample.txt"
    path.write_bytes((CDNOW_DIR / "CDNOW_sample.txt").read_bytes()[:2000])
    rows = [line.split() for line in path.read_text().splitlines() if line.strip()][:-1]
    path.write_text("\n".join(" ".join(r) for r in rows) + "\n")

    call_command("import_transactions", "--format", "cdnow", str(path), "--quiet")

    assert Interaction.objects.count() == len(rows)
    assert set(Customer.objects.values_list("external_ref", flat=True)) == {
        f"cdnow-{int(r[0])}" for r in rows
    }
    assert sum(line.unit_price for line in OrderLine.objects.all()) == sum(
        Decimal(r[4]) for r in rows
    )


def test_it_keeps_identical_cdnow_lines_as_separate_orders_and_skips_them_on_reimport(tmp_path):
    path = tmp_path / "cdnow.txt"
    path.write_text(" 00007 19970101  1   10.00\n 00007 19970101  1   10.00\n")

    call_command("import_transactions", "--format", "cdnow", str(path), "--quiet")
    call_command("import_transactions", "--format", "cdnow", str(path), "--quiet")

    assert Interaction.objects.count() == 2
    assert ImportJob.objects.order_by("id").last().duplicate_rows == 2


def test_the_command_writes_the_report_as_csv(tmp_path, capsys):
    path = tmp_path / "log.csv"
    path.write_bytes(b"customer_ref,date,amount\nC-1,2026-01-05,100\nC-2,yesterday,5\n")
    report = tmp_path / "report.csv"

    call_command("import_transactions", str(path), "--report", str(report), "--quiet")

    assert report.read_text().splitlines() == [
        '"line","outcome","field","reason"',
        '3,"error","date","bad date: expected YYYY-MM-DD"',
    ]


# --- Customers ----------------------------------------------------------------------------

CUSTOMERS = (
    b"external_ref,name,email,phone,kind,status,owner,acquired_on,wallet_annual\n"
    b"K-1,Anna Keller,anna@example.net,+41 1,person,active,alice,2024-03-01,1200\n"
    b"K-2,Keller AG,,,organization,prospect,,,\n"
    b"K-3,No Mail,not-an-email,,person,active,,,\n"
    b"K-4,Nobody's,,,person,active,mallory,,\n"
    b"K-5,Bad Kind,,,robot,active,,,\n"
    b"K-1,Anna Again,,,person,active,,,\n"
    b"K-6,Bad Day,,,person,active,,2024-02-30,\n"
    b"K-7,Negative Wallet,,,person,active,,,-5\n"
    b",No Ref,,,person,active,,,\n"
)


def test_it_imports_customers_and_reports_each_bad_row(alice):
    job = run(ImportKind.CUSTOMERS, CUSTOMERS)

    assert problems(job) == [
        (4, "error", "email", "email: Enter a valid email address."),
        (5, "error", "owner", "owner: no such user"),
        (6, "error", "kind", "kind: Value 'robot' is not a valid choice."),
        (7, "duplicate", "", "duplicate of line 2"),
        (8, "error", "acquired_on", "bad date: expected YYYY-MM-DD"),
        (
            9,
            "error",
            "wallet_annual",
            "wallet_annual: Ensure this value is greater than or equal to 0.",
        ),
        (10, "error", "external_ref", "external_ref: empty"),
    ]
    assert sorted(Customer.objects.values_list("external_ref", flat=True)) == ["K-1", "K-2"]
    anna = Customer.objects.get(external_ref="K-1")
    assert (anna.name, anna.owner, anna.acquired_on, anna.wallet_annual) == (
        "Anna Keller",
        alice,
        date(2024, 3, 1),
        Decimal("1200.00"),
    )
    assert anna.history.count() == 1


def test_it_updates_known_customers_by_reference_and_changes_nothing_on_reimport(alice):
    CustomerFactory(external_ref="K-2", name="Old name", kind="organization")
    first = run(ImportKind.CUSTOMERS, CUSTOMERS)
    snapshot = list(Customer.objects.order_by("id").values())

    again = run(ImportKind.CUSTOMERS, CUSTOMERS)

    assert (first.created_rows, first.updated_rows) == (1, 1)
    assert Customer.objects.get(external_ref="K-2").name == "Keller AG"
    assert (again.created_rows, again.updated_rows, again.unchanged_rows) == (0, 0, 2)
    assert list(Customer.objects.order_by("id").values()) == snapshot


def test_it_counts_progress_to_the_total_of_rows():
    rows = "".join(f"C-{n},2026-01-{1 + n % 28:02d},{n}\n" for n in range(1, 6001))
    job = run(ImportKind.TRANSACTIONS, ("customer_ref,date,amount\n" + rows).encode())

    assert (job.total_rows, job.processed_rows, job.percent) == (6000, 6000, 100)
    assert ImportedTransaction.objects.count() == Interaction.objects.count() == 6000
    assert Interaction.objects.filter(occurred_at__date__lte=timezone.localdate()).count() == 6000
