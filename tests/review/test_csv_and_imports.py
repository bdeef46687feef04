"""Issue 14, items 3 and 7: every CSV the application writes is safe to open in a spreadsheet,
and an import never ends half-applied, silently stale or "running" for good."""

import csv
import io
import re
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from customers.models import Customer
from dataio.models import ImportKind, ImportStatus
from dataio.services import import_job_create, import_job_run

from ..factories import CustomerFactory

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
    Customer.objects.update(growth_potential=Decimal("-12.50"), predicted_clv=Decimal("-0.75"))
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
    Customer.objects.update(growth_potential=Decimal("-12.50"))
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
