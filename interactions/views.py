from datetime import timedelta

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Exists, OuterRef
from django.db.models.functions import Coalesce
from django.http import QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from accounts.services import staff_availability_set, staff_notice_emails_set
from core.forms import form_add_service_errors
from core.money import can_see_money
from customers import facts as customer_facts
from customers.forms import TeachForm
from customers.selectors import customers_visible_to
from offerings.selectors import offerings_orderable, offerings_with_figures

from . import assignment, reports, selectors, services
from .choices import InteractionType
from .forms import (
    InteractionForm,
    InteractionSearchForm,
    OfferingRatingForm,
    OrderLineFormSet,
    QueueFilterForm,
    ServiceLevelReportForm,
    SupportAssignmentForm,
)
from .models import Interaction, Notice

QUEUE_PAGE_SIZE = 50
SEARCH_PAGE_SIZE = 25


def _rating_form(customer, data=None):
    held = selectors.customer_held_offerings(customer_id=customer.pk)
    return OfferingRatingForm(data, held_offerings=held, prefix="rating")


def _answer_initial(request, open_items) -> dict:
    """`?answer=<item>` (the conversation's "Log a call or note"): the form starts as the
    answer to that open item, outbound on its channel and in its thread."""
    answer = request.GET.get("answer", "")
    item = open_items.filter(pk=int(answer)).first() if answer.isdigit() else None
    if item is None:
        return {}
    return {
        "thread": item.thread_id or item.pk,
        "direction": "outbound",
        "channel": item.channel,
        "type": item.type,
        "subject": f"Re: {item.subject}"[:200],
    }


NO_LINES = "An order needs at least one line: choose what was ordered."


def _order_lines_formset(request) -> OrderLineFormSet:
    """The order's lines, bound when the page sent them (a client posting the form without
    its lines section sends none)."""
    data = request.POST if "lines-TOTAL_FORMS" in request.POST else None
    return OrderLineFormSet(
        data,
        prefix="lines",
        offerings=offerings_with_figures()
        .filter(pk__in=offerings_orderable().values("pk"))
        .order_by("name"),
        money=can_see_money(request.user),
    )


@login_required
@permission_required("interactions.add_interaction", raise_exception=True)
def interaction_log(request, customer_id: int):
    customer = get_object_or_404(customers_visible_to(request.user), pk=customer_id)
    open_items = selectors.customer_open_items(customer_id=customer.pk)
    form = InteractionForm(
        request.POST or None,
        customer=customer,
        open_items=open_items,
        initial=_answer_initial(request, open_items),
    )
    # Configured by the profile: what we know is shown, only the most valuable unknowns asked.
    known = customer_facts.customer_current_facts(customer_id=customer.pk)
    teach = TeachForm(
        request.POST or None,
        prefix="teach",
        questions=customer_facts.customer_next_questions(customer=customer),
        money=can_see_money(request.user),
    )
    lines = _order_lines_formset(request)
    lines_valid = not lines.is_bound or lines.is_valid()
    valid = form.is_valid() & teach.is_valid() & lines_valid  # every error shown at once
    if valid and form.cleaned_data["type"] == InteractionType.ORDER and not lines.lines():
        lines.non_form_errors().append(NO_LINES)
        valid = False
    if request.method == "POST" and valid:
        try:
            services.interaction_log(
                customer=customer,
                logged_by=request.user,
                facts=teach.facts(),
                # The lines are the order's; a row left filled in before choosing another
                # type is not sent.
                lines=lines.lines() if form.cleaned_data["type"] == InteractionType.ORDER else (),
                **form.cleaned_data,
            )
        except ValidationError as error:  # nothing was saved: one transaction
            facts = {k: v for k, v in error.message_dict.items() if k.startswith("facts[")}
            line_errors = {k: v for k, v in error.message_dict.items() if k.startswith("lines")}
            others = {
                k: v
                for k, v in error.message_dict.items()
                if k not in facts and k not in line_errors
            }
            if facts:
                teach.add_fact_errors(ValidationError(facts))
            for message in line_errors.values():
                lines.non_form_errors().extend(message)
            if others:
                form_add_service_errors(form, ValidationError(others))
        else:
            messages.success(
                request, "Interaction saved; the customer's figures are being updated."
            )
            return redirect("customers:detail", customer_id=customer.pk)
    return render(
        request,
        "interactions/log.html",
        {
            "customer": customer,
            "form": form,
            "lines": lines,
            "currency": settings.CURRENCY,
            "teach": teach,
            "known_facts": known,
            "last_next_step": selectors.customer_last_next_step(customer_id=customer.pk),
            "open_items": open_items,
            "rating_form": _rating_form(customer),
            "ratings": selectors.offering_ratings(customer_id=customer.pk),
        },
        status=400 if request.method == "POST" else 200,  # only a refused form is shown again
    )


@login_required
@permission_required("interactions.add_interaction", raise_exception=True)
def offering_rate(request, customer_id: int):
    customer = get_object_or_404(customers_visible_to(request.user), pk=customer_id)
    form = _rating_form(customer, request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.offering_rating_record(
                customer=customer,
                offering=form.cleaned_data["offering"],
                rating=form.cleaned_data["rating"],
                recorded_by=request.user,
            )
        except ValidationError as error:
            form_add_service_errors(form, error)
        else:
            messages.success(request, "Rating saved.")
            return redirect("interactions:log", customer_id=customer.pk)
    return render(
        request,
        "interactions/log.html",
        {
            "customer": customer,
            "form": InteractionForm(
                customer=customer,
                open_items=selectors.customer_open_items(customer_id=customer.pk),
            ),
            "open_items": selectors.customer_open_items(customer_id=customer.pk),
            "rating_form": form,
            "ratings": selectors.offering_ratings(customer_id=customer.pk),
        },
        status=400 if request.method == "POST" else 200,
    )


def _queue_filters(request) -> tuple[QueueFilterForm, dict]:
    form = QueueFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    return form, filters


def _queue_context(request):
    form, filters = _queue_filters(request)
    # The customer's figures (valuation's row) are shown beside each item, and whether a
    # reply sent by email from its conversation failed (mail's message row, by name, as the
    # figures are: the queue must show it, and the queue sits below the mail app).
    failed_reply = Interaction.objects.filter(
        thread_id=Coalesce(OuterRef("thread_id"), OuterRef("pk")),
        direction="outbound",
        message__delivery="failed",
    )
    items = (
        selectors.support_queue(user=request.user, filters=filters)
        .select_related("customer__figures")
        .annotate(reply_failed=Exists(failed_reply))
    )
    page = Paginator(items, QUEUE_PAGE_SIZE).get_page(request.GET.get("page"))
    mode, available = assignment.queue_assignment(user=request.user)
    params = request.GET.copy()
    params.pop("focus", None)
    query = params.urlencode()
    return {
        "page": page,
        "filter_form": form,
        "assignment": mode,
        "available": available,
        "assignee_filter": filters.get("assignee") or "",
        "now": timezone.now(),
        # Where a plain (no JavaScript) form post returns to: the queue with these filters.
        "back": reverse("interactions:queue") + (f"?{query}" if query else ""),
        "focus": request.GET.get("focus", ""),
    }


@login_required
@permission_required("interactions.change_interaction", raise_exception=True)
def support_queue(request):
    context = _queue_context(request)
    partial = request.headers.get("HX-Request")
    template = "interactions/_queue.html" if partial else "interactions/queue.html"
    return render(request, template, context)


def _queue_action(request, interaction_id: int, action, done: str, already: str):
    interaction = get_object_or_404(
        Interaction.objects.filter(customer__in=customers_visible_to(request.user).values("pk")),
        pk=interaction_id,
    )
    refused = ""
    try:
        changed = action(interaction=interaction)
    except ValidationError as error:  # e.g. an item stored with a time still ahead of now
        changed, refused = False, " ".join(m for ms in error.message_dict.values() for m in ms)
    notice = refused or (done if changed else already)
    back = request.POST.get("next", "")
    if not back.startswith("/") or not url_has_allowed_host_and_scheme(
        back, allowed_hosts={request.get_host()}
    ):
        back = reverse("interactions:queue")
    if request.headers.get("HX-Request"):
        # Re-render the queue with the same filters, so it reorders in place.
        params = QueryDict(back.partition("?")[2], mutable=True)
        params["focus"] = str(interaction.pk)
        request.GET = params
        context = _queue_context(request)
        context["notice"] = f"{notice}: {interaction.subject}"
        return render(request, "interactions/_queue.html", context)
    (messages.error if refused else messages.success)(request, f"{notice}: {interaction.subject}")
    return redirect(back)


@login_required
@permission_required("interactions.change_interaction", raise_exception=True)
@require_POST
def staff_availability(request):
    """A support person says whether they take new items from the automatic assignment."""
    choice = request.POST.get("available", "")
    if choice not in ("yes", "no"):
        messages.error(request, "available: choose yes or no.")
    else:
        staff_availability_set(user=request.user, available=choice == "yes")
        messages.success(
            request,
            "You take new items again." if choice == "yes" else "New items go to others now.",
        )
    return redirect("interactions:queue")


@login_required
@permission_required("interactions.change_interaction", raise_exception=True)
@require_POST
def interaction_resolve(request, interaction_id: int):
    return _queue_action(
        request, interaction_id, services.interaction_resolve, "Resolved", "Already resolved"
    )


@login_required
@permission_required("interactions.change_interaction", raise_exception=True)
@require_POST
def interaction_take(request, interaction_id: int):
    def take(*, interaction):
        return services.interaction_assign(interaction=interaction, assignee=request.user)

    return _queue_action(request, interaction_id, take, "Yours now", "Already yours")


@login_required
@permission_required("interactions.change_interaction", raise_exception=True)
@require_POST
def interaction_wait(request, interaction_id: int):
    """Waiting on the customer: the item's service-level clock stops until they write again."""
    return _queue_action(
        request,
        interaction_id,
        services.interaction_wait_on_customer,
        "Waiting on the customer",
        "Already waiting on the customer",
    )


@login_required
@permission_required("interactions.view_interaction", raise_exception=True)
def interaction_search(request):
    form = InteractionSearchForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    items = selectors.interaction_search(user=request.user, filters=filters)
    page = Paginator(items, SEARCH_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "interactions/search.html",
        {"form": form, "page": page},
        status=400 if form.is_bound and not form.is_valid() else 200,
    )


# --- The service-level report ----------------------------------------------------------------

REPORT_DAYS = 84  # twelve weeks by default


@login_required
@permission_required("interactions.view_interaction", raise_exception=True)
def service_level_report(request):
    today = timezone.localdate()
    since, until, by = today - timedelta(days=REPORT_DAYS - 1), today, "channel"
    defaults = {"since": since.isoformat(), "until": until.isoformat(), "by": by}
    # A query naming only some fields (?by=tier) still shows the dates the report covers.
    form = ServiceLevelReportForm(
        {**defaults, **request.GET.dict()} if request.GET else None, initial=defaults
    )
    if form.is_valid():
        since = form.cleaned_data.get("since") or since
        until = form.cleaned_data.get("until") or until
        by = form.cleaned_data.get("by") or by
    report = reports.service_level_report(user=request.user, since=since, until=until, by=by)
    return render(
        request,
        "interactions/service_levels.html",
        {
            "form": form,
            "since": since,
            "until": until,
            "by": by,
            "report": report,
            "chart": {"weeks": report["weeks"], "series": report["series"]},
        },
        status=400 if form.errors else 200,
    )


@login_required
@permission_required("interactions.view_interaction", raise_exception=True)
@require_GET
def notice_list(request):
    """The signed-in person's escalation notices (docs/service-levels.md), unread first."""
    page = Paginator(selectors.notices_for(user=request.user), SEARCH_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "interactions/notices.html",
        {"page": page, "emails_on": selectors.notice_emails_on(user=request.user)},
    )


@login_required
@permission_required("interactions.view_interaction", raise_exception=True)
@require_POST
def notice_read(request, notice_id: int):
    """Mark one's own notice read; another person's reads like none at all (404)."""
    notice = get_object_or_404(Notice, pk=notice_id, user_id=request.user.pk)
    services.notice_mark_read(notice=notice)
    return redirect("notices:list")


@login_required
@permission_required("interactions.view_interaction", raise_exception=True)
@require_POST
def notice_emails(request):
    """The person turns the e-mail of their notices on or off (the app's list stays)."""
    choice = request.POST.get("emails", "")
    if choice not in ("on", "off"):
        messages.error(request, "emails: choose on or off.")
    else:
        staff_notice_emails_set(user=request.user, on=choice == "on")
        messages.success(
            request,
            "Notices come by e-mail too." if choice == "on" else "Notices stay in the app only.",
        )
    return redirect("notices:list")


@login_required
@permission_required("interactions.change_supportsettings", raise_exception=True)
def support_assignment(request):
    """Admins choose how new support items are assigned (the setting is the default)."""
    chosen = assignment.assignment_chosen()
    current = assignment.assignment_mode()
    data = request.POST if request.method == "POST" else None  # an empty POST is refused
    form = SupportAssignmentForm(data, initial={"assignment": current})
    if request.method == "POST" and form.is_valid():
        try:
            services.support_assignment_set(mode=form.cleaned_data["assignment"], by=request.user)
        except ValidationError as error:
            form_add_service_errors(form, error)
        else:
            messages.success(request, "Assignment saved: it applies to the next new item.")
            return redirect("interactions:assignment")
    return render(
        request,
        "interactions/assignment.html",
        {
            "form": form,
            "current": current,
            "chosen": chosen,
            "setting": settings.SUPPORT_ASSIGNMENT,
            "people": assignment.support_people(),
        },
        status=400 if form.errors else 200,
    )
