"""Exact transaction imports (issue 20): identical rows are separate purchases, counted by
their occurrence in the file; an `order_ref` column, when present, is the key, its rows the
lines of one order; a re-import changes nothing either way, and the report names the rule."""

import io
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from dataio import services
from dataio.models import ImportedTransaction, ImportJob, ImportKind, KeyRule
from dataio.services import IMPORTED_ORDER, import_job_create, import_job_run
from interactions.models import Interaction, OrderLine

from .factories import OfferingFactory

pytestmark = pytest.mark.django_db

IDENTICAL = (
    b"customer_ref,date,amount\n"
    b"C-1,2026-03-02,19.90\n"
    b"C-1,2026-03-02,19.90\n"
    b"C-2,2026-03-02,19.90\n"
    b"C-1,2026-03-02,19.90\n"
)

ORDERS = (
    b"customer_ref,date,amount,offering,order_ref\n"
    b"C-1,2026-03-02,19.90,Beans,A-100\n"
    b"C-2,2026-03-03,5.00,,A-101\n"
    b"C-1,2026-03-02,7.50,Filters,A-100\n"
    b"C-1,2026-03-02,7.50,Filters,A-100\n"
)


def run(content: bytes, kind: str = ImportKind.TRANSACTIONS) -> ImportJob:
    return import_job_run(job_id=import_job_create(kind=kind, content=content).pk)


def problems(job: ImportJob) -> list[tuple]:
    return list(job.problems.values_list("line", "outcome", "field", "reason"))


def purchases() -> list[tuple]:
    return list(
        OrderLine.objects.order_by("id").values_list(
            "interaction_id", "interaction__customer__external_ref", "unit_price"
        )
    )


@pytest.fixture
def catalog():
    OfferingFactory(name="Beans", price=Decimal("20.00"))
    OfferingFactory(name="Filters", price=Decimal("8.00"))


def test_identical_rows_are_each_imported_as_a_purchase():
    job = run(IDENTICAL)

    assert (job.created_rows, job.duplicate_rows, job.error_rows) == (4, 0, 0)
    assert problems(job) == []
    assert job.key_rule == KeyRule.OCCURRENCE
    assert Interaction.objects.filter(customer__external_ref="C-1").count() == 3
    assert Interaction.objects.filter(customer__external_ref="C-2").count() == 1
    assert ImportedTransaction.objects.count() == 4
    assert sorted(ImportedTransaction.objects.values_list("line", flat=True)) == [2, 3, 4, 5]


def test_a_reimport_of_identical_rows_creates_nothing_and_names_each_line():
    first = run(IDENTICAL)
    before = purchases()

    again = run(IDENTICAL)

    assert purchases() == before
    assert (again.created_rows, again.duplicate_rows, again.error_rows) == (0, 4, 0)
    # The k-th occurrence is recognised as the k-th occurrence imported before.
    assert problems(again) == [
        (line, "duplicate", "", f"duplicate: already imported (import {first.pk}, line {line})")
        for line in (2, 3, 4, 5)
    ]


def test_a_later_file_with_one_more_identical_row_adds_only_that_one():
    run(b"customer_ref,date,amount\nC-1,2026-03-02,19.90\nC-1,2026-03-02,19.90\n")

    job = run(
        b"customer_ref,date,amount\n"
        b"C-1,2026-03-02,19.90\nC-1,2026-03-02,19.90\nC-1,2026-03-02,19.90\n"
    )

    assert (job.created_rows, job.duplicate_rows) == (1, 2)
    assert Interaction.objects.count() == 3
    assert [line for line, *_ in problems(job)] == [2, 3]


def test_occurrences_are_counted_over_the_whole_file_across_batches(monkeypatch):
    monkeypatch.setattr(services, "BATCH_ROWS", 2)
    content = b"customer_ref,date,amount\n" + b"C-1,2026-03-02,19.90\n" * 5

    first = run(content)
    again = run(content)

    assert (first.created_rows, again.created_rows, again.duplicate_rows) == (5, 0, 5)
    assert Interaction.objects.count() == 5


def test_rows_with_one_order_ref_are_the_lines_of_one_order(catalog):
    job = run(ORDERS)

    assert job.key_rule == KeyRule.ORDER_REF
    assert (job.created_rows, job.duplicate_rows, job.error_rows) == (4, 0, 0)
    assert Interaction.objects.count() == 2
    order = Interaction.objects.get(subject=f"{IMPORTED_ORDER} A-100")
    assert (order.type, order.customer.external_ref, order.occurred_at.date().isoformat()) == (
        "order",
        "C-1",
        "2026-03-02",
    )
    # Its lines in the order of the file, the repeated line kept (an order may hold it twice).
    assert list(order.lines.order_by("id").values_list("offering__name", "unit_price")) == [
        ("Beans", Decimal("19.90")),
        ("Filters", Decimal("7.50")),
        ("Filters", Decimal("7.50")),
    ]
    assert ImportedTransaction.objects.get(interaction=order).line == 2
    assert Interaction.objects.get(subject=f"{IMPORTED_ORDER} A-101").lines.count() == 1


def test_an_order_split_across_batches_is_still_one_order(catalog, monkeypatch):
    monkeypatch.setattr(services, "BATCH_ROWS", 2)
    body = [f"C-{n},2026-03-0{1 + n % 5},{n}.00,,B-{n}\n" for n in range(1, 6)]
    body.insert(1, "C-9,2026-03-01,1.00,Beans,Z-1\n")
    body.append("C-9,2026-03-01,2.00,Filters,Z-1\n")
    content = ("customer_ref,date,amount,offering,order_ref\n" + "".join(body)).encode()

    job = run(content)

    assert (job.total_rows, job.processed_rows, job.created_rows) == (7, 7, 7)
    order = Interaction.objects.get(subject=f"{IMPORTED_ORDER} Z-1")
    assert list(order.lines.order_by("id").values_list("unit_price", flat=True)) == [
        Decimal("1.00"),
        Decimal("2.00"),
    ]
    assert Interaction.objects.count() == 6


def test_a_reimport_by_order_ref_creates_nothing_and_names_the_changed_rows(catalog):
    first = run(ORDERS)
    before = purchases()

    changed = ORDERS.replace(b"C-1,2026-03-02,19.90,Beans", b"C-1,2026-03-02,24.90,Beans")
    again = run(changed)

    assert purchases() == before
    assert OrderLine.objects.filter(unit_price=Decimal("24.90")).count() == 0
    assert (again.created_rows, again.duplicate_rows, again.error_rows) == (0, 4, 0)
    where = f"import {first.pk}, line 2"
    assert problems(again) == [
        (
            2,
            "conflict",
            "amount",
            f"conflict: order_ref already imported ({where}) with another amount; not changed",
        ),
        (3, "duplicate", "", f"duplicate: already imported (import {first.pk}, line 3)"),
        (4, "duplicate", "", f"duplicate: already imported ({where})"),
        (5, "duplicate", "", f"duplicate: already imported ({where})"),
    ]


def test_a_reimported_order_with_a_line_more_or_another_customer_is_a_conflict(catalog):
    first = run(ORDERS)
    where = f"import {first.pk}, line"

    again = run(
        b"customer_ref,date,amount,offering,order_ref\n"
        b"C-7,2026-03-03,5.00,,A-101\n"
        b"C-1,2026-03-02,19.90,Beans,A-100\n"
        b"C-1,2026-03-02,7.50,Filters,A-100\n"
        b"C-1,2026-03-02,7.50,Filters,A-100\n"
        b"C-1,2026-03-02,1.00,Filters,A-100\n"
    )

    assert again.created_rows == 0
    assert (Interaction.objects.count(), OrderLine.objects.count()) == (2, 4)
    assert [p for p in problems(again) if p[1] == "conflict"] == [
        (
            2,
            "conflict",
            "customer_ref",
            f"conflict: order_ref already imported ({where} 3) with another customer_ref; "
            "not changed",
        ),
        (
            6,
            "conflict",
            "order_ref",
            f"conflict: order_ref already imported ({where} 2) with fewer lines; not changed",
        ),
    ]


def test_an_order_whose_lines_contradict_or_fail_is_refused_whole(catalog):
    job = run(
        b"customer_ref,date,amount,offering,order_ref\n"
        b"C-1,2026-03-02,19.90,Beans,A-1\n"
        b"C-2,2026-03-02,7.50,Filters,A-1\n"
        b"C-1,2026-03-02,5.00,,A-2\n"
        b"C-1,2026-03-02,five,,A-2\n"
        b"C-3,2026-03-04,1.00,,A-3\n"
        b"C-3,2026-03-04,1.00,,\n"
        b"C-4,2026-03-04,1.00,,A-4\n"
        b"C-4,2026-03-04,1.00,,A-4,surplus\n"
    )

    assert problems(job) == [
        (2, "error", "order_ref", "order_ref: the order was not imported, its line 3 was refused"),
        (
            3,
            "error",
            "customer_ref",
            "customer_ref: not the one of line 2 with the same order_ref (an order has one "
            "customer, date and channel)",
        ),
        (4, "error", "order_ref", "order_ref: the order was not imported, its line 5 was refused"),
        (5, "error", "amount", "amount: not a number"),
        (7, "error", "order_ref", "order_ref: empty (the file keys its rows by it)"),
        (8, "error", "order_ref", "order_ref: the order was not imported, its line 9 was refused"),
        (9, "error", "", "6 values for 5 columns"),
    ]
    assert (job.created_rows, job.error_rows) == (1, 7)
    assert list(Interaction.objects.values_list("subject", flat=True)) == [f"{IMPORTED_ORDER} A-3"]
    # Once the file is corrected, the refused orders arrive (nothing of them was kept).
    fixed = run(
        b"customer_ref,date,amount,offering,order_ref\n"
        b"C-1,2026-03-02,19.90,Beans,A-1\n"
        b"C-1,2026-03-02,7.50,Filters,A-1\n"
        b"C-1,2026-03-02,5.00,,A-2\n"
        b"C-1,2026-03-02,5.00,,A-2\n"
        b"C-3,2026-03-04,1.00,,A-3\n"
    )
    assert (fixed.created_rows, fixed.duplicate_rows, fixed.error_rows) == (4, 1, 0)
    assert OrderLine.objects.count() == 5


def test_the_report_names_the_rule_on_the_page_the_api_and_the_command(client, ada, tmp_path):
    by_occurrence = run(IDENTICAL)
    by_order = run(b"customer_ref,date,amount,order_ref\nC-1,2026-03-02,1.00,X-1\n")
    customers = run(b"external_ref,name\nK-1,Anna\n", kind=ImportKind.CUSTOMERS)
    client.force_login(get_user_model().objects.get(username="ada"))

    page = client.get(f"/data/imports/{by_occurrence.pk}/").content.decode()
    assert "identical rows counted by occurrence" in page
    assert "order_ref as key" in client.get(f"/data/imports/{by_order.pk}/").content.decode()
    customers_page = client.get(f"/data/imports/{customers.pk}/").content.decode()
    assert "Already imported by" not in customers_page
    status = client.get(f"/api/imports/{by_order.pk}/").json()
    assert (status["key_rule"], status["key_rule_display"]) == ("order_ref", "order_ref as key")
    assert client.get(f"/data/imports/{by_occurrence.pk}/status.json").json()["key_rule"] == (
        "occurrence"
    )
    path = tmp_path / "log.csv"
    path.write_bytes(IDENTICAL)
    out = io.StringIO()
    call_command("import_transactions", str(path), "--quiet", stdout=out)
    assert "; already imported: identical rows counted by occurrence" in out.getvalue()


def test_cdnow_counts_identical_lines_by_the_same_rule(tmp_path):
    path = tmp_path / "cdnow.txt"
    path.write_text(" 00007 19970101  1   10.00\n 00007 19970101  1   10.00\n")

    call_command("import_transactions", "--format", "cdnow", str(path), "--quiet")
    call_command("import_transactions", "--format", "cdnow", str(path), "--quiet")

    first, again = ImportJob.objects.order_by("id")
    assert (first.key_rule, first.created_rows, again.created_rows) == ("occurrence", 2, 0)
    assert again.duplicate_rows == 2
    # The same rows in a CSV are the same purchases: one mechanism, one key.
    job = run(b"customer_ref,date,amount\ncdnow-7,19970101,10.00\ncdnow-7,19970101,10.00\n")
    assert (job.created_rows, job.duplicate_rows) == (0, 2)


@pytest.mark.parametrize("order_ref", [False, True])
def test_the_rows_are_applied_in_bulk_without_a_query_per_row(catalog, order_ref):
    def log(refs: range) -> bytes:
        head = "customer_ref,date,amount,offering" + (",order_ref\n" if order_ref else "\n")
        rows = "".join(
            f"C-1,2026-03-02,{n}.00,Beans" + (f",R-{n}\n" if order_ref else "\n") for n in refs
        )
        return (head + rows).encode()

    def queries(content: bytes) -> int:
        job = import_job_create(kind=ImportKind.TRANSACTIONS, content=content)
        with CaptureQueriesContext(connection) as captured:
            import_job_run(job_id=job.pk)
        return len(captured)

    run(log(range(1, 60)))
    # Re-imports (nothing created, so no rebuild): the rows phase alone.
    few, many = queries(log(range(1, 4))), queries(log(range(1, 60)))
    assert few == many
    if order_ref:  # conflicts too: their orders are read for all the rows at once
        assert queries(log(range(1, 60)).replace(b",7.00,", b",8.00,")) == many
    assert Interaction.objects.count() == 59
