"""A visitor's message becomes an inquiry in the support queue, on the customer it belongs to
(a new prospect to check when nobody has the address), and the learning loop runs."""

import pytest

from customers.models import Customer, CustomerEmail
from dataio.privacy import customer_erase
from events.models import Event
from interactions.models import Interaction
from interactions.selectors import support_queue
from tests.factories import CustomerFactory
from valuation.models import CustomerFigures
from webforms.models import Submission

from .helpers import filled

pytestmark = pytest.mark.django_db
URL = "/forms/contact/"


def test_an_unknown_sender_becomes_a_prospect_to_check_and_an_inquiry_in_the_queue(
    client, contact_form, charlie
):
    response = client.post(URL, filled(contact_form, phone="+46 8 123 45 67"))

    assert response.status_code == 200
    assert "we received your message" in response.content.decode()
    prospect = Customer.objects.get(email="greta@example.org")
    assert (prospect.name, prospect.status, prospect.owner, prospect.needs_triage) == (
        "Greta Lind",
        "prospect",
        None,
        True,
    )
    assert prospect.acquisition_source == "web form: Contact us"
    assert prospect.phone == "+46 8 123 45 67"
    inquiry = Interaction.objects.get(customer=prospect)
    assert (inquiry.channel, inquiry.direction, inquiry.type) == ("web", "inbound", "inquiry")
    assert inquiry.subject == "Contact us: Do you deliver to Malmö?"
    assert inquiry.notes == "Do you deliver to Malmö?\nWe are a café of 40 seats."
    assert inquiry.requires_response and inquiry.logged_by is None
    assert inquiry in support_queue(user=charlie)
    submission = Submission.objects.get()
    assert (submission.form, submission.customer, submission.interaction) == (
        contact_form,
        prospect,
        inquiry,
    )
    assert submission.fields["message"].startswith("Do you deliver")
    assert submission.client_hash and "127.0.0.1" not in submission.client_hash
    # The learning loop: the event left through the seam and the figures are marked stale.
    assert Event.objects.filter(name="interaction.logged", customer_id=prospect.pk).exists()
    assert CustomerFigures.objects.get(customer=prospect).figures_version >= 1


def test_a_known_address_reaches_its_customer_whatever_its_case(
    client, contact_form, alices_customer
):
    response = client.post(URL, filled(contact_form, email="  Anna@EXAMPLE.net ", name="Anna K."))

    assert response.status_code == 200
    assert Customer.objects.count() == 1
    inquiry = Interaction.objects.get()
    assert inquiry.customer == alices_customer
    assert "[Name given on the form: Anna K.]" in inquiry.notes
    alices_customer.refresh_from_db()
    assert not alices_customer.needs_triage


def test_another_address_of_a_customer_reaches_them_too(client, contact_form, alices_customer):
    CustomerEmail.objects.create(customer=alices_customer, address="anna.keller@work.example")

    client.post(URL, filled(contact_form, email="Anna.Keller@Work.Example", name="Anna Keller"))

    assert Interaction.objects.get().customer == alices_customer
    assert Customer.objects.count() == 1


def test_an_address_several_customers_share_goes_to_the_oldest_and_says_so(
    client, contact_form, alice, bob
):
    oldest = CustomerFactory(owner=alice, email="shop@example.org", name="Shop One")
    CustomerFactory(owner=bob, email="SHOP@example.org", name="Shop Two")

    client.post(URL, filled(contact_form, email="shop@example.org", name="Shop One"))

    inquiry = Interaction.objects.get()
    assert inquiry.customer == oldest
    assert "2 customers have the address shop@example.org: logged on the oldest." in inquiry.notes
    assert "Shop Two" not in inquiry.notes  # nothing about the other portfolio but the count


def test_the_phone_given_for_a_known_customer_is_kept_in_the_notes(
    client, contact_form, alices_customer
):
    client.post(URL, filled(contact_form, email="anna@example.net", name="Anna Keller",
                            phone="030 1234"))  # fmt: skip

    assert "[Phone given on the form: 030 1234]" in Interaction.objects.get().notes
    alices_customer.refresh_from_db()
    assert alices_customer.phone == ""  # the profile is the manager's to change


def test_the_same_page_sent_twice_is_stored_once(client, contact_form):
    data = filled(contact_form)
    assert client.post(URL, data).status_code == 200
    assert client.post(URL, data).status_code == 200  # a reload or a double click

    assert Submission.objects.count() == 1
    assert Interaction.objects.count() == 1


def test_the_form_decides_the_type_and_a_long_first_line_is_cut(client, contact_form):
    contact_form.interaction_type = "complaint"
    contact_form.save()

    client.post(URL, filled(contact_form, message="x" * 400 + "\nsecond line"))

    complaint = Interaction.objects.get()
    assert complaint.type == "complaint" and complaint.requires_response
    assert len(complaint.subject) == 200 and complaint.subject.endswith("…")


def test_whoever_is_signed_in_in_the_browser_is_not_the_sender(client, contact_form, charlie):
    client.force_login(charlie)

    client.post(URL, filled(contact_form))

    assert Interaction.objects.get().logged_by is None


def test_erasing_the_customer_erases_what_they_sent(client, contact_form, ada):
    client.post(URL, filled(contact_form))
    prospect = Customer.objects.get(email="greta@example.org")

    customer_erase(customer_id=prospect.pk, by=ada, reason="asked")

    submission = Submission.objects.get()
    assert submission.fields == {} and submission.client_hash == ""
