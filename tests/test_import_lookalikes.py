"""Imports name, row by row, the customers they create who look like existing ones (issue 20):
"line 3: looks like customer #34 (same e-mail, different case)", found for the whole file by
one statement, the rows imported all the same."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from customers import services as customers_services
from customers.models import Customer
from dataio import services
from dataio.models import ImportKind, RowOutcome
from dataio.services import import_job_create, import_job_run

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def no_rebuild(monkeypatch):
    monkeypatch.setattr(services, "valuation_rebuild_everything", lambda **kwargs: None)


def existing(**fields) -> Customer:
    """A customer as the services create one (its duplicate keys written)."""
    fields = {key: value for key, value in fields.items() if value}
    return customers_services.customer_create(**fields)


def imported(kind: str, content: bytes):
    return import_job_run(job_id=import_job_create(kind=kind, content=content).pk)


def lookalikes(job) -> list[tuple[int, str]]:
    return list(
        job.problems.filter(outcome=RowOutcome.LOOKALIKE)
        .order_by("line", "reason")
        .values_list("line", "reason")
    )


def test_a_customers_file_names_the_new_customers_who_look_like_existing_ones():
    anna = existing(name="Anna Berger", email="anna.berger@example.com", phone="")
    bob = existing(name="Bob Keller", email="", phone="+49 30 1234567")
    clara = existing(name="Clara Varga", email="claravarga@gmail.com", phone="")
    content = (
        b"external_ref,name,email,phone\n"
        b"N-1,Someone Else,Anna.Berger@Example.com,\n"  # same e-mail but for case
        b"N-2,Robert Keller,,030 1234567\n"  # same phone, another format
        b"N-3,Nobody Alike,nobody@example.org,\n"
        b"N-4,Clara Varga,clara.varga+shop@googlemail.com,\n"  # normalised e-mail and name
        b"N-5,Dora Lind,dora@example.org,\n"
        b"N-6,Dora Lind,dora@example.org,\n"  # looks like the row before
    )

    job = imported(ImportKind.CUSTOMERS, content)

    # then every row is imported, and the look-alikes are in the report on their lines
    assert job.created_rows == 6 and job.error_rows == 0 and job.duplicate_rows == 0
    dora = Customer.objects.get(external_ref="N-5")
    assert lookalikes(job) == [
        (2, f"looks like customer #{anna.pk} (same e-mail, different case)"),
        (3, f"looks like customer #{bob.pk} (same phone number after normalising)"),
        (
            5,
            f"looks like customer #{clara.pk} (same e-mail after normalising, "
            "same name after normalising)",
        ),
        (
            7,
            f"looks like customer #{dora.pk} (same e-mail, same name after normalising)",
        ),
    ]
    # and the report shows them beside the rows not imported
    assert job.problems.get(line=2).get_outcome_display() == "Looks like another customer"


def test_a_transaction_file_compares_the_names_of_its_new_customers_only_as_equal():
    # given customers named like references of the file (B-12 is 0.62 similar to B-123)
    same = existing(name="B-12", external_ref="", email="", phone="")
    existing(name="B-1234", external_ref="", email="", phone="")
    content = b"customer_ref,date,amount\nB-12,2026-03-02,5\nB-123,2026-03-02,6\n"

    job = imported(ImportKind.TRANSACTIONS, content)

    assert job.created_rows == 2 and job.customers_created == 2
    assert lookalikes(job) == [(2, f"looks like customer #{same.pk} (same name after normalising)")]


@pytest.mark.parametrize("copy", [True, False], ids=["copy", "rows"])
def test_the_look_alikes_of_a_whole_file_are_found_by_one_statement(monkeypatch, copy):
    monkeypatch.setattr(services, "COPY_IMPORTS", copy)
    existing(name="C-7", external_ref="", email="", phone="")
    content = b"customer_ref,date,amount\n" + b"".join(
        f"C-{n},2026-03-02,5\n".encode() for n in range(1, 301)
    )

    with CaptureQueriesContext(connection) as queries:
        job = imported(ImportKind.TRANSACTIONS, content)

    assert job.customers_created == 300
    assert [line for line, _ in lookalikes(job)] == [8]  # C-7, on line 8
    searches = [q["sql"] for q in queries.captured_queries if "similarity" in q["sql"]]
    assert len([q for q in queries.captured_queries if "ARRAY(SELECT address_key" in q["sql"]]) == 1
    assert not searches  # a transaction file's names: equal keys only, no trigrams


def test_a_re_import_creates_nobody_and_names_nobody():
    existing(name="C-1", external_ref="", email="", phone="")
    content = b"customer_ref,date,amount\nC-1,2026-03-02,5\n"
    first = imported(ImportKind.TRANSACTIONS, content)
    again = imported(ImportKind.TRANSACTIONS, content)

    assert len(lookalikes(first)) == 1
    assert lookalikes(again) == []
