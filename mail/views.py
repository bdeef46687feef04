"""The conversation page and its actions (docs/email.md, "Conversation page"). Thin: access
through the selectors (another portfolio's conversation reads like a missing one), writes
through the services."""

import re

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from core.forms import form_add_service_errors
from customers.services import customer_email_add, customer_triage_clear
from interactions.choices import Direction

from . import selectors, services, tasks
from .forms import ReplyForm
from .models import Match, MessageKind

# Types a browser could render or run when opened: always downloaded as plain bytes.
RENDERABLE = re.compile(r"html|xml|svg|javascript|ecmascript|xhtml", re.IGNORECASE)


def _conversation_or_404(request, root_id: int) -> selectors.Conversation:
    conversation = selectors.conversation_get(root_id=root_id, user=request.user)
    if conversation is None:
        raise Http404("No such conversation.")
    return conversation


def _int(value) -> int | None:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if 0 < number < 2**63 else None


def _default_reply_to(items) -> int:
    """The item a reply answers unless the person picks another: the oldest inbound item still
    waiting for its first response, else the latest inbound item, else the conversation."""
    inbound = [item for item in items if item.direction == Direction.INBOUND]
    waiting = [item for item in inbound if item.requires_response and not item.first_response_at]
    if waiting:
        return waiting[0].pk
    return inbound[-1].pk if inbound else items[0].pk


def _reply_address(conversation) -> str:
    """Where a reply goes, as the service decides it: the address the customer last wrote
    from in this thread, else their main address."""
    for item in reversed(conversation.items):
        message = getattr(item, "message", None)
        if (
            message is not None
            and message.direction == Direction.INBOUND
            and message.kind == MessageKind.REGULAR
            and message.from_address
        ):
            return message.from_address
    return conversation.customer.email


def _page(
    request,
    conversation,
    form: ReplyForm,
    *,
    status: int = 200,
    canned_error: str = "",
    canned_id: int | None = None,
):
    items = conversation.items
    customer = conversation.customer
    to = _reply_address(conversation)
    known = selectors.customer_addresses(customer)
    html_of = _int(request.GET.get("html"))
    for item in items:
        message = getattr(item, "message", None)
        item.mail = message
        item.show_html = bool(message is not None and message.html and message.pk == html_of)
        item.address_unknown = bool(
            message is not None
            and message.direction == Direction.INBOUND
            and message.match == Match.THREAD
            and message.from_address
            and message.from_address.lower() not in known
        )
    return render(
        request,
        "mail/conversation.html",
        {
            "conversation": conversation,
            "customer": customer,
            "items": items,
            "form": form,
            "reply_address": to,
            "bouncing": bool(to) and to.lower() in selectors.addresses_bouncing([to]),
            "canned_replies": selectors.canned_replies(),
            "canned_error": canned_error,
            "canned_id": canned_id,
            "reply_to_item": next(
                (i for i in items if str(i.pk) == str(form["reply_to"].value())), items[0]
            ),
        },
        status=status,
    )


@login_required
@permission_required("interactions.view_interaction", raise_exception=True)
def conversation(request, root_id: int):
    found = selectors.conversation_get(root_id=root_id, user=request.user)
    if found is None:
        # An item in the middle of a thread opens its conversation (if the user may see it).
        root = selectors.conversation_root_id(interaction_id=root_id, user=request.user)
        if root is None or root == root_id:
            raise Http404("No such conversation.")
        return redirect("mail:conversation", root_id=root)
    ids = {item.pk for item in found.items}
    reply_to = _int(request.GET.get("reply_to"))
    initial = {"reply_to": reply_to if reply_to in ids else _default_reply_to(found.items)}
    canned_error = ""
    canned_id = _int(request.GET.get("canned"))
    if canned_id is not None:
        canned = selectors.canned_replies().filter(pk=canned_id).first()
        if canned is None:
            canned_error = "No such canned reply."
        else:
            try:
                initial["body"] = services.canned_reply_render(
                    canned=canned, customer=found.customer, user=request.user
                )
            except ValidationError as error:
                canned_error = " ".join(error.messages)
    return _page(
        request,
        found,
        ReplyForm(initial=initial),
        canned_error=canned_error,
        canned_id=canned_id,
    )


@login_required
@permission_required("interactions.add_interaction", raise_exception=True)
@require_POST
def conversation_reply(request, root_id: int):
    found = _conversation_or_404(request, root_id)
    form = ReplyForm(request.POST)
    if form.is_valid():
        item = next((i for i in found.items if i.pk == form.cleaned_data["reply_to"]), None)
        if item is None:
            form.add_error("reply_to", "No such item in this conversation.")
        else:
            try:
                services.mail_reply_send(
                    interaction=item,
                    body=form.cleaned_data["body"],
                    cc=form.cleaned_data["cc"],
                    attachments=request.FILES.getlist("attachments"),
                    sent_by=request.user,
                    send=tasks.mail_send_request,
                )
            except ValidationError as error:
                form_add_service_errors(form, error)
            else:
                messages.success(request, "Reply queued: it goes out in a moment.")
                return redirect(reverse("mail:conversation", args=[found.root.pk]) + "#latest")
    return _page(request, found, form, status=400)


@login_required
@permission_required("interactions.add_interaction", raise_exception=True)
@require_POST
def message_send_again(request, message_id: int):
    message = selectors.message_visible(message_id=message_id, user=request.user)
    if message is None or message.interaction is None:
        raise Http404("No such message.")
    if services.mail_send_again(message=message, send=tasks.mail_send_request):
        messages.success(request, "Queued again: it goes out in a moment.")
    else:
        messages.info(request, "This message is not waiting to be sent again.")
    root = services.root_id_of(message.interaction)
    return redirect(reverse("mail:conversation", args=[root]) + f"#item-{message.interaction_id}")


@login_required
@permission_required("interactions.change_interaction", raise_exception=True)
@require_POST
def sender_address_add(request, message_id: int):
    """Support or the manager confirm that a reply from an address not on file is the
    customer's: mail from it reaches them from now on."""
    message = selectors.message_visible(message_id=message_id, user=request.user)
    if message is None or message.interaction is None or not message.from_address:
        raise Http404("No such message.")
    customer = message.interaction.customer
    try:
        added = customer_email_add(customer=customer, address=message.from_address)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        if added:
            messages.success(request, f"{message.from_address} is now an address of {customer}.")
        else:
            messages.info(request, f"{message.from_address} was already {customer}'s.")
    root = services.root_id_of(message.interaction)
    return redirect("mail:conversation", root_id=root)


@login_required
@permission_required("interactions.change_interaction", raise_exception=True)
@require_POST
def triage_clear(request, root_id: int):
    found = _conversation_or_404(request, root_id)
    if customer_triage_clear(customer=found.customer):
        messages.success(request, f"{found.customer} stays a new prospect.")
    return redirect("mail:conversation", root_id=found.root.pk)


@login_required
@permission_required("interactions.view_interaction", raise_exception=True)
def attachment_download(request, attachment_id: int):
    attachment = selectors.attachment_visible(attachment_id=attachment_id, user=request.user)
    if attachment is None or not attachment.file:
        raise Http404("No such attachment.")
    content_type = attachment.content_type or "application/octet-stream"
    if RENDERABLE.search(content_type) or not re.fullmatch(r"[\w.+-]+/[\w.+-]+", content_type):
        content_type = "application/octet-stream"
    response = FileResponse(
        attachment.file.open("rb"),
        as_attachment=True,
        filename=attachment.filename or "attachment",
        content_type=content_type,
    )
    response["X-Content-Type-Options"] = "nosniff"
    return response
