"""The portal's community: display names, reviews of offerings the customer holds, reports
and moderation (docs/portal.md). Services (writes) and selectors (reads) of these models.

Other customers see a review's display name only, never the customer's name or address.
A published review's rating goes through `interactions.services.offering_rating_record`, so
the valuation's "others' opinion" term sees it.
"""

import html
import re
from collections.abc import Callable

import nh3
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from customers.models import Customer
from interactions.models import OrderLine
from interactions.services import offering_rating_record, offering_rating_withdraw
from offerings.models import Offering

from .models import REVIEW_TEXT_MAX, PortalAccount, Review, ReviewReport, ReviewStatus

DISPLAY_NAME_MIN, DISPLAY_NAME_MAX = 2, 40


def review_text_clean(text: str) -> str:
    """Plain text with line breaks: every tag goes (a <script> with its content), entities are
    read back to characters; the template escapes on the way out."""
    cleaned = nh3.clean(
        text[: REVIEW_TEXT_MAX * 2], tags=set(), clean_content_tags={"script", "style"}
    )
    cleaned = html.unescape(cleaned).replace("\r\n", "\n")
    return re.sub(r"\n{3,}", "\n\n", cleaned).strip()


def portal_account_for(*, customer: Customer) -> PortalAccount:
    account, _ = PortalAccount.objects.get_or_create(customer=customer)
    return account


def display_name_validate(*, customer: Customer, display_name: str) -> str:
    name = " ".join(display_name.split())
    if not DISPLAY_NAME_MIN <= len(name) <= DISPLAY_NAME_MAX:
        raise ValidationError(
            {"display_name": f"Between {DISPLAY_NAME_MIN} and {DISPLAY_NAME_MAX} characters."}
        )
    try:
        validate_email(name)
    except ValidationError:
        pass
    else:
        raise ValidationError({"display_name": "Not an e-mail address: others would see it."})
    if "@" in name:
        raise ValidationError({"display_name": "No @: others would read it as an address."})
    # Their real name or address would show to other customers (docs/portal.md).
    own = {customer.name.strip().casefold(), (customer.email or "").strip().casefold()}
    if name.casefold() in own:
        raise ValidationError({"display_name": "Choose a name other than your own name."})
    taken = PortalAccount.objects.filter(display_name__iexact=name).exclude(customer=customer)
    if taken.exists():
        raise ValidationError({"display_name": "This name is taken; choose another."})
    return name


@transaction.atomic
def portal_display_name_set(*, customer: Customer, display_name: str) -> PortalAccount:
    name = display_name_validate(customer=customer, display_name=display_name)
    account = PortalAccount.objects.select_for_update().get(
        pk=portal_account_for(customer=customer).pk
    )
    account.display_name = name
    account.full_clean()
    account.save(update_fields=["display_name"])
    return account


def customer_holds(*, customer: Customer, offering: Offering) -> bool:
    return OrderLine.objects.filter(interaction__customer=customer, offering=offering).exists()


def _rating_feed(review: Review) -> None:
    offering_rating_record(
        customer=review.customer, offering=review.offering, rating=review.rating, recorded_by=None
    )


@transaction.atomic
def portal_review_post(*, customer: Customer, offering: Offering, rating: int, text: str) -> Review:
    """Post or replace the customer's review; pending while their account needs approval."""
    account = PortalAccount.objects.select_for_update().get(
        pk=portal_account_for(customer=customer).pk
    )
    if not account.display_name:
        raise ValidationError({"display_name": "Choose a display name before posting."})
    if not customer_holds(customer=customer, offering=offering):
        raise ValidationError({"offering": "Only customers who ordered this offering review it."})
    cleaned = review_text_clean(text)
    if not cleaned:
        raise ValidationError({"text": "Write a few words."})
    status = ReviewStatus.PENDING if account.posts_need_approval else ReviewStatus.PUBLISHED
    review = Review.objects.select_for_update().filter(customer=customer, offering=offering).first()
    if review is None:
        review = Review(customer=customer, offering=offering)
    review.rating, review.text, review.status = rating, cleaned, status
    review.updated_at = timezone.now()
    review.full_clean(validate_unique=False, validate_constraints=False)
    try:
        with transaction.atomic():
            review.save()
    except IntegrityError:  # a concurrent first post of the same review
        raise ValidationError({"offering": "You reviewed this offering already."}) from None
    if status == ReviewStatus.PUBLISHED:
        _rating_feed(review)
    return review


# What the author is told (portal.tasks.review_news_request, after the commit).
NEWS_APPROVED, NEWS_ANSWERED = "approved", "answered"
Tell = Callable[[int, str], None]


@transaction.atomic
def portal_review_approve(*, review: Review, user, tell: Tell | None = None) -> Review:
    """Publish; the customer's later posts need no approval. Their reports are resolved.
    `tell(review_id, news)` tells the author, when it was not published before."""
    review = Review.objects.select_for_update().get(pk=review.pk)
    if tell is not None and review.status != ReviewStatus.PUBLISHED:
        tell(review.pk, NEWS_APPROVED)
    review.status = ReviewStatus.PUBLISHED
    review.save(update_fields=["status"])
    review.reports.update(resolved=True)
    PortalAccount.objects.filter(customer_id=review.customer_id).update(posts_need_approval=False)
    _rating_feed(review)
    return review


@transaction.atomic
def portal_review_hide(*, review: Review, user) -> Review:
    review = Review.objects.select_for_update().get(pk=review.pk)
    review.status = ReviewStatus.HIDDEN
    review.save(update_fields=["status"])
    review.reports.update(resolved=True)
    # A hidden review's rating no longer counts (approving it again records it again).
    offering_rating_withdraw(
        customer=review.customer, offering=review.offering, recorded_by_nobody=True
    )
    return review


@transaction.atomic
def portal_review_answer(*, review: Review, user, answer: str, tell: Tell | None = None) -> Review:
    """Staff's answer, shown under the review; `tell` tells the author of a new answer."""
    review = Review.objects.select_for_update().get(pk=review.pk)
    before = review.staff_answer
    review.staff_answer = review_text_clean(answer)
    if not review.staff_answer:
        raise ValidationError({"answer": "Write the answer."})
    review.answered_by = user
    review.full_clean(validate_unique=False, validate_constraints=False)
    review.save(update_fields=["staff_answer", "answered_by"])
    if tell is not None and review.staff_answer != before:
        tell(review.pk, NEWS_ANSWERED)
    return review


@transaction.atomic
def portal_review_report(*, review: Review, customer: Customer) -> ReviewReport:
    if review.status != ReviewStatus.PUBLISHED:
        raise ValidationError({"review": "Only published reviews can be reported."})
    if review.customer_id == customer.pk:
        raise ValidationError({"review": "This is your own review."})
    report, created = ReviewReport.objects.get_or_create(review=review, customer=customer)
    if not created:
        raise ValidationError({"review": "You reported this review already."})
    return report


# Selectors


def reviews_published(*, offering: Offering) -> QuerySet[Review]:
    return (
        Review.objects.filter(offering=offering, status=ReviewStatus.PUBLISHED)
        .select_related("customer__portal_account")
        .order_by("-updated_at", "-pk")
    )


def reviews_to_moderate() -> QuerySet[Review]:
    """Pending reviews and published ones with an open report."""
    return (
        Review.objects.annotate(open_reports=Count("reports", filter=Q(reports__resolved=False)))
        .filter(
            Q(status=ReviewStatus.PENDING) | Q(status=ReviewStatus.PUBLISHED, open_reports__gt=0)
        )
        .select_related("offering", "customer__portal_account")
        .order_by("updated_at", "pk")
    )


def reviews_of_customer(*, customer_id: int) -> QuerySet[Review]:
    return (
        Review.objects.filter(customer_id=customer_id)
        .select_related("offering")
        .order_by("-updated_at")
    )


def offerings_to_review(*, customer: Customer) -> QuerySet[Offering]:
    return (
        Offering.objects.filter(order_lines__interaction__customer=customer)
        .distinct()
        .order_by("name")
    )
