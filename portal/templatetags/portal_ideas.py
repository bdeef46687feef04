"""Tips and ideas inside pages that are not theirs (portal/ideas.py): the customer's home, the
public offering page, moderation and the staff customer page. Tags, so those pages' views and
templates change by one line (and workspace imports nothing of portal: they are one layer)."""

from django import template

from portal.ideas import (
    ideas_of_customer,
    ideas_to_moderate,
    tips_of_customer,
    tips_published,
    tips_to_moderate,
    votes_of_customer,
)

register = template.Library()


@register.inclusion_tag("portal/_tips.html", takes_context=True)
def customer_tips(context, customer):
    """The tip form per held offering on /portal/ (`to_review` and `account` of the home)."""
    return {
        "csrf_token": context.get("csrf_token"),
        "account": context.get("account"),
        "offerings": context.get("to_review", []),
        "tips": tips_of_customer(customer_id=customer.pk),
        "tip_errors": context.get("tip_errors", []),
    }


@register.inclusion_tag("portal/_offering_tips.html", takes_context=True)
def offering_tips(context, offering):
    return {
        "csrf_token": context.get("csrf_token"),
        "signed_in": context.get("signed_in", False),
        "tips": tips_published(offering=offering),
        "tip_errors": context.get("tip_errors", []),
    }


@register.inclusion_tag("portal/_moderation_posts.html", takes_context=True)
def moderation_posts(context):
    return {
        "csrf_token": context.get("csrf_token"),
        "tips": tips_to_moderate(),
        "ideas": ideas_to_moderate(),
    }


@register.inclusion_tag("portal/_customer_ideas.html")
def customer_ideas(customer):
    """The customer's tips, ideas and votes beside their reviews: three queries, whatever
    their number."""
    return {
        "tips": list(tips_of_customer(customer_id=customer.pk)),
        "ideas": list(ideas_of_customer(customer_id=customer.pk)),
        "votes": list(votes_of_customer(customer_id=customer.pk)),
    }
