"""The signed-in customer's pages: sign-in by a link mailed to them, their home, their
subscriptions. A customer is `request.session["portal_customer_id"]`, never `request.user`
(portal/signin.py); staff signed in here are nobody to these pages."""

from functools import wraps

from django import forms
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ValidationError
from django.db.models import Prefetch
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from core import bounds
from core.ratelimit import client_address, rate_limit_hit
from customers import facts as customer_facts
from customers.preference_links import preference_link_token
from interactions.choices import InteractionType
from interactions.models import Interaction, OrderLine
from replenishment.models import ReplenishmentSubscription, SubscriptionStatus

from . import community, ideas, services, signin, tasks

TOO_MANY = "Too many sign-in links asked for. Please try again in an hour."
CHECK_INBOX = (
    "If this address is one we know you by, a sign-in link is on its way to it. "
    "It works once, within {minutes} minutes."
)


class SignInForm(forms.Form):
    email = forms.EmailField(label="Your e-mail address", max_length=254)


class IntervalForm(forms.Form):
    interval_days = forms.IntegerField(
        label="Every how many days", min_value=1, max_value=bounds.INTERVAL_DAYS_MAX
    )


def customer_required(view):
    """The page of a signed-in customer; anyone else goes to the portal's sign-in page."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        customer = signin.portal_session_customer(request)
        if customer is None:
            return redirect("portal:sign-in")
        request.user = AnonymousUser()  # nothing staff-side shows or applies here
        return view(request, customer, *args, **kwargs)

    return never_cache(wrapper)


@never_cache
@require_http_methods(["GET", "POST"])
def sign_in(request):
    form = SignInForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        address = form.cleaned_data["email"].strip().lower()
        # Both limits count every request, known address or not, so they reveal nothing.
        over_ip = rate_limit_hit(
            scope="portal-sign-in-ip",
            ident=client_address(request),
            rate=settings.PORTAL_SIGN_IN_RATE_PER_IP,
        )
        over_address = rate_limit_hit(
            scope="portal-sign-in-address",
            ident=address,
            rate=settings.PORTAL_SIGN_IN_RATE_PER_ADDRESS,
        )
        if over_ip or over_address:
            response = render(
                request, "portal/sign_in.html", {"form": form, "refused": TOO_MANY}, status=429
            )
            response["Retry-After"] = "3600"
            return response
        tasks.portal_sign_in_request(
            address=address,
            link_base=request.build_absolute_uri(reverse("portal:sign-in")),
        )
        return render(
            request,
            "portal/sign_in_sent.html",
            {"message": CHECK_INBOX.format(minutes=settings.PORTAL_SIGN_IN_MINUTES)},
        )
    status = 400 if request.method == "POST" else 200
    return render(request, "portal/sign_in.html", {"form": form}, status=status)


@never_cache
@require_http_methods(["GET", "POST"])
def sign_in_confirm(request, token: str):
    """GET only shows a button (mail scanners open links); the POST uses the link."""
    try:
        if request.method == "POST":
            customer = signin.portal_sign_in_redeem(token=token)
        else:
            customer = signin.portal_sign_in_link(token=token).customer
    except signin.SignInLinkSpent as error:
        return render(request, "portal/sign_in_spent.html", {"reason": str(error)}, status=410)
    except signin.SignInLinkInvalid as error:
        return render(request, "portal/sign_in_spent.html", {"reason": str(error)}, status=400)
    if request.method == "GET":
        return render(request, "portal/sign_in_confirm.html", {"customer": customer})
    signin.portal_session_start(request, customer)
    return redirect("portal:home")


@require_POST
def sign_out(request):
    # Only a customer's session ends here: staff signed in in this browser stay signed in.
    if signin.SESSION_KEY in request.session:
        request.session.flush()
    return redirect("portal:sign-in")


def home_context(customer, *, errors=None) -> dict:
    facts = customer_facts.customer_current_facts(customer_id=customer.pk, money=False).filter(
        key__customer_editable=True
    )
    orders = (
        Interaction.objects.filter(customer=customer, type=InteractionType.ORDER)
        .prefetch_related(Prefetch("lines", queryset=OrderLine.objects.select_related("offering")))
        .order_by("-occurred_at", "-pk")
    )
    subscriptions = list(
        ReplenishmentSubscription.objects.filter(customer=customer)
        .exclude(status=SubscriptionStatus.CANCELLED)
        .select_related("offering")
    )
    for subscription in subscriptions:
        subscription.errors = (errors or {}).get(subscription.pk, [])
    account = community.portal_account_for(customer=customer)
    reviews = {r.offering_id: r for r in community.reviews_of_customer(customer_id=customer.pk)}
    to_review = list(community.offerings_to_review(customer=customer))
    for offering in to_review:
        offering.my_review = reviews.get(offering.pk)
    return {
        "customer": customer,
        "facts": facts,
        "orders": orders,
        "subscriptions": subscriptions,
        "account": account,
        "to_review": to_review,
        # What moderation did with their reviews (a note; the author is mailed too).
        "review_news": [o for o in to_review if o.my_review and o.my_review.status == "published"],
        # The same for their tips and ideas (answered, or an idea's status set).
        **ideas.post_news_of(customer_id=customer.pk),
    }


@customer_required
@require_GET
def home(request, customer):
    return render(request, "portal/home.html", home_context(customer))


@customer_required
@require_GET
def preferences(request, customer):
    """The signed-in customer's preference centre: a freshly signed link to it (the links
    staff sent keep working; none is withdrawn)."""
    return redirect("preference-centre", token=preference_link_token(customer=customer))


def subscription_action(action: str):
    @require_POST
    @customer_required
    def view(request, customer, subscription_id: int):
        # Another customer's subscription is a missing one.
        subscription = (
            ReplenishmentSubscription.objects.filter(pk=subscription_id, customer=customer)
            .select_related("offering")
            .first()
        )
        if subscription is None:
            raise Http404("No such subscription.")
        interval_days = None
        if action == "interval":
            form = IntervalForm(request.POST)
            if not form.is_valid():
                return _refused(request, customer, subscription, form.errors.get_json_data())
            interval_days = form.cleaned_data["interval_days"]
        try:
            services.portal_subscription_change(
                customer=customer,
                subscription=subscription,
                action=action,
                interval_days=interval_days,
            )
        except ValidationError as error:
            errors = error.message_dict if hasattr(error, "error_dict") else None
            return _refused(request, customer, subscription, errors or {"__all__": error.messages})
        return redirect(f"{reverse('portal:home')}#subscription-{subscription.pk}")

    view.__name__ = f"subscription_{action}"
    return view


def _refused(request, customer, subscription, errors: dict):
    messages = []
    for field, items in errors.items():
        for item in items:
            text = item["message"] if isinstance(item, dict) else str(item)
            label = "" if field == "__all__" else f"{field.replace('_', ' ')}: "
            messages.append(f"{label}{text}")
    return render(
        request,
        "portal/home.html",
        home_context(customer, errors={subscription.pk: messages}),
        status=400,
    )


subscription_pause = subscription_action("pause")
subscription_resume = subscription_action("resume")
subscription_skip = subscription_action("skip")
subscription_interval = subscription_action("interval")
