"""Data for the workspace panels included in the customer page (templates/workspace/
customer.html): each tag calls one selector, a fixed number of queries."""

from django import template

from accounts.roles import Role, role_of
from customers.selectors import customers_editable_by

from ..selectors import next_best, trends

register = template.Library()


@register.simple_tag
def customer_trends(customer, money: bool) -> list[dict]:
    """Dated figures for the charts; money figures (CLV, share of customer) only if ``money``."""
    points = []
    for row in trends.customer_trends(customer_id=customer.pk):
        point = {
            "day": row["taken_on"].isoformat(),
            "p_alive": row["p_alive"],
            "experience": row["experience_score"],
        }
        if money:
            clv = row["predicted_clv"]
            point["clv"] = float(clv) if clv is not None else None
            point["soc"] = row["share_of_customer"]
        points.append(point)
    return points


@register.simple_tag(takes_context=True)
def customer_nbo(context, customer) -> dict:
    user = context["request"].user
    can_offer = (
        role_of(user) in (Role.ADMIN, Role.MANAGER)
        and customers_editable_by(user).filter(pk=customer.pk).exists()
    )
    return {
        "ranked": next_best.next_best_offerings(customer=customer),
        "open_offers": list(next_best.customer_open_offers(customer_id=customer.pk)[:10]),
        "can_offer": can_offer,
    }
