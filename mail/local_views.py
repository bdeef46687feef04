"""Pages of the local mailbox (embedded default only; 404 when mail really leaves): what the
app sent, and a form to answer as the customer, which goes in through the same service as
IMAP, the pipe and the inbound endpoint (mail.inbound)."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from accounts.roles import Role, role_of

from .inbound import mail_receive
from .local import customer_message_build, local_mailbox_enabled, local_message, local_messages
from .models import Via


def _one_line(value: str) -> str:
    if "\r" in value or "\n" in value:
        raise forms.ValidationError("One line only.")
    return value


class CustomerAnswerForm(forms.Form):
    sender = forms.EmailField(label="From (the customer's address)")
    to = forms.EmailField(label="To")
    subject = forms.CharField(max_length=200, validators=[_one_line])
    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 8}), max_length=20_000)
    in_reply_to = forms.CharField(required=False, max_length=998, widget=forms.HiddenInput)
    references = forms.CharField(required=False, max_length=4000, widget=forms.HiddenInput)
    keep_headers = forms.BooleanField(
        required=False,
        initial=True,
        label="Keep the threading headers (untick: a client that keeps only the subject)",
    )


def _allowed(request) -> None:
    if not local_mailbox_enabled():
        raise Http404("Mail is sent by a real mail server here.")
    if role_of(request.user) not in (Role.ADMIN, Role.SUPPORT):
        raise PermissionDenied


@login_required
def local_mailbox(request):
    _allowed(request)
    return render(request, "mail/local_list.html", {"items": local_messages(limit=100)})


@login_required
@require_http_methods(["GET", "POST"])
def local_answer(request, key: str = ""):
    """Answer a sent message as the customer (key), or write in from scratch (no key)."""
    _allowed(request)
    sent = local_message(key) if key else None
    if key and sent is None:
        raise Http404("No such message in the local mailbox.")
    initial = {"keep_headers": True}
    if sent is not None:
        subject = sent.subject
        initial.update(
            sender=sent.to.split(",")[0].strip(),
            to=sent.reply_to or sent.header("From"),
            subject=subject if subject.lower().startswith("re:") else f"Re: {subject}",
            body="\n\n> ".join(["Thank you!", *sent.body.splitlines()[:20]]),
            in_reply_to=sent.message_id,
            references=f"{sent.header('References')} {sent.message_id}".strip(),
        )
    form = CustomerAnswerForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        keep = data["keep_headers"]
        raw = customer_message_build(
            sender=data["sender"],
            to=data["to"],
            subject=data["subject"],
            body=data["body"],
            in_reply_to=data["in_reply_to"] if keep else "",
            references=data["references"] if keep else "",
        )
        received = mail_receive(raw, via=Via.LOCAL)
        messages.success(request, "The customer's message arrived.")
        item = received.message.interaction
        if item is not None:
            return redirect(reverse("customers:detail", args=[item.customer_id]))
        return redirect("mail-local:list")
    status = 400 if request.method == "POST" else 200
    return render(request, "mail/local_answer.html", {"form": form, "sent": sent}, status=status)
