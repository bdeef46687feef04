"""The README's backup and restore commands round-trip the database: pg_dump of the test
database, pg_restore into a scratch database, the same customers and interactions come back."""

import subprocess
import uuid

import pytest
from django.db import connection

from customers.models import Customer
from interactions.models import Interaction

from .factories import CustomerFactory, OfferingFactory
from .valuation.history import log_order

pytestmark = pytest.mark.django_db(transaction=True)


def run(*command: str) -> str:
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_it_restores_a_dump_into_a_fresh_database(alice, tmp_path):
    customer = CustomerFactory(owner=alice, name="Zoë Backup")
    log_order(customer, OfferingFactory(), days_ago=3)
    server = ["-h", connection.settings_dict["HOST"] or "127.0.0.1", "-U", "postgres"]
    dump = tmp_path / "crm.dump"
    scratch = f"crm_restore_{uuid.uuid4().hex[:8]}"

    # The README's commands: a custom-format dump, restored into an empty database.
    run("pg_dump", *server, "--format=custom", f"--file={dump}", connection.settings_dict["NAME"])
    run("createdb", *server, scratch)
    try:
        run("pg_restore", *server, "--no-owner", f"--dbname={scratch}", str(dump))
        restored = run(
            "psql",
            *server,
            "-At",
            "-d",
            scratch,
            "-c",
            "SELECT (SELECT string_agg(name, ',') FROM customers_customer), "
            "(SELECT count(*) FROM interactions_interaction)",
        )
    finally:
        run("dropdb", *server, "--if-exists", scratch)

    assert restored.strip() == f"Zoë Backup|{Interaction.objects.count()}"
    assert Customer.objects.count() == 1
