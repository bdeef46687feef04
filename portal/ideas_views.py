"""The pages of tips and the ideas board (portal/ideas.py): the customer's (portal session),
the staff's list of ideas (admins act, managers view) and the moderation of tips and ideas
(admins, on /portal/moderation/ beside the reviews)."""

from functools import partial

from django import forms
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from accounts.roles import is_admin, is_manager
from core.ratelimit import rate_limit_hit
from offerings.models import Category, Offering

from . import community, ideas, tasks
from .account_views import customer_required, home_context
from .community_views import AnswerForm, _errors, admin_only
from .models import (
    IDEA_TITLE_MAX,
    REVIEW_TEXT_MAX,
    TIP_TEXT_MAX,
    Idea,
    IdeaStage,
    ReviewStatus,
    Tip,
)

TOO_MANY = "Too many posts. Please try again later."


class TipForm(forms.Form):
    text = forms.CharField(widget=forms.Textarea, max_length=TIP_TEXT_MAX, label="Your tip")


class IdeaForm(forms.Form):
    title = forms.CharField(max_length=IDEA_TITLE_MAX * 2, label="Title")
    text = forms.CharField(widget=forms.Textarea, max_length=REVIEW_TEXT_MAX, label="Your idea")
    category = forms.ModelChoiceField(
        queryset=Category.objects.all(),
        required=False,
        label="About a kind of offering",
        empty_label="Nothing in particular",
    )
    offering = forms.ModelChoiceField(
        queryset=Offering.objects.filter(archived_at__isnull=True),
        required=False,
        label="About an offering",
        empty_label="Nothing in particular",
    )


class IdeaAnswerForm(forms.Form):
    stage = forms.ChoiceField(choices=IdeaStage.choices, label="Status")
    answer = forms.CharField(
        widget=forms.Textarea, max_length=REVIEW_TEXT_MAX, required=False, label="Answer"
    )


def _stage_filter(request) -> str:
    # An unknown status filters nothing: the list is still worth showing.
    stage = request.GET.get("status", "")
    return stage if stage in IdeaStage.values else ""


def _tell(request, kind: str):
    """The author is told of moderation's news by mail after the commit (portal.tasks)."""
    link = request.build_absolute_uri(reverse("portal:home"))
    return partial(tasks.post_news_request, kind, portal_link=link)


def _too_many(response):
    response.status_code = 429
    response["Retry-After"] = "3600"
    return response


def _over(scope: str, customer, rate: str) -> bool:
    return rate_limit_hit(scope=scope, ident=str(customer.pk), rate=rate)


# --- Tips (the form on /portal/, the list on the public offering page) ------------------------


def _home_refused(request, customer, messages: list[str], status: int = 400):
    context = home_context(customer)
    context["tip_errors"] = messages
    return render(request, "portal/home.html", context, status=status)


@require_POST
@customer_required
def tip_post(request, customer, offering_id: int):
    offering = get_object_or_404(Offering, pk=offering_id)
    if _over("portal-tip-post", customer, settings.PORTAL_POST_RATE):
        return _too_many(_home_refused(request, customer, [TOO_MANY]))
    form = TipForm(request.POST)
    if not form.is_valid():
        return _home_refused(request, customer, _errors(form))
    try:
        ideas.portal_tip_post(customer=customer, offering=offering, text=form.cleaned_data["text"])
    except ValidationError as error:
        status = 403 if "offering" in getattr(error, "error_dict", {}) else 400
        return _home_refused(request, customer, _errors(error), status=status)
    return redirect(f"{reverse('portal:home')}#tips")


@require_POST
@customer_required
def tip_report(request, customer, tip_id: int):
    tip = Tip.objects.filter(pk=tip_id).select_related("offering").first()
    if tip is None:
        raise Http404("No such tip.")
    try:
        ideas.portal_post_report(customer=customer, tip=tip)
    except ValidationError as error:
        context = {
            "offering": tip.offering,
            "reviews": community.reviews_published(offering=tip.offering),
            "signed_in": True,
            "tip_errors": _errors(error),
        }
        return render(request, "portal/offering_reviews.html", context, status=400)
    return redirect(f"{reverse('offering-reviews', args=[tip.offering_id])}#tips")


# --- The ideas board (customers) ---------------------------------------------------------------


def _board(request, customer, *, form=None, errors=None, status=200):
    stage = _stage_filter(request)
    context = {
        "customer": customer,
        "account": community.portal_account_for(customer=customer),
        "ideas": ideas.ideas_board(customer=customer, stage=stage),
        "stage": stage,
        "stages": IdeaStage.choices,
        "form": form or IdeaForm(),
        "errors": errors or [],
    }
    return render(request, "portal/ideas.html", context, status=status)


@require_GET
@customer_required
def board(request, customer):
    return _board(request, customer)


@require_POST
@customer_required
def idea_post(request, customer):
    if _over("portal-idea-post", customer, settings.PORTAL_POST_RATE):
        return _too_many(_board(request, customer, errors=[TOO_MANY]))
    form = IdeaForm(request.POST)
    if not form.is_valid():
        return _board(request, customer, form=form, errors=_errors(form), status=400)
    try:
        ideas.portal_idea_post(customer=customer, **form.cleaned_data)
    except ValidationError as error:
        return _board(request, customer, form=form, errors=_errors(error), status=400)
    return redirect("portal:ideas")


def _visible_idea(customer, idea_id: int) -> Idea:
    """A published idea, or the customer's own: any other reads as missing."""
    idea = Idea.objects.filter(pk=idea_id).first()
    if idea is None or (idea.status != ReviewStatus.PUBLISHED and idea.customer_id != customer.pk):
        raise Http404("No such idea.")
    return idea


def idea_action(action: str):
    @require_POST
    @customer_required
    def view(request, customer, idea_id: int):
        idea = _visible_idea(customer, idea_id)
        try:
            if action == "report":
                ideas.portal_post_report(customer=customer, idea=idea)
            else:
                if _over("portal-idea-vote", customer, settings.PORTAL_VOTE_RATE):
                    return _too_many(_board(request, customer, errors=[TOO_MANY]))
                if action == "vote":
                    ideas.portal_idea_vote(customer=customer, idea=idea)
                else:
                    ideas.portal_idea_vote_withdraw(customer=customer, idea=idea)
        except ValidationError as error:
            return _board(request, customer, errors=_errors(error), status=400)
        return redirect(f"{reverse('portal:ideas')}#idea-{idea.pk}")

    view.__name__ = f"idea_{action}"
    return view


idea_vote = idea_action("vote")
idea_unvote = idea_action("unvote")
idea_report = idea_action("report")


# --- Staff: the ideas by votes (admins act, managers view), moderation of tips and ideas ------


def staff_viewers(view):
    @login_required
    def wrapper(request, *args, **kwargs):
        if not (is_admin(request.user) or is_manager(request.user)):
            raise PermissionDenied("The ideas board is for admins and managers.")
        return view(request, *args, **kwargs)

    wrapper.__name__ = view.__name__
    return wrapper


def _manage(request, *, errors=None, status=200):
    stage = _stage_filter(request)
    context = {
        "ideas": ideas.ideas_to_manage(stage=stage),
        "stage": stage,
        "stages": IdeaStage.choices,
        "can_act": is_admin(request.user),
        "errors": errors or [],
    }
    return render(request, "portal/ideas_manage.html", context, status=status)


@require_GET
@staff_viewers
def manage(request):
    return _manage(request)


@require_POST
@admin_only
def idea_answer(request, idea_id: int):
    idea = get_object_or_404(Idea, pk=idea_id)
    form = IdeaAnswerForm(request.POST)
    if not form.is_valid():
        return _manage(request, errors=_errors(form), status=400)
    try:
        ideas.portal_idea_answer(
            idea=idea,
            user=request.user,
            stage=form.cleaned_data["stage"],
            answer=form.cleaned_data["answer"],
            tell=_tell(request, "idea"),
        )
    except ValidationError as error:
        return _manage(request, errors=_errors(error), status=400)
    return redirect(f"{reverse('portal:ideas-manage')}#idea-{idea.pk}")


def _moderation_refused(request, messages: list[str]):
    context = {
        "reviews": community.reviews_to_moderate(),
        "answer_form": AnswerForm(),
        "errors": messages,
    }
    return render(request, "portal/moderation.html", context, status=400)


def tip_moderation(action: str):
    @require_POST
    @admin_only
    def view(request, tip_id: int):
        tip = get_object_or_404(Tip, pk=tip_id)
        if action == "approve":
            ideas.portal_tip_approve(tip=tip, user=request.user, tell=_tell(request, "tip"))
        elif action == "hide":
            ideas.portal_tip_hide(tip=tip, user=request.user)
        else:
            form = AnswerForm(request.POST)
            if not form.is_valid():
                return _moderation_refused(request, _errors(form))
            try:
                ideas.portal_tip_answer(
                    tip=tip,
                    user=request.user,
                    answer=form.cleaned_data["answer"],
                    tell=_tell(request, "tip"),
                )
            except ValidationError as error:
                return _moderation_refused(request, _errors(error))
        return redirect(f"{reverse('portal:moderation')}#tips")

    view.__name__ = f"tip_{action}"
    return view


def idea_moderation(action: str):
    @require_POST
    @admin_only
    def view(request, idea_id: int):
        idea = get_object_or_404(Idea, pk=idea_id)
        if action == "approve":
            ideas.portal_idea_approve(idea=idea, user=request.user, tell=_tell(request, "idea"))
        else:
            ideas.portal_idea_hide(idea=idea, user=request.user)
        return redirect(f"{reverse('portal:moderation')}#ideas")

    view.__name__ = f"idea_{action}"
    return view


tip_approve = tip_moderation("approve")
tip_hide = tip_moderation("hide")
tip_answer = tip_moderation("answer")
idea_approve = idea_moderation("approve")
idea_hide = idea_moderation("hide")
