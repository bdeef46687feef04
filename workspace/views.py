"""The staff pages that compose several apps: the manager's portfolio, the customer page,
the to-do list, the map, the scorecards and the model check (SPEC §5, §6)."""

from datetime import date, timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import F
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from accounts.roles import Role, role_of
from core import bounds
from core.money import can_see_money
from core.people import person_name
from customers import facts as customer_facts
from customers import preference_links
from customers import selectors as customer_selectors
from customers.forms import CustomerEmailForm
from customers.models import LifecycleStatus
from customers.selectors import customers_editable_by
from customers.services import customer_triage_clear
from interactions import selectors as interaction_selectors
from interactions.choices import Channel, InteractionType, OfferOutcome
from interactions.models import Interaction
from interactions.services import interaction_offer_answer, interaction_offer_order
from offerings.models import Category
from valuation import selectors as valuation_selectors
from valuation.selectors import latest_fit

from . import services
from .forms import GlobalSearchForm, OfferMakeForm, TodoActionForm, TodoReassignForm, TodoSnoozeForm
from .models import TodoKind
from .selectors import (
    next_best,
    next_due,
    scorecards,
    search,
    triage,
)
from .selectors import (
    portfolio as portfolio_selectors,
)
from .selectors import (
    todo as todo_selectors,
)

PAGE_SIZE = 25
PORTFOLIO_COLUMNS = [
    ("name", "Customer", False),
    ("tier", "Tier", False),
    ("predicted_clv", "Predicted CLV", True),
    ("share_of_customer", "Share of customer", True),
    ("p_alive", "P(active)", True),
    ("last_contact_at", "Last contact", False),
    ("next_due", "Next due action", False),
]
# Sort key in the URL → the column it sorts on. The next due action sorts on its stored,
# indexed copy (the customer's agenda); the page shows the live one.
PORTFOLIO_SORTS = {
    "name": "name",
    "tier": "figures__tier",
    "predicted_clv": "figures__predicted_clv",
    "share_of_customer": "figures__share_of_customer",
    "p_alive": "figures__p_alive",
    "last_contact_at": "figures__last_contact_at",
    "growth_potential": "figures__growth_potential",
    "next_due": "next_due_on",
}


def _manager_only(request) -> None:
    if role_of(request.user) != Role.MANAGER:
        raise PermissionDenied("The workspace is for customer managers.")


@login_required
def portfolio(request):
    if role_of(request.user) != Role.MANAGER:
        return redirect("customers:list")
    filters = {
        "search": request.GET.get("q", ""),
        "status": request.GET.get("status", ""),
        "tier": request.GET.get("tier", ""),
        "need": request.GET.get("need", ""),
    }
    sort = request.GET.get("sort", "-predicted_clv")
    if sort.lstrip("-") not in PORTFOLIO_SORTS:
        sort = "-predicted_clv"
    field = F(PORTFOLIO_SORTS[sort.lstrip("-")])
    ordering = field.desc(nulls_last=True) if sort.startswith("-") else field.asc(nulls_last=True)
    customers = portfolio_selectors.portfolio_of_tier(
        customer_selectors.customer_portfolio(manager=request.user, filters=filters),
        tier=filters["tier"],
    )
    if filters["need"].isdigit():
        customers = portfolio_selectors.with_need(customers, category_id=int(filters["need"]))
    else:
        filters["need"] = ""
    counted = customers
    if sort.lstrip("-") == "next_due":
        customers = portfolio_selectors.with_stored_next_due(customers, manager=request.user)
        customers = customers.select_related("figures")
    else:
        customers = portfolio_selectors.portfolio_with_figures(customers, manager=request.user)
    customers = next_due.with_next_due_action(customers)
    paginator = Paginator(customers.order_by(ordering, "id"), PAGE_SIZE)
    # Counted on the customers alone: each has one agenda and one figures row, whose join
    # would double the cost.
    paginator.count = counted.count()
    page = paginator.get_page(request.GET.get("page"))
    for customer in page:
        customer.next_due_label = next_due.next_due_label(customer)
    totals = portfolio_selectors.portfolio_totals(manager=request.user)
    trend = [
        {"day": row["day"].isoformat(), "equity": float(row["equity"])}
        for row in portfolio_selectors.equity_trend(
            manager=request.user, today_equity=totals["customer_equity"]
        )
    ]
    return render(
        request,
        "workspace/portfolio.html",
        {
            "page": page,
            "filters": filters,
            "sort": sort,
            "statuses": LifecycleStatus.choices,
            "tiers": portfolio_selectors.portfolio_tier_choices(),
            "needs": Category.objects.filter(fact_keys__kind="need").distinct().order_by("name"),
            "columns": PORTFOLIO_COLUMNS,
            "totals": totals,
            "equity_trend": trend,
            "today": timezone.localdate(),
        },
    )


TIMELINE_PAGE_SIZE = 20


@login_required
def customer_page(request, customer_id: int):
    visible = customer_selectors.customers_visible_to(request.user).select_related("figures")
    customer = visible.filter(pk=customer_id).first()
    if customer is None:
        survivor = customer_selectors.customer_survivor_visible_to(request.user, customer_id)
        if survivor is not None:
            # A merged customer's old link (bookmarks, mails): the survivor's page. 302, as
            # whether it redirects depends on who asks.
            location = reverse("customers:detail", args=[survivor])
            query = request.META.get("QUERY_STRING")
            return redirect(f"{location}?{query}" if query else location)
        customer = get_object_or_404(visible, pk=customer_id)
    sees_money = can_see_money(request.user)
    timeline = interaction_selectors.customer_timeline(
        customer_id=customer.pk, with_amounts=sees_money
    )
    timeline_filters = {
        "channel": request.GET.get("channel", ""),
        "type": request.GET.get("type", ""),
    }
    if timeline_filters["channel"] in Channel.values:
        timeline = timeline.filter(channel=timeline_filters["channel"])
    if timeline_filters["type"] in InteractionType.values:
        timeline = timeline.filter(type=timeline_filters["type"])
    timeline_page = Paginator(timeline, TIMELINE_PAGE_SIZE).get_page(request.GET.get("page"))
    preference_link = None  # erased: no preference centre
    if customer.preference_link_version is not None:
        preference_link = request.build_absolute_uri(
            reverse(
                "preference-centre",
                args=[preference_links.preference_link_token(customer=customer)],
            )
        )
    # Managers and admins see why each money figure is what it is; support sees the tier and
    # the plain-language line without its amounts.
    explained = valuation_selectors.customer_valuation_explained(customer_id=customer.pk)
    explanation = explained if sees_money else None
    in_words = valuation_selectors.valuation_in_words(explained, with_money=sees_money)
    return render(
        request,
        "workspace/customer.html",
        {
            "customer": customer,
            "explanation": explanation,
            "valuation_in_words": in_words,
            "facts": customer_facts.customer_current_facts(customer_id=customer.pk),
            "fact_history": customer_facts.customer_fact_history(customer_id=customer.pk).filter(
                is_current=False
            )[:50],
            "next_questions": customer_facts.customer_next_questions(customer=customer),
            "consents": customer.consents.all(),
            "timeline_filters": timeline_filters,
            "channels": Channel.choices,
            "interaction_types": InteractionType.choices,
            "preference_link": preference_link,
            "open_items": interaction_selectors.customer_open_items(customer_id=customer.pk),
            "todos_done": todo_selectors.customer_todos_done(customer_id=customer.pk),
            "timeline": timeline_page,
            "can_edit": customer_selectors.customers_editable_by(request.user)
            .filter(pk=customer.pk)
            .exists(),
            "other_emails": customer.other_emails.all(),
            "can_add_email": customer_selectors.customers_addresses_addable_by(request.user)
            .filter(pk=customer.pk)
            .exists(),
            "email_form": CustomerEmailForm(),
        },
    )


SEARCH_CUSTOMERS_PER_PAGE = 25
SEARCH_INTERACTIONS_SHOWN = 10  # the rest on the interactions' own search page


@login_required
@require_GET
def search_page(request):
    """Search everywhere: customers of every portfolio (those of others open as a read-only
    card) and the interactions the user may see. Two counts and two pages of rows."""
    if role_of(request.user) not in search.STAFF:
        raise PermissionDenied("The search is for staff.")
    form = GlobalSearchForm(request.GET or None)
    query = form.cleaned_data["q"].strip() if form.is_valid() else ""
    customers = Paginator(
        search.search_customers(user=request.user, query=query), SEARCH_CUSTOMERS_PER_PAGE
    ).get_page(request.GET.get("page"))
    # Interactions for those who may read them (every staff role today), as their own page.
    if request.user.has_perm("interactions.view_interaction"):
        interactions = search.search_interactions(user=request.user, query=query)
    else:
        interactions = Interaction.objects.none()
    shown = list(interactions[:SEARCH_INTERACTIONS_SHOWN])
    interaction_total = interactions.count()
    return render(
        request,
        "workspace/search.html",
        {
            "form": form,
            "query": query,
            "customers": customers,
            "interactions": shown,
            "interaction_total": interaction_total,
            "search_query": query,
        },
        status=400 if form.is_bound and not form.is_valid() else 200,
    )


@login_required
@require_GET
def customer_card(request, customer_id: int):
    """The read-only card of any customer, for staff who found one in another portfolio:
    who it is, whose it is, how to reach them, the last contact. No money, no actions; the
    full page (customer_page) keeps its own access rules."""
    customer = get_object_or_404(search.customer_cards_for(request.user), pk=customer_id)
    return render(
        request,
        "workspace/card.html",
        {
            "customer": customer,
            "can_open": customer_selectors.customers_visible_to(request.user)
            .filter(pk=customer.pk)
            .exists(),
        },
    )


TRIAGE_PAGE_SIZE = 25


@login_required
def triage_page(request):
    """New senders to check: support and admins see all, a manager their own portfolio's."""
    page = Paginator(triage.triage_list(user=request.user), TRIAGE_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    senders = list(page)
    namesakes = triage.triage_namesakes(user=request.user, senders=senders)
    for sender in senders:
        sender.namesakes = namesakes.get(sender.pk, [])
    return render(request, "workspace/triage.html", {"page": page, "senders": senders})


@login_required
@require_POST
def triage_clear(request, customer_id: int):
    customer = get_object_or_404(
        customer_selectors.customers_visible_to(request.user), pk=customer_id
    )
    if customer_triage_clear(customer=customer):
        messages.success(request, f"{customer.name} checked.")
    if request.POST.get("back") == "customer":
        return redirect("customers:detail", customer_id=customer.pk)
    return redirect("workspace:triage")


def _manager_or_admin(request) -> None:
    if role_of(request.user) not in (Role.MANAGER, Role.ADMIN):
        raise PermissionDenied("The to-do list is for customer managers and admins.")


@login_required
def todo(request):
    """The to-dos on the user's list (their customers' and those handed to them); with
    ``?show=done``, the done ones too, with who did them and when."""
    _manager_or_admin(request)
    today = timezone.localdate()
    show = request.GET.get("show", "")
    done = list(todo_selectors.todos_done(manager=request.user)) if show == "done" else None
    return render(
        request,
        "workspace/todo.html",
        {
            "todo": todo_selectors.manager_todo(manager=request.user, today=today),
            "done": done,
            "assignees": [
                user for user in todo_selectors.todo_assignees() if user.pk != request.user.pk
            ],
            "today": today,
            "tomorrow": today + timedelta(days=1),
            "within_days": todo_selectors.DUE_WITHIN_DAYS,
        },
    )


def _todo_label(interaction: Interaction, kind: str) -> str:
    text = interaction.next_step if kind == TodoKind.NEXT_STEP else ""
    return f"{text or interaction.subject} ({interaction.customer.name})"


def _todo_action(request, interaction_id: int, form_class, act) -> HttpResponse:
    """Check the role, find the interaction among those the user may act on (404 otherwise,
    as for another portfolio's customer), validate the form, run ``act`` (a service call that
    returns the success message) and go back to the list with a message either way."""
    _manager_or_admin(request)
    interaction = get_object_or_404(
        todo_selectors.todo_interactions_for(request.user), pk=interaction_id
    )
    form = form_class(request.POST)
    back = reverse("workspace:todo")
    if request.POST.get("back") == "done":
        back += "?show=done"
    elif request.POST.get("back") == "customer":
        back = reverse("customers:detail", args=[interaction.customer_id])
    if not form.is_valid():
        messages.error(request, "; ".join(f"{k}: {' '.join(v)}" for k, v in form.errors.items()))
        return redirect(back)
    data = form.cleaned_data
    try:
        message = act(interaction, data["kind"], data)
    except ValidationError as error:
        messages.error(
            request, "; ".join(f"{k}: {' '.join(v)}" for k, v in error.message_dict.items())
        )
    else:
        messages.success(request, f"{message}: {_todo_label(interaction, data['kind'])}.")
    return redirect(back)


@login_required
@require_POST
def todo_done(request, interaction_id: int):
    def act(interaction, kind, data) -> str:
        services.todo_done(interaction=interaction, kind=kind, by=request.user)
        return "Done"

    return _todo_action(request, interaction_id, TodoActionForm, act)


@login_required
@require_POST
def todo_reopen(request, interaction_id: int):
    def act(interaction, kind, data) -> str:
        services.todo_reopen(interaction=interaction, kind=kind, by=request.user)
        return "Back on the list"

    return _todo_action(request, interaction_id, TodoActionForm, act)


@login_required
@require_POST
def todo_snooze(request, interaction_id: int):
    def act(interaction, kind, data) -> str:
        until = data["until"]
        services.todo_snooze(interaction=interaction, kind=kind, by=request.user, until=until)
        return f"Snoozed until {until.isoformat()}"

    return _todo_action(request, interaction_id, TodoSnoozeForm, act)


@login_required
@require_POST
def todo_reassign(request, interaction_id: int):
    def act(interaction, kind, data) -> str:
        to = data["to"]
        services.todo_reassign(interaction=interaction, kind=kind, by=request.user, to=to)
        return f"Handed to {person_name(to)}"

    return _todo_action(request, interaction_id, TodoReassignForm, act)


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
        for row in portfolio_selectors.portfolio_map(manager=request.user)
    ]
    return render(
        request,
        "workspace/map.html",
        {
            "map": {
                "points": points,
                "clv_threshold": fit.clv_threshold if fit else None,
                "growth_threshold": fit.growth_threshold if fit else None,
                # The scale the chart opens on; the page has a Linear / Log switch.
                "scale": "symlog"
                if portfolio_selectors.map_is_skewed([p["clv"] for p in points])
                or portfolio_selectors.map_is_skewed([p["growth"] for p in points])
                else "linear",
            },
            "points": points,
            "limit": portfolio_selectors.MAP_LIMIT,
        },
    )


@login_required
@require_POST
def offer_make(request, customer_id: int):
    customer = get_object_or_404(customers_editable_by(request.user), pk=customer_id)
    eligible = [n.offering.pk for n in next_best.next_best_offerings(customer=customer)]
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
    outcome = request.POST.get("outcome", "")
    try:
        if outcome == OFFER_ORDERED:
            interaction_offer_order(interaction=interaction, by=request.user)
        else:
            interaction_offer_answer(interaction=interaction, outcome=outcome)
    except ValidationError as error:
        messages.error(
            request, "; ".join(f"{k}: {' '.join(v)}" for k, v in error.message_dict.items())
        )
    else:
        if outcome == OFFER_ORDERED:
            messages.success(
                request,
                f"{interaction.offer} accepted and ordered; the customer's figures are being "
                "updated.",
            )
        else:
            label = OfferOutcome(outcome).label.lower()
            messages.success(request, f"{interaction.offer} marked as {label}.")
    return redirect("customers:detail", customer_id=interaction.customer_id)


# The "accepted, and ordered" button: the answer and an order of the offering in one step.
OFFER_ORDERED = "ordered"


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
def manager_scorecards(request):
    if role_of(request.user) != Role.ADMIN:
        raise PermissionDenied("Scorecards are for admins.")
    today = timezone.localdate()
    end, end_error = _date(request.GET.get("end", ""), today)
    start, start_error = _date(request.GET.get("start", ""), end - timedelta(days=30))
    errors = {k: v for k, v in (("start", start_error), ("end", end_error)) if v}
    if start > end:
        errors["start"] = "The start must not be after the end."
        start = end - timedelta(days=30)
    period = scorecards.scorecard_period(start=start, end=end)
    return render(
        request,
        "workspace/scorecards.html",
        {
            "cards": scorecards.manager_scorecards(start=period.start, end=end),
            "period": period,
            "start": start,
            "end": end,
            "errors": errors,
        },
        status=400 if errors else 200,
    )


@login_required
def model_check(request):
    """The purchase models of the latest fit, side by side, with their holdout checks
    (admins and whoever holds the fits' view permission; the spend model is money)."""
    if not request.user.has_perm("valuation.view_modelfit"):
        raise PermissionDenied("The model check is for admins.")
    check = valuation_selectors.model_check()
    return render(
        request,
        "workspace/models.html",
        {
            "check": check,
            "tracking": check.tracking if check else None,
            "by_frequency": check.by_frequency if check else None,
        },
    )
