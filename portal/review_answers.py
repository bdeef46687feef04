"""Reviews that wait for staff's answer: on the manager's to-do list (workspace, through
core.hooks "todo.reviews") and the page where staff who see the customer answer one."""

from datetime import timedelta
from functools import partial

from django import forms
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from customers.selectors import customers_visible_to

from . import community, tasks
from .models import REVIEW_TEXT_MAX, Review, ReviewStatus

TODO_LIMIT = 50


def reviews_unanswered_of(*, manager, limit: int = TODO_LIMIT) -> list[dict]:
    """Published reviews of the manager's customers with no answer for
    PORTAL_REVIEW_TODO_AFTER_HOURS, oldest first: one query (the to-do's fixed count)."""
    before = timezone.now() - timedelta(hours=settings.PORTAL_REVIEW_TODO_AFTER_HOURS)
    reviews = (
        Review.objects.filter(
            customer__owner=manager,
            status=ReviewStatus.PUBLISHED,
            staff_answer="",
            updated_at__lte=before,
        )
        .select_related("customer", "offering")
        .order_by("updated_at", "pk")[:limit]
    )
    return [
        {
            "customer": review.customer,
            "offering": review.offering.name,
            "rating": review.rating,
            "text": review.text,
            "at": review.updated_at,
            "answer_url": reverse("portal:review-answer-page", args=[review.pk]),
        }
        for review in reviews
    ]


class StaffAnswerForm(forms.Form):
    answer = forms.CharField(widget=forms.Textarea, max_length=REVIEW_TEXT_MAX, label="Answer")


@login_required
@require_http_methods(["GET", "POST"])
def review_answer_page(request, review_id: int):
    """One review and its answer box, for staff who see its customer (a manager: their
    portfolio's); anyone else reads it as a review that does not exist."""
    review = (
        Review.objects.filter(
            pk=review_id, customer__in=customers_visible_to(request.user).values("pk")
        )
        .select_related("customer", "offering")
        .first()
    )
    if review is None:
        raise Http404("No such review.")
    errors: list[str] = []
    form = StaffAnswerForm(request.POST or None, initial={"answer": review.staff_answer})
    status = 200
    if request.method == "POST":
        if form.is_valid():
            tell = partial(
                tasks.review_news_request,
                portal_link=request.build_absolute_uri(reverse("portal:home")),
            )
            try:
                community.portal_review_answer(
                    review=review, user=request.user, answer=form.cleaned_data["answer"], tell=tell
                )
            except ValidationError as error:
                errors = [m for messages in error.message_dict.values() for m in messages]
            else:
                return redirect(f"{reverse('portal:review-answer-page', args=[review.pk])}?done=1")
        else:
            errors = [f"answer: {m}" for m in form.errors.get("answer", [])]
        status = 400
    return render(
        request,
        "portal/review_answer.html",
        {"review": review, "form": form, "errors": errors, "done": request.GET.get("done") == "1"},
        status=status,
    )
