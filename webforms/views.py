"""The hosted contact form: public, no sign-in, shown inside an iframe on the firm's sites.

CSRF: this view is exempt, on purpose. Django's CSRF check needs its cookie, and inside an
iframe on another site our page is a third-party document: browsers withhold SameSite=Lax
cookies there (and block third-party cookies altogether more and more), so the check would
refuse every honest visitor. Nothing here rides on a session either — whoever is signed in
in this browser is ignored (`request.user` is anonymous), so a forged post can do nothing a
visitor could not do by filling in the form. What a CSRF token would add (a post comes from a
page we served) the signed page token gives instead (webforms.tokens: this form, served at
least 3 s and at most a day ago), with the honeypot and the per-address rate limit.
"""

from csp.constants import SELF
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ValidationError
from django.db import IntegrityError
from django.http import Http404
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from core.forms import form_add_service_errors
from core.ratelimit import client_address, rate_limit_hit

from . import selectors, services, tokens
from .forms import HONEYPOT, ContactPageForm
from .models import ContactForm, Submission

TOO_MANY = "Too many messages from here for now. Please try again in an hour, or call us."


def _framed(response, contact_form: ContactForm):
    """Only the form's allowed origins (and our own pages: the admin's preview) may show this
    response in a frame. The CSP replaces the site-wide `frame-ancestors 'none'` for this
    response only — what django-csp's `csp_replace` decorator sets, with this form's origins —
    and the X-Frame-Options header, which cannot name origins, is left out (the view is
    exempt)."""
    response._csp_replace = {"frame-ancestors": [SELF, *contact_form.origins()]}
    return response


def _page(request, contact_form, form, *, status=200):
    form.initial["token"] = tokens.page_token_make(form_id=contact_form.pk)
    # A bound form shows what was sent: give it the fresh token too.
    if form.is_bound:
        data = form.data.copy()
        data["token"] = form.initial["token"]
        form.data = data
    return render(
        request,
        "webforms/form.html",
        {"contact_form": contact_form, "form": form, "honeypot": form[HONEYPOT]},
        status=status,
    )


def _thanks(request, contact_form):
    return render(request, "webforms/thanks.html", {"contact_form": contact_form})


@csrf_exempt  # see the module's docstring
@xframe_options_exempt  # frame-ancestors says who may frame it (_framed)
@never_cache  # every page carries its own token
@require_http_methods(["GET", "POST"])
def contact_form_page(request, slug: str):
    request.user = AnonymousUser()  # a visitor's page, whoever is signed in in this browser
    contact_form = selectors.contact_form_published(slug=slug)
    if contact_form is None:
        raise Http404("No such form.")
    return _framed(_contact_form_answer(request, contact_form), contact_form)


def _contact_form_answer(request, contact_form: ContactForm):
    if request.method == "GET":
        return _page(request, contact_form, ContactPageForm())
    address = client_address(request)
    if rate_limit_hit(scope="webform-post", ident=address, rate=settings.WEBFORM_RATE_PER_IP):
        response = render(
            request,
            "webforms/refused.html",
            {"contact_form": contact_form, "reason": TOO_MANY},
            status=429,
        )
        response["Retry-After"] = "3600"
        return response
    if request.POST.get(HONEYPOT):
        return _thanks(request, contact_form)  # looks accepted to the robot; nothing is kept
    form = ContactPageForm(request.POST)
    if not form.is_valid():
        return _page(request, contact_form, form, status=400)
    try:
        page = tokens.page_token_check(form.cleaned_data["token"], form_id=contact_form.pk)
    except tokens.TokenRefused as refused:
        form.add_error(None, str(refused))
        return _page(request, contact_form, form, status=400)
    data = form.cleaned_data
    sent = services.WebMessage(
        name=data["name"], email=data["email"], phone=data["phone"], message=data["message"]
    )
    try:
        services.webform_submit(
            form=contact_form, sent=sent, nonce=page.nonce, client_address=address
        )
    except ValidationError as error:
        form_add_service_errors(form, error)
        return _page(request, contact_form, form, status=400)
    except IntegrityError:
        # The same page sent twice at the same moment (a double click): the other request
        # stored it. Anything else is a real error.
        if not Submission.objects.filter(nonce=page.nonce).exists():
            raise
    return _thanks(request, contact_form)
