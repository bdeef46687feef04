from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from accounts.roles import Role, role_of
from core.forms import form_add_service_errors

from . import preference_links, selectors, services
from .duplicates import customer_duplicates_find
from .forms import CustomerAdminForm, CustomerEmailForm, CustomerForm, MergeForm
from .models import Customer

PAGE_SIZE = 25


def _page(request, queryset):
    return Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))


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
            .select_related("owner")
            .only("name", "owner__username", "owner__first_name", "owner__last_name")[:20]
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
    lookalikes: list[dict] = []
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        owner = data.pop("owner", None) if role == Role.ADMIN else request.user
        # "This looks like ...": shown once, before anything is written; the user opens the
        # existing customer or confirms that this is someone else.
        if not request.POST.get("create_anyway"):
            lookalikes = selectors.customer_lookalikes(
                viewer=request.user,
                name=data.get("name") or "",
                email=data.get("email") or "",
                phone=data.get("phone") or "",
            )
        if not lookalikes:
            try:
                customer = services.customer_create(owner=owner, **data)
            except ValidationError as error:
                form_add_service_errors(form, error)
            else:
                messages.success(request, f"{customer.name} was added.")
                return redirect("customers:detail", customer_id=customer.pk)
    return render(
        request,
        "customers/form.html",
        {"form": form, "customer": None, "lookalikes": lookalikes},
    )


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


# --- Other addresses -------------------------------------------------------------------------


def _addresses_page(request, customer, form, *, status=200, error=""):
    return render(
        request,
        "customers/emails.html",
        {
            "customer": customer,
            "other_emails": customer.other_emails.all(),
            "form": form,
            "error": error,
            "can_remove": selectors.customers_editable_by(request.user)
            .filter(pk=customer.pk)
            .exists(),
        },
        status=status,
    )


@login_required
def customer_emails(request, customer_id: int):
    """The customer's addresses; a POST records another one. Those who edit the customer, and
    support staff, who answer the mail, add addresses (customers_addresses_addable_by)."""
    customer = get_object_or_404(
        selectors.customers_addresses_addable_by(request.user), pk=customer_id
    )
    form = CustomerEmailForm(request.POST or None)
    if request.method == "POST":
        if form.is_valid():
            try:
                added = services.customer_email_add(
                    customer=customer, address=form.cleaned_data["address"]
                )
            except ValidationError as error:
                form.add_error("address", error.messages)
            else:
                address = form.cleaned_data["address"].lower()
                if added is None:
                    messages.info(request, f"{address} was already one of {customer.name}'s.")
                else:
                    messages.success(
                        request, f"{address} added: mail from it reaches {customer.name}."
                    )
                return redirect("customers:detail", customer_id=customer.pk)
        return _addresses_page(request, customer, form, status=400)
    return _addresses_page(request, customer, form)


@login_required
@require_POST
def customer_email_remove(request, customer_id: int):
    customer = get_object_or_404(selectors.customers_editable_by(request.user), pk=customer_id)
    address = request.POST.get("address", "")[:254]
    if not services.customer_email_remove(customer=customer, address=address):
        error = f"“{address}” is not one of this customer's other addresses."
        return _addresses_page(request, customer, CustomerEmailForm(), status=400, error=error)
    messages.success(request, f"{address} removed from {customer.name}.")
    return redirect("customers:detail", customer_id=customer.pk)


# --- Merging a duplicate in ------------------------------------------------------------------

MERGE_CANDIDATES = 5


def _merge_survivor(request, customer_id: int) -> Customer:
    """As the API (customers.api.merge_survivor_get): 404 for a customer the user does not see,
    403 for one they see but may not merge into (support staff)."""
    survivor = get_object_or_404(selectors.customers_visible_to(request.user), pk=customer_id)
    if not selectors.customers_editable_by(request.user).filter(pk=customer_id).exists():
        raise PermissionDenied("Only admins and the customer's manager merge customers.")
    return survivor


def _merge_duplicate(request, form: MergeForm, survivor: Customer) -> Customer | None:
    """The duplicate the form names, among the customers the user edits (another
    portfolio's reads as missing); None with the error on the form."""
    if not form.is_valid():
        return None
    duplicate = (
        selectors.customers_editable_by(request.user)
        .filter(pk=form.cleaned_data["duplicate"])
        .first()
    )
    if duplicate is None:
        form.add_error("duplicate", services.NO_SUCH_CUSTOMER)
    elif duplicate.pk == survivor.pk:
        form.add_error("duplicate", services.MERGE_ITSELF)
        duplicate = None
    return duplicate


def _merge_candidates(request, survivor: Customer) -> list:
    """The customers this one looks like (customers.duplicates), among those the user edits."""
    found = customer_duplicates_find(
        name=survivor.name,
        email=survivor.email,
        phone=survivor.phone,
        other_emails=survivor.other_emails.values_list("address", flat=True),
        exclude_id=survivor.pk,
        limit=20,
    )
    editable = set(
        selectors.customers_editable_by(request.user)
        .filter(pk__in=[c.customer_id for c in found])
        .values_list("pk", flat=True)
    )
    return [c for c in found if c.customer_id in editable][:MERGE_CANDIDATES]


@login_required
def customer_merge(request, customer_id: int):
    """Merge a duplicate into this customer: choose it (GET, `duplicate`), see what moves and
    what conflicts, confirm (POST). The duplicate goes; its links lead here."""
    survivor = _merge_survivor(request, customer_id)
    data = request.POST if request.method == "POST" else request.GET
    bound = request.method == "POST" or bool(data)  # an empty POST is refused, not a form
    choose = MergeForm(data if bound else None)
    duplicate = _merge_duplicate(request, choose, survivor) if bound else None
    preview, form = None, choose
    if duplicate is not None:
        preview = selectors.customer_merge_preview(survivor=survivor, duplicate=duplicate)
        form = MergeForm(data, facts=preview["facts"])
        if request.method == "POST" and form.is_valid():
            try:
                with transaction.atomic():
                    services.customer_merge(
                        survivor_id=survivor.pk,
                        duplicate_id=duplicate.pk,
                        by=request.user,
                        fact_choices=form.fact_choices(),
                    )
            except ValidationError as error:
                form_add_service_errors(form, error)
            else:
                merged = f"{duplicate.name} (no. {duplicate.pk})"
                messages.success(request, f"{merged} was merged into {survivor.name}.")
                return redirect("customers:detail", customer_id=survivor.pk)
        if request.method == "GET":
            form = MergeForm(initial={"duplicate": duplicate.pk}, facts=preview["facts"])
    refused = bound and (duplicate is None or bool(form.errors))
    return render(
        request,
        "customers/merge.html",
        {
            "customer": survivor,
            "form": form,
            "duplicate": duplicate,
            "preview": preview,
            "moves": [move for move in preview["moves"] if move["rows"]] if preview else [],
            "candidates": _merge_candidates(request, survivor) if duplicate is None else [],
        },
        status=400 if refused else 200,
    )
