"""The customer's reviews on the staff customer page (templates/workspace/customer.html): a tag,
so workspace needs no import of portal (they are one layer)."""

from django import template

from portal.community import reviews_of_customer

register = template.Library()


@register.inclusion_tag("portal/_customer_reviews.html")
def customer_reviews(customer):
    return {"reviews": reviews_of_customer(customer_id=customer.pk)}
