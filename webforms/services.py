"""Writes of web forms: a visitor's message becomes an inbound interaction of the learning loop."""

from dataclasses import dataclass

from django.db import transaction
from django.utils.crypto import salted_hmac

from customers.models import Customer, email_normalise
from customers.selectors import customers_by_email
from customers.services import customer_prospect_create
from interactions.choices import Channel, Direction
from interactions.services import interaction_log

from .models import ContactForm, Submission

SUBJECT_MAX = 200  # interactions.Interaction.subject


@dataclass(frozen=True)
class WebMessage:
    """What the visitor wrote, already bounded and validated by the page's form."""

    name: str
    email: str
    phone: str
    message: str


def client_hash(address: str) -> str:
    """A keyed hash of the client's address: submissions from one address can be grouped, the
    address itself (personal data) is not stored, nor guessable without the SECRET_KEY."""
    if not address:
        return ""
    return salted_hmac("webforms.client", address, algorithm="sha256").hexdigest()


def submission_subject(*, form: ContactForm, message: str) -> str:
    """`<form name>: <first line of the message>`, as long as a subject may be."""
    first = next((line.strip() for line in message.splitlines() if line.strip()), "")
    subject = f"{form.name}: {first}" if first else form.name
    return subject if len(subject) <= SUBJECT_MAX else subject[: SUBJECT_MAX - 1] + "…"


@transaction.atomic
def webform_submit(
    *, form: ContactForm, sent: WebMessage, nonce: str, client_address: str
) -> Submission:
    """Log a visitor's message as an inbound web interaction of the customer the address
    belongs to (a new prospect flagged for triage when nobody has it), and keep what was sent.

    The same page sent twice (its token's nonce) is stored once: the first submission is
    returned again.
    """
    earlier = Submission.objects.filter(nonce=nonce).first()
    if earlier is not None:
        return earlier
    email = email_normalise(sent.email)
    matches = customers_by_email([email]).get(email, [])
    said: list[str] = []
    if matches:
        # The oldest of several: the one most likely to be the person, never a new duplicate.
        customer = Customer.objects.get(pk=matches[0])
        if len(matches) > 1:
            said.append(
                f"{len(matches)} customers have the address {email}: logged on the oldest. "
                "Check whether they are the same person."
            )
        if sent.name and sent.name.casefold() != customer.name.casefold():
            said.append(f"Name given on the form: {sent.name}")
        if sent.phone and sent.phone != customer.phone:
            said.append(f"Phone given on the form: {sent.phone}")
    else:
        customer = customer_prospect_create(
            name=sent.name, email=email, phone=sent.phone, source=f"web form: {form.name}"
        )
    notes = "\n\n".join([sent.message, *(f"[{line}]" for line in said)])
    interaction = interaction_log(
        customer=customer,
        logged_by=None,
        channel=Channel.WEB,
        direction=Direction.INBOUND,
        type=form.interaction_type,
        subject=submission_subject(form=form, message=sent.message),
        notes=notes,
    )
    submission = Submission(
        form=form,
        interaction=interaction,
        customer=customer,
        client_hash=client_hash(client_address),
        nonce=nonce,
        fields={
            "name": sent.name,
            "email": sent.email,
            "phone": sent.phone,
            "message": sent.message,
        },
    )
    submission.full_clean(exclude=["form", "interaction", "customer", "nonce"])
    submission.save()
    return submission


def submissions_personal_data_erase(*, customer_id: int) -> int:
    """The customer was erased (dataio): what they sent goes too; the rows stay as counts."""
    return Submission.objects.filter(customer_id=customer_id).update(fields={}, client_hash="")


def submissions_customer_merge(*, survivor_id: int, duplicate_id: int) -> dict[str, dict]:
    """What the duplicate sent becomes the survivor's, in the merge's transaction."""
    moved = Submission.objects.filter(customer_id=duplicate_id).update(customer_id=survivor_id)
    return {"webforms.Submission.customer": {"moved": moved}}
