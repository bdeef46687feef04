from datetime import date, timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from accounts.roles import Role, role_of
from core import bounds
from customers.selectors import customers_editable_by
from interactions.choices import OfferOutcome
from interactions.models import Interaction
from valuation.selectors import latest_fit

from . import selectors, services
from .forms import OfferMakeForm


def _manager_only(request) -> None:
    if role_of(request.user) != Role.MANAGER:
        raise PermissionDenied("The workspace is for customer managers.")


@login_required
def todo(request):
    _manager_only(request)
    return render(
        request,
        "workspace/todo.html",
        {
            "todo": selectors.manager_todo(manager=request.user),
            "today": timezone.localdate(),
            "within_days": selectors.DUE_WITHIN_DAYS,
        },
    )


@login_required
def portfolio_map(request):
    _manager_only(request)
    fit = latest_fit()
    points = [
        {
            "name": row["name"],
            "tier": row["tier"],
            "clv": float(row["predicted_clv"]),
            "growth": float(row["growth_potential"] or 0),
            "url": reverse("customers:detail", args=[row["id"]]),
        }
        for row in selectors.portfolio_map(manager=request.user)
    ]
    return render(
        request,
        "workspace/map.html",
        {
            "map": {
                "points": points,
                "clv_threshold": fit.clv_threshold if fit else None,
                "growth_threshold": fit.growth_threshold if fit else None,
            },
            "points": points,
            "limit": selectors.MAP_LIMIT,
        },
    )


@login_required
@require_POST
def offer_make(request, customer_id: int):
    customer = get_object_or_404(customers_editable_by(request.user), pk=customer_id)
    eligible = [n.offering.pk for n in selectors.next_best_offerings(customer=customer)]
    form = OfferMakeForm(request.POST, eligible=eligible)
    if not form.is_valid():
        messages.error(request, "offering: choose one of the next best offerings shown.")
    else:
        offering = form.cleaned_data["offering"]
        services.offer_make(customer=customer, offering=offering, made_by=request.user)
        messages.success(request, f"Offer of {offering.name} recorded on the timeline.")
    return redirect("customers:detail", customer_id=customer.pk)


@login_required
@require_POST
def offer_outcome(request, interaction_id: int):
    interaction = get_object_or_404(
        Interaction.objects.filter(customer__in=customers_editable_by(request.user)),
        pk=interaction_id,
    )
    try:
        services.offer_outcome_record(
            interaction=interaction, outcome=request.POST.get("outcome", "")
        )
    except ValidationError as error:
        messages.error(
            request, "; ".join(f"{k}: {' '.join(v)}" for k, v in error.message_dict.items())
        )
    else:
        label = OfferOutcome(request.POST["outcome"]).label.lower()
        messages.success(request, f"{interaction.offer} marked as {label}.")
    return redirect("customers:detail", customer_id=interaction.customer_id)


def _date(value: str, default: date) -> tuple[date, str]:
    """A report date from the query string, within the report window (core.bounds)."""
    if not value:
        return default, ""
    try:
        day = date.fromisoformat(value)
    except ValueError:
        return default, f"'{value}' is not a date (YYYY-MM-DD)."
    try:
        bounds.validate_report_on(day)
    except ValidationError as error:
        return default, " ".join(error.messages)
    return day, ""


@login_required
def scorecards(request):
    if role_of(request.user) != Role.ADMIN:
        raise PermissionDenied("Scorecards are for admins.")
    today = timezone.localdate()
    end, end_error = _date(request.GET.get("end", ""), today)
    start, start_error = _date(request.GET.get("start", ""), end - timedelta(days=30))
    errors = {k: v for k, v in (("start", start_error), ("end", end_error)) if v}
    if start > end:
        errors["start"] = "The start must not be after the end."
        start = end - timedelta(days=30)
    return render(
        request,
        "workspace/scorecards.html",
        {
            "cards": selectors.manager_scorecards(start=start, end=end),
            "start": start,
            "end": end,
            "errors": errors,
        },
        status=400 if errors else 200,
    )
