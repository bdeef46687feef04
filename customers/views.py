from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import F
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from accounts.roles import Role, role_of
from core.forms import form_add_service_errors
from core.money import can_see_money
from interactions import selectors as interaction_selectors
from interactions.choices import Channel, InteractionType
from offerings.models import Category
from valuation import selectors as valuation_selectors
from workspace import selectors as workspace_selectors

from . import knowledge, preference_links, selectors, services
from .forms import CustomerAdminForm, CustomerForm
from .models import LifecycleStatus

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
# indexed copy; the page shows the live one.
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


def _page(request, queryset):
    return Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))


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
    customers = workspace_selectors.portfolio_of_tier(
        selectors.customer_portfolio(manager=request.user, filters=filters), tier=filters["tier"]
    )
    if filters["need"].isdigit():
        customers = workspace_selectors.with_need(customers, category_id=int(filters["need"]))
    else:
        filters["need"] = ""
    listed = workspace_selectors.with_next_due_action(
        workspace_selectors.portfolio_with_figures(customers, manager=request.user)
    )
    paginator = Paginator(listed.order_by(ordering, "id"), PAGE_SIZE)
    paginator.count = customers.count()  # counted without joining the figures
    page = paginator.get_page(request.GET.get("page"))
    for customer in page:
        customer.next_due_label = workspace_selectors.next_due_label(customer)
    totals = workspace_selectors.portfolio_totals(manager=request.user)
    trend = [
        {"day": row["day"].isoformat(), "equity": float(row["equity"])}
        for row in workspace_selectors.equity_trend(
            manager=request.user, today_equity=totals["customer_equity"]
        )
    ]
    return render(
        request,
        "customers/portfolio.html",
        {
            "page": page,
            "filters": filters,
            "sort": sort,
            "statuses": LifecycleStatus.choices,
            "tiers": workspace_selectors.portfolio_tier_choices(),
            "needs": Category.objects.filter(fact_keys__kind="need").distinct().order_by("name"),
            "columns": PORTFOLIO_COLUMNS,
            "totals": totals,
            "equity_trend": trend,
            "today": timezone.localdate(),
        },
    )


@login_required
def customer_list(request):
    query = request.GET.get("q", "")
    visible = selectors.customers_visible_to(request.user)
    customers = selectors.customer_search(customers=visible, query=query)
    # Managers search the whole base by name or e-mail to avoid creating duplicates, but
    # only see that a match exists and whose portfolio it is in (SPEC §2).
    elsewhere = []
    if query and role_of(request.user) == Role.MANAGER:
        elsewhere = (
            selectors.customer_search(customers=selectors.customers_visible_to_all(), query=query)
            .exclude(owner=request.user)
            .values("name", "owner__username")[:20]
        )
    return render(
        request,
        "customers/list.html",
        {
            "page": _page(request, customers.select_related("figures").order_by("name", "id")),
            "query": query,
            "elsewhere": elsewhere,
            "can_create": role_of(request.user) in (Role.ADMIN, Role.MANAGER),
        },
    )


@login_required
def customer_detail(request, customer_id: int):
    customer = get_object_or_404(
        selectors.customers_visible_to(request.user).select_related("figures"), pk=customer_id
    )
    timeline = interaction_selectors.customer_timeline(customer_id=customer.pk)
    timeline_filters = {
        "channel": request.GET.get("channel", ""),
        "type": request.GET.get("type", ""),
    }
    if timeline_filters["channel"] in Channel.values:
        timeline = timeline.filter(channel=timeline_filters["channel"])
    if timeline_filters["type"] in InteractionType.values:
        timeline = timeline.filter(type=timeline_filters["type"])
    preference_link = None  # erased: no preference centre
    if customer.preference_link_version is not None:
        preference_link = request.build_absolute_uri(
            reverse(
                "preference-centre",
                args=[preference_links.preference_link_token(customer=customer)],
            )
        )
    # Managers and admins see why each money figure is what it is; support sees the tier.
    explanation = None
    if can_see_money(request.user):
        explanation = valuation_selectors.customer_valuation_explained(customer_id=customer.pk)
    return render(
        request,
        "customers/detail.html",
        {
            "customer": customer,
            "explanation": explanation,
            "facts": knowledge.customer_current_facts(customer_id=customer.pk),
            "fact_history": knowledge.customer_fact_history(customer_id=customer.pk).filter(
                is_current=False
            )[:50],
            "next_questions": knowledge.customer_next_questions(customer=customer),
            "consents": customer.consents.all(),
            "timeline_filters": timeline_filters,
            "channels": Channel.choices,
            "interaction_types": InteractionType.choices,
            "preference_link": preference_link,
            "open_items": interaction_selectors.customer_open_items(customer_id=customer.pk),
            "timeline": timeline[:50],
            "can_edit": selectors.customers_editable_by(request.user)
            .filter(pk=customer.pk)
            .exists(),
        },
    )


@login_required
@require_POST
def customer_preference_link_rotate(request, customer_id: int):
    """Issue a new preference-centre link: every link sent before stops working (410)."""
    customer = get_object_or_404(selectors.customers_visible_to(request.user), pk=customer_id)
    try:
        preference_links.customer_preference_link_rotate(customer=customer)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(
            request, "A new preference-centre link was issued; older ones no longer work."
        )
    return redirect("customers:detail", customer_id=customer.pk)


def _form_class(user):
    return CustomerAdminForm if role_of(user) == Role.ADMIN else CustomerForm


@login_required
def customer_create(request):
    role = role_of(request.user)
    if role not in (Role.ADMIN, Role.MANAGER):
        raise PermissionDenied("Only admins and customer managers create customers.")
    form = _form_class(request.user)(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        owner = data.pop("owner", None) if role == Role.ADMIN else request.user
        try:
            customer = services.customer_create(owner=owner, **data)
        except ValidationError as error:
            form_add_service_errors(form, error)
        else:
            messages.success(request, f"{customer.name} was added.")
            return redirect("customers:detail", customer_id=customer.pk)
    return render(request, "customers/form.html", {"form": form, "customer": None})


@login_required
def customer_edit(request, customer_id: int):
    customer = get_object_or_404(selectors.customers_editable_by(request.user), pk=customer_id)
    form = _form_class(request.user)(request.POST or None, instance=customer)
    if request.method == "POST" and form.is_valid():
        try:
            services.customer_update(customer=customer, data=form.cleaned_data)
        except ValidationError as error:
            form_add_service_errors(form, error)
        else:
            messages.success(request, "Profile saved.")
            return redirect("customers:detail", customer_id=customer.pk)
    return render(request, "customers/form.html", {"form": form, "customer": customer})
