from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.shortcuts import get_object_or_404, redirect, render

from customers.selectors import customers_visible_to

from . import selectors, services
from .forms import InteractionForm


@login_required
@permission_required("interactions.add_interaction", raise_exception=True)
def interaction_log(request, customer_id: int):
    customer = get_object_or_404(customers_visible_to(request.user), pk=customer_id)
    open_items = selectors.customer_open_items(customer_id=customer.pk)
    form = InteractionForm(request.POST or None, customer=customer, open_items=open_items)
    if request.method == "POST" and form.is_valid():
        services.interaction_log(customer=customer, logged_by=request.user, **form.cleaned_data)
        messages.success(request, "Interaction saved; the customer's figures are being updated.")
        return redirect("customers:detail", customer_id=customer.pk)
    return render(
        request,
        "interactions/log.html",
        {
            "customer": customer,
            "form": form,
            "open_items": open_items,
        },
    )
