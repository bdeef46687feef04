"""The customer's requests in the portal: the list, one conversation and its reply box
(portal/requests.py). A request of another customer, or none, is a 404."""

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from core.ratelimit import rate_limit_hit

from . import requests
from .account_views import customer_required

TOO_MANY = "Too many messages sent. Please try again in an hour."


class ReplyForm(forms.Form):
    text = forms.CharField(
        widget=forms.Textarea, max_length=requests.REPLY_TEXT_MAX, label="Your reply"
    )
    nonce = forms.RegexField(
        regex=requests.NONCE,
        widget=forms.HiddenInput,
        error_messages={"invalid": "This form is out of date: reload the page."},
    )


def _errors(error) -> list[str]:
    if isinstance(error, ValidationError):
        items = error.message_dict.items() if hasattr(error, "error_dict") else []
        items = items or [("__all__", error.messages)]
    else:
        items = error.errors.items()
    labels = {"text": "Your reply: ", "nonce": "", "__all__": ""}
    return [
        f"{labels.get(field, field + ': ')}{message}"
        for field, messages in items
        for message in messages
    ]


@require_GET
@customer_required
def request_list(request, customer):
    return render(
        request,
        "portal/requests.html",
        {"customer": customer, "requests": requests.requests_of_customer(customer=customer)},
    )


def _detail(request, customer, root_id: int, *, form=None, errors=(), status=200):
    conversation = requests.request_conversation(customer=customer, root_id=root_id)
    if conversation is None:
        raise Http404("No such request.")
    form = form or ReplyForm(initial={"nonce": requests.reply_nonce()})
    if form.is_bound:  # a refused reply: what they wrote stays, with a fresh form token
        form = ReplyForm(
            initial={"text": form.data.get("text", ""), "nonce": requests.reply_nonce()}
        )
    return render(
        request,
        "portal/request_detail.html",
        {
            "customer": customer,
            "conversation": conversation,
            "form": form,
            "errors": list(errors),
            "sent": request.GET.get("sent") == "1",
        },
        status=status,
    )


@require_GET
@customer_required
def request_detail(request, customer, root_id: int):
    return _detail(request, customer, root_id)


@require_POST
@customer_required
def request_reply(request, customer, root_id: int):
    root = requests.request_root(customer=customer, root_id=root_id)
    if root is None:
        raise Http404("No such request.")
    form = ReplyForm(request.POST)
    if rate_limit_hit(
        scope="portal-request-reply", ident=str(customer.pk), rate=settings.PORTAL_REPLY_RATE
    ):
        response = _detail(request, customer, root_id, form=form, errors=[TOO_MANY], status=429)
        response["Retry-After"] = "3600"
        return response
    if not form.is_valid():
        return _detail(request, customer, root_id, form=form, errors=_errors(form), status=400)
    try:
        requests.portal_request_reply(
            customer=customer,
            root=root,
            text=form.cleaned_data["text"],
            nonce=form.cleaned_data["nonce"],
        )
    except ValidationError as error:
        return _detail(request, customer, root_id, form=form, errors=_errors(error), status=400)
    return redirect(f"{reverse('portal:request-detail', args=[root.pk])}?sent=1#latest")
