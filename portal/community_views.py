"""The community's pages: the customer's display name and reviews (portal session), the
public reviews of an offering (nobody signed in), moderation (admins, request.user)."""

from functools import partial

from django import forms
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from accounts.roles import is_admin
from core.ratelimit import rate_limit_hit
from offerings.models import Offering

from . import community, tasks
from .account_views import customer_required, home_context
from .models import REVIEW_TEXT_MAX, Review


class DisplayNameForm(forms.Form):
    display_name = forms.CharField(
        label="Your display name (what other customers see)",
        max_length=community.DISPLAY_NAME_MAX * 2,
    )


class ReviewForm(forms.Form):
    rating = forms.TypedChoiceField(
        choices=[(n, f"{n} / 5") for n in range(5, 0, -1)], coerce=int, label="Rating"
    )
    text = forms.CharField(widget=forms.Textarea, max_length=REVIEW_TEXT_MAX, label="Your review")


class AnswerForm(forms.Form):
    answer = forms.CharField(widget=forms.Textarea, max_length=REVIEW_TEXT_MAX, label="Answer")


def _errors(form_or_error) -> list[str]:
    if isinstance(form_or_error, ValidationError):
        data = form_or_error.message_dict if hasattr(form_or_error, "error_dict") else {}
        items = data.items() if data else [("__all__", form_or_error.messages)]
    else:
        items = form_or_error.errors.items()
    return [
        f"{'' if field == '__all__' else field.replace('_', ' ') + ': '}{message}"
        for field, messages in items
        for message in messages
    ]


def _home_refused(request, customer, messages: list[str]):
    context = home_context(customer)
    context["community_errors"] = messages
    return render(request, "portal/home.html", context, status=400)


@require_POST
@customer_required
def display_name(request, customer):
    form = DisplayNameForm(request.POST)
    if not form.is_valid():
        return _home_refused(request, customer, _errors(form))
    try:
        community.portal_display_name_set(
            customer=customer, display_name=form.cleaned_data["display_name"]
        )
    except ValidationError as error:
        return _home_refused(request, customer, _errors(error))
    return redirect(f"{reverse('portal:home')}#community")


@require_POST
@customer_required
def review_post(request, customer, offering_id: int):
    offering = get_object_or_404(Offering, pk=offering_id)
    if rate_limit_hit(
        scope="portal-review-post", ident=str(customer.pk), rate=settings.PORTAL_POST_RATE
    ):
        response = _home_refused(request, customer, ["Too many posts. Please try again later."])
        response.status_code = 429
        response["Retry-After"] = "3600"
        return response
    form = ReviewForm(request.POST)
    if not form.is_valid():
        return _home_refused(request, customer, _errors(form))
    try:
        community.portal_review_post(
            customer=customer,
            offering=offering,
            rating=form.cleaned_data["rating"],
            text=form.cleaned_data["text"],
        )
    except ValidationError as error:
        status = 403 if "offering" in getattr(error, "error_dict", {}) else 400
        response = _home_refused(request, customer, _errors(error))
        response.status_code = status
        return response
    return redirect(f"{reverse('portal:home')}#community")


@require_POST
@customer_required
def review_report(request, customer, review_id: int):
    review = Review.objects.filter(pk=review_id).first()
    if review is None:
        raise Http404("No such review.")
    try:
        community.portal_review_report(review=review, customer=customer)
    except ValidationError as error:
        return render(
            request,
            "portal/offering_reviews.html",
            {**_public_context(review.offering), "errors": _errors(error)},
            status=400,
        )
    return redirect("offering-reviews", offering_id=review.offering_id)


def _public_context(offering) -> dict:
    return {"offering": offering, "reviews": community.reviews_published(offering=offering)}


@require_GET
def offering_reviews(request, offering_id: int):
    offering = get_object_or_404(Offering, pk=offering_id)
    context = _public_context(offering)
    context["signed_in"] = "portal_customer_id" in request.session
    return render(request, "portal/offering_reviews.html", context)


def admin_only(view):
    @login_required
    def wrapper(request, *args, **kwargs):
        if not is_admin(request.user):
            raise PermissionDenied("Moderation is for admins.")
        return view(request, *args, **kwargs)

    wrapper.__name__ = view.__name__
    return wrapper


@require_GET
@admin_only
def moderation(request):
    return render(
        request,
        "portal/moderation.html",
        {"reviews": community.reviews_to_moderate(), "answer_form": AnswerForm()},
    )


def moderation_action(action: str):
    @require_POST
    @admin_only
    def view(request, review_id: int):
        review = get_object_or_404(Review, pk=review_id)
        tell = partial(
            tasks.review_news_request,
            portal_link=request.build_absolute_uri(reverse("portal:home")),
        )
        if action == "approve":
            community.portal_review_approve(review=review, user=request.user, tell=tell)
        elif action == "hide":
            community.portal_review_hide(review=review, user=request.user)
        else:
            form = AnswerForm(request.POST)
            if not form.is_valid():
                return render(
                    request,
                    "portal/moderation.html",
                    {
                        "reviews": community.reviews_to_moderate(),
                        "answer_form": form,
                        "errors": _errors(form),
                    },
                    status=400,
                )
            try:
                community.portal_review_answer(
                    review=review,
                    user=request.user,
                    answer=form.cleaned_data["answer"],
                    tell=tell,
                )
            except ValidationError as error:
                return render(
                    request,
                    "portal/moderation.html",
                    {
                        "reviews": community.reviews_to_moderate(),
                        "answer_form": form,
                        "errors": _errors(error),
                    },
                    status=400,
                )
        return redirect("portal:moderation")

    view.__name__ = f"review_{action}"
    return view


review_approve = moderation_action("approve")
review_hide = moderation_action("hide")
review_answer = moderation_action("answer")
