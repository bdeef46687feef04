"""Fast transaction imports on PostgreSQL (issue 20): the COPY path (dataio.copy_import)
applies a file exactly as the batches of rows do, the reference: the same rows refused with
the same lines and reasons, the same purchases, keys, customers and counts, the same
duplicates on a re-import, whether the file goes to COPY as it is or through the row reader."""

from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from core.bulk import ReferenceMissing, references_checked_in_bulk
from customers.models import Customer
from dataio import copy_import, services
from dataio.models import ImportedTransaction, ImportJob, ImportKind
from dataio.services import import_job_create, import_job_run
from interactions.models import Interaction, OrderLine
from valuation.models import CustomerFigures

from .factories import CustomerFactory, OfferingFactory

pytestmark = pytest.mark.django_db

ROWS = [
    b"customer_ref,date,amount,margin,offering,channel",
    b"C-1,2026-03-02,19.90,,Beans,",
    b"C-1,2026-03-02,19.90,,Beans,",
    b"C-2,20260302,5,1,,email",
    b"C-3,2026-3-2,5,,,",
    b"C-4,2026-03-02,1e3,-0,,",
    b",2026-03-02,5,,,",
    b"R" * 101 + b",2026-03-02,5,,,",
    b"C-5,2026-02-30,5,,,",
    b"C-5,1899-12-31,5,,,",
    b"C-5,2099-01-01,5,,,",
    b"C-5,2026-03-02,abc,,,",
    b"C-5,2026-03-02,-5,,,",
    b"C-5,2026-03-02,-0,,,",
    b"C-5,2026-03-02,1e30,,,",
    b"C-5,2026-03-02,99999999999,,,",
    b"C-5,2026-03-02,2000000000,,,",
    b"C-5,2026-03-02,5,6,,",
    b"C-5,2026-03-02,5,x,,",
    b"C-5,2026-03-02,5,-1,,",
    b"C-5,2026-03-02,5,,Nope,",
    b"C-5,2026-03-02,5,,,fax",
    b"C-6,2026-03-02,5.555,,,",
    b"C-6,2026-03-02,  7.5 ,,,",
    b"C-6,TODAY,5,,,",
    b"OLD,2025-01-01,12,,,",
    b"C-1,2026-03-02,19.90,,Beans,",
]
PLAIN = b"\n".join(ROWS) + b"\n"
# Lines the row reader must read first: a quoted cell, a reference not ASCII, a blank line,
# missing and surplus values, bytes that are not UTF-8, CRLF.
READER = PLAIN + (
    b'"C-7",2026-03-02,5,,,\n'
    b"Zo\xc3\xab,2026-03-02,5,,,\n"
    b"\n"
    b"C-8,2026-03-02\n"
    b"C-8,2026-03-02,5,,,,,\n"
    b"C-8,2026-03-02,5,,,,x\n"
    b"C-9,2026-03-02,5\xff,,,\n"
    b"C-9,2026-03-03,6,,,\r\n"
)
# Plain characters, but a row COPY refuses (a surplus empty value): read by the row reader.
COPY_REFUSES = PLAIN + b"C-8,2026-03-02,5,,,,\n"


@pytest.fixture
def world(monkeypatch):
    OfferingFactory(name="Beans", price=Decimal("20.00"))
    CustomerFactory(external_ref="OLD", name="Old customer")
    # The rebuild is the same either way; the rows are compared.
    monkeypatch.setattr(services, "valuation_rebuild_everything", lambda **kwargs: None)


def outcome(job: ImportJob, *, first: ImportJob | None = None) -> dict:
    def where(reason: str) -> str:
        return reason.replace(f"import {first.pk},", "import FIRST,") if first else reason

    return {
        "counts": (
            job.status,
            job.key_rule,
            job.total_rows,
            job.processed_rows,
            job.created_rows,
            job.duplicate_rows,
            job.error_rows,
            job.customers_created,
        ),
        "problems": sorted(
            (p.line, p.outcome, p.field, where(p.reason)) for p in job.problems.all()
        ),
        "purchases": sorted(
            ImportedTransaction.objects.values_list(
                "line",
                "key",
                "interaction__customer__external_ref",
                "interaction__occurred_at",
                "interaction__channel",
                "interaction__direction",
                "interaction__type",
                "interaction__subject",
            )
        ),
        "lines": sorted(
            OrderLine.objects.values_list(
                "interaction__import_key__line",
                "offering__name",
                "quantity",
                "unit_price",
                "unit_cost",
                "discount",
            )
        ),
        "customers": sorted(
            Customer.objects.values_list(
                "external_ref", "name", "status", "acquired_on", "acquisition_source", "name_key"
            )
        ),
        "stale": sorted(
            CustomerFigures.objects.filter(
                figures_version__gt=0, figures_requested_at__gt=timezone.now()
            ).values_list("customer__external_ref", flat=True)
        ),
    }


def imported_twice(content: bytes, *, copy: bool, monkeypatch) -> tuple[dict, dict]:
    """The outcome of the file and of its re-import by one path; nothing kept."""
    monkeypatch.setattr(services, "COPY_IMPORTS", copy)
    content = content.replace(b"TODAY", timezone.localdate().isoformat().encode())

    class Undo(Exception):
        pass

    try:
        with transaction.atomic():
            first = import_job_run(
                job_id=import_job_create(kind=ImportKind.TRANSACTIONS, content=content).pk
            )
            once = outcome(first)
            again = import_job_run(
                job_id=import_job_create(kind=ImportKind.TRANSACTIONS, content=content).pk
            )
            twice = outcome(again, first=first)
            raise Undo
    except Undo:
        pass
    return once, twice


@pytest.mark.parametrize(
    "content", [PLAIN, READER, COPY_REFUSES], ids=["copy", "reader", "refused"]
)
def test_the_copy_path_applies_a_file_exactly_as_the_batches_of_rows(world, monkeypatch, content):
    by_rows = imported_twice(content, copy=False, monkeypatch=monkeypatch)
    read = []
    stage_by_reader = copy_import._stage_by_reader
    monkeypatch.setattr(
        copy_import,
        "_stage_by_reader",
        lambda *args: read.append(1) or stage_by_reader(*args),
    )
    by_copy = imported_twice(content, copy=True, monkeypatch=monkeypatch)

    # The plain file went to COPY as it is; the others through the row reader.
    assert bool(read) == (content is not PLAIN)

    assert by_copy[0] == by_rows[0]
    assert by_copy[1] == by_rows[1]
    once, twice = by_copy
    assert once["counts"][4] > 10 and once["problems"]  # the file has good and bad rows
    assert twice["counts"][4] == 0 and twice["counts"][5] == once["counts"][4]


def test_a_plain_file_goes_to_copy_as_it_is_and_others_through_the_row_reader():
    assert copy_import.plain_file(b"\xef\xbb\xbf" + PLAIN) == PLAIN
    assert copy_import.plain_file(PLAIN.replace(b"\n", b"\r\n")) == PLAIN
    assert copy_import.plain_file(READER) is None
    assert copy_import.plain_file(PLAIN + b"a\rb\n") is None


def test_a_copy_import_is_one_transaction_whole_or_nothing(world, monkeypatch):
    def broken(*args):
        raise RuntimeError("the disk is full")

    monkeypatch.setattr(copy_import, "_write", broken)
    job = import_job_create(kind=ImportKind.TRANSACTIONS, content=PLAIN)

    with pytest.raises(RuntimeError):
        import_job_run(job_id=job.pk)

    job.refresh_from_db()
    assert job.status == "failed" and "the disk is full" in job.error
    assert not job.problems.exists()
    assert not ImportedTransaction.objects.exists()
    assert list(Customer.objects.values_list("external_ref", flat=True)) == ["OLD"]


def test_with_the_triggers_checking_every_reference_the_outcome_is_the_same(world, monkeypatch):
    # given a role that may not turn the foreign keys' triggers off (or the bulk check off)
    by_statement = imported_twice(PLAIN, copy=True, monkeypatch=monkeypatch)
    monkeypatch.setattr(copy_import, "BULK_REFERENCES", False)

    by_trigger = imported_twice(PLAIN, copy=True, monkeypatch=monkeypatch)

    assert by_trigger == by_statement


CUSTOMER = Interaction._meta.get_field("customer")


def _replication_role(cursor) -> str:
    cursor.execute("SHOW session_replication_role")
    return cursor.fetchone()[0]


def test_references_checked_in_bulk_refuse_a_row_that_does_not_exist():
    customer = CustomerFactory()
    missing = [(CUSTOMER, "SELECT unnest(%s::bigint[])", [[customer.pk, 10**12]])]
    with (
        connection.cursor() as cursor,
        pytest.raises(ReferenceMissing, match="1 of the customers_customer rows"),
        references_checked_in_bulk(cursor, models=[Interaction], references=missing),
    ):
        pytest.fail("not entered")


def test_references_checked_in_bulk_refuse_a_reference_nobody_names():
    with (
        connection.cursor() as cursor,
        pytest.raises(ValueError, match=r"Interaction\.customer: a reference nobody checks"),
        references_checked_in_bulk(cursor, models=[Interaction], references=[]),
    ):
        pytest.fail("not entered")


def test_after_the_block_or_a_failure_in_it_the_triggers_check_again():
    customer = CustomerFactory()
    with connection.cursor() as cursor:
        with references_checked_in_bulk(
            cursor, models=[Interaction], references=[(CUSTOMER, "SELECT %s", [customer.pk])]
        ):
            assert _replication_role(cursor) == "replica"  # the tests' role is a superuser
        assert _replication_role(cursor) == "origin"
        with (
            pytest.raises(RuntimeError),
            references_checked_in_bulk(
                cursor, models=[Interaction], references=[(CUSTOMER, "SELECT %s", [customer.pk])]
            ),
        ):
            raise RuntimeError("the disk is full")
        assert _replication_role(cursor) == "origin"
        # so a line of an order that does not exist is refused by its trigger
        with pytest.raises(IntegrityError), transaction.atomic():
            cursor.execute(
                "INSERT INTO interactions_orderline (interaction_id, offering_id, quantity, "
                "unit_price, unit_cost, discount) VALUES (%s, %s, 1, 1, 0, 0)",
                [10**12, OfferingFactory().pk],
            )
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
