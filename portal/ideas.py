"""Tips and the ideas board of the portal's community (docs/portal.md, "Built: tips and
ideas"): services (writes) and selectors (reads) of `Tip`, `Idea`, `IdeaVote`, `PostReport`.

They reuse the reviews' mechanisms (portal/community.py): a display name before posting, text
sanitised by `review_text_clean`, pending while the account `posts_need_approval`, admins'
moderation, reports. Other customers see display names only. Each tip, idea and vote (and a
vote withdrawn) is an inbound web-channel `feedback` interaction on the customer's timeline,
not awaiting a response, so their manager sees it.
"""

from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.urls import reverse
from django.utils import timezone

from customers.models import Customer
from interactions.choices import Channel, Direction, InteractionType
from interactions.models import Interaction
from interactions.services import interaction_log
from offerings.models import Category, Offering

from .community import (
    NEWS_ANSWERED,
    NEWS_APPROVED,
    Tell,
    customer_holds,
    portal_account_for,
    review_text_clean,
)
from .models import (
    IDEA_STAGES_CLOSED,
    IDEA_TITLE_MAX,
    REVIEW_TEXT_MAX,
    TIP_TEXT_MAX,
    Idea,
    IdeaStage,
    IdeaVote,
    PortalAccount,
    PostReport,
    ReviewStatus,
    Tip,
)

IDEA_TITLE_MIN = 3
NEWS_STAGE = "stage"  # an idea's status changed (portal.tasks.post_news_send)
# How a vote reads on the voter's timeline, before the idea's title (portal/privacy.py finds
# them there when the idea's author is erased).
VOTED_FOR = "In the portal, the customer voted for the idea: "
VOTE_WITHDRAWN = "In the portal, the customer withdrew their vote for the idea: "
ERASED_IDEA = "Erased"  # the title an erased customer's idea keeps


def _feedback_log(*, customer: Customer, subject: str, notes: str = "") -> Interaction:
    return interaction_log(
        customer=customer,
        logged_by=None,
        channel=Channel.WEB,
        direction=Direction.INBOUND,
        type=InteractionType.FEEDBACK,
        subject=subject[:200],
        notes=notes,
        requires_response=False,  # the community is answered in moderation, not as a request
    )


def _poster(customer: Customer) -> PortalAccount:
    """The customer's account, locked; posting needs a display name (others see only it)."""
    account = PortalAccount.objects.select_for_update().get(
        pk=portal_account_for(customer=customer).pk
    )
    if not account.display_name:
        raise ValidationError({"display_name": "Choose a display name before posting."})
    return account


def _text(text: str, *, field: str, limit: int) -> str:
    cleaned = review_text_clean(text)
    if not cleaned:
        raise ValidationError({field: "Write a few words."})
    if len(cleaned) > limit:
        raise ValidationError({field: f"At most {limit} characters."})
    return cleaned


def _status_for(account: PortalAccount) -> str:
    return ReviewStatus.PENDING if account.posts_need_approval else ReviewStatus.PUBLISHED


# --- Tips ------------------------------------------------------------------------------------


@transaction.atomic
def portal_tip_post(*, customer: Customer, offering: Offering, text: str) -> Tip:
    account = _poster(customer)
    if not customer_holds(customer=customer, offering=offering):
        raise ValidationError({"offering": "Only customers who ordered this offering share tips."})
    cleaned = _text(text, field="text", limit=TIP_TEXT_MAX)
    tip = Tip(customer=customer, offering=offering, text=cleaned, status=_status_for(account))
    tip.full_clean()
    tip.save()
    _feedback_log(
        customer=customer,
        subject=f"In the portal, the customer shared a tip on {offering}",
        notes=cleaned,
    )
    return tip


@transaction.atomic
def portal_tip_approve(*, tip: Tip, user, tell: Tell | None = None) -> Tip:
    """Publish; the customer's later posts need no approval. Its reports are resolved.
    `tell(tip_id, news)` tells the author, when it was not published before."""
    return _post_publish(Tip, tip, tell)


@transaction.atomic
def portal_tip_hide(*, tip: Tip, user) -> Tip:
    return _post_hide(Tip, tip)


@transaction.atomic
def portal_tip_answer(*, tip: Tip, user, answer: str, tell: Tell | None = None) -> Tip:
    tip = Tip.objects.select_for_update().get(pk=tip.pk)
    before = tip.staff_answer
    tip.staff_answer = _text(answer, field="answer", limit=REVIEW_TEXT_MAX)
    tip.answered_by = user
    tip.full_clean()
    tip.save(update_fields=["staff_answer", "answered_by"])
    if tell is not None and tip.staff_answer != before:
        tell(tip.pk, NEWS_ANSWERED)
    return tip


# --- Ideas -----------------------------------------------------------------------------------


def idea_title_clean(title: str) -> str:
    """One line of plain text (tags dropped as in the text)."""
    return " ".join(review_text_clean(title).split())


@transaction.atomic
def portal_idea_post(
    *,
    customer: Customer,
    title: str,
    text: str,
    category: Category | None = None,
    offering: Offering | None = None,
) -> Idea:
    account = _poster(customer)
    clean_title = idea_title_clean(title)
    if not IDEA_TITLE_MIN <= len(clean_title) <= IDEA_TITLE_MAX:
        raise ValidationError(
            {"title": f"Between {IDEA_TITLE_MIN} and {IDEA_TITLE_MAX} characters."}
        )
    if offering is not None and category is not None and offering.category_id != category.pk:
        raise ValidationError({"offering": "This offering is not of the category chosen."})
    idea = Idea(
        customer=customer,
        title=clean_title,
        text=_text(text, field="text", limit=REVIEW_TEXT_MAX),
        category=category if category is not None or offering is None else offering.category,
        offering=offering,
        status=_status_for(account),
    )
    idea.full_clean()
    idea.save()
    _feedback_log(
        customer=customer,
        subject=f"In the portal, the customer posted an idea: {clean_title}",
        notes=idea.text,
    )
    return idea


@transaction.atomic
def portal_idea_approve(*, idea: Idea, user, tell: Tell | None = None) -> Idea:
    return _post_publish(Idea, idea, tell)


@transaction.atomic
def portal_idea_hide(*, idea: Idea, user) -> Idea:
    return _post_hide(Idea, idea)


@transaction.atomic
def portal_idea_answer(
    *, idea: Idea, user, stage: str, answer: str = "", tell: Tell | None = None
) -> Idea:
    """Staff set where the idea stands and, optionally, answer it (an empty answer keeps the
    one given before). `tell` tells the author once: of a new answer (its message names the
    status too), else of a new status."""
    if stage not in IdeaStage.values:
        raise ValidationError({"stage": f"Not a status: {stage!r}."})
    idea = Idea.objects.select_for_update().get(pk=idea.pk)
    before = (idea.stage, idea.staff_answer)
    idea.stage = stage
    fields = ["stage"]
    if answer.strip():
        idea.staff_answer = _text(answer, field="answer", limit=REVIEW_TEXT_MAX)
        idea.answered_by = user
        fields += ["staff_answer", "answered_by"]
    idea.full_clean()
    idea.save(update_fields=fields)
    if tell is not None and idea.staff_answer != before[1]:
        tell(idea.pk, NEWS_ANSWERED)
    elif tell is not None and idea.stage != before[0]:
        tell(idea.pk, NEWS_STAGE)
    return idea


@transaction.atomic
def portal_idea_vote(*, customer: Customer, idea: Idea) -> IdeaVote:
    idea = Idea.objects.select_for_update().get(pk=idea.pk)
    if idea.status != ReviewStatus.PUBLISHED:
        raise ValidationError({"idea": "Only published ideas take votes."})
    if idea.stage in IDEA_STAGES_CLOSED:
        raise ValidationError({"idea": f"This idea is {idea.get_stage_display().lower()}."})
    try:
        with transaction.atomic():
            vote = IdeaVote.objects.create(idea=idea, customer=customer)
    except IntegrityError:  # the one vote each (a second post, or a concurrent one)
        raise ValidationError({"idea": "You voted for this idea already."}) from None
    _feedback_log(customer=customer, subject=f"{VOTED_FOR}{idea.title}")
    return vote


@transaction.atomic
def portal_idea_vote_withdraw(*, customer: Customer, idea: Idea) -> None:
    deleted, _ = IdeaVote.objects.filter(idea=idea, customer=customer).delete()
    if not deleted:
        raise ValidationError({"idea": "You have not voted for this idea."})
    _feedback_log(
        customer=customer,
        subject=f"{VOTE_WITHDRAWN}{idea.title}",
    )


# --- Reports ---------------------------------------------------------------------------------


@transaction.atomic
def portal_post_report(
    *, customer: Customer, tip: Tip | None = None, idea: Idea | None = None
) -> PostReport:
    post = tip if tip is not None else idea
    field = "tip" if tip is not None else "idea"
    if post is None:
        raise ValidationError("Say which tip or idea.")
    if post.status != ReviewStatus.PUBLISHED:
        raise ValidationError({field: f"Only published {field}s can be reported."})
    if post.customer_id == customer.pk:
        raise ValidationError({field: f"This is your own {field}."})
    try:
        with transaction.atomic():
            return PostReport.objects.create(tip=tip, idea=idea, customer=customer)
    except IntegrityError:
        raise ValidationError({field: f"You reported this {field} already."}) from None


# --- Selectors -------------------------------------------------------------------------------


def tips_published(*, offering: Offering) -> QuerySet[Tip]:
    return (
        Tip.objects.filter(offering=offering, status=ReviewStatus.PUBLISHED)
        .select_related("customer__portal_account")
        .order_by("-created_at", "-pk")
    )


def tips_of_customer(*, customer_id: int) -> QuerySet[Tip]:
    return (
        Tip.objects.filter(customer_id=customer_id)
        .select_related("offering")
        .order_by("-created_at", "-pk")
    )


VOTES = Count("votes", distinct=True)
BOARD_RELATED = ("customer__portal_account", "category", "offering")


def ideas_board(*, customer: Customer, stage: str = "") -> QuerySet[Idea]:
    """Published ideas and the customer's own pending ones, most voted first, each with
    `vote_count` and `voted` (this customer's vote)."""
    ideas = Idea.objects.filter(
        Q(status=ReviewStatus.PUBLISHED) | Q(customer=customer, status=ReviewStatus.PENDING)
    )
    if stage:
        ideas = ideas.filter(stage=stage)
    return (
        ideas.annotate(
            vote_count=VOTES,
            voted=Exists(IdeaVote.objects.filter(idea=OuterRef("pk"), customer=customer)),
        )
        .select_related(*BOARD_RELATED)
        .order_by("-vote_count", "-created_at", "-pk")
    )


def ideas_to_manage(*, stage: str = "") -> QuerySet[Idea]:
    """The staff's list: every idea but the hidden ones, most voted first."""
    ideas = Idea.objects.exclude(status=ReviewStatus.HIDDEN)
    if stage:
        ideas = ideas.filter(stage=stage)
    return (
        ideas.annotate(vote_count=VOTES)
        .select_related(*BOARD_RELATED)
        .order_by("-vote_count", "-created_at", "-pk")
    )


NEWS_LIMIT = 10


def post_news_of(*, customer_id: int) -> dict[str, list]:
    """The portal home's note of what staff did with the customer's published tips and
    ideas, latest first (the author is mailed too): "tip_news" the answered tips,
    "idea_news" the ideas answered or whose status moved on. Two queries."""
    published = Q(customer_id=customer_id, status=ReviewStatus.PUBLISHED)
    tips = (
        Tip.objects.filter(published)
        .exclude(staff_answer="")
        .select_related("offering")
        .order_by("-created_at", "-pk")[:NEWS_LIMIT]
    )
    found = (
        Idea.objects.filter(published)
        .filter(~Q(staff_answer="") | ~Q(stage=IdeaStage.NEW))
        .order_by("-created_at", "-pk")[:NEWS_LIMIT]
    )
    return {"tip_news": list(tips), "idea_news": list(found)}


def ideas_unanswered_of(*, manager, limit: int = 50) -> list[dict]:
    """Published ideas of the manager's customers with no staff answer for
    PORTAL_REVIEW_TODO_AFTER_HOURS since posted, oldest first: one query (the to-do's fixed
    count; core.hooks "todo.ideas"). Admins answer ideas; a manager views them on the staff's
    list, so the entry links there, to the idea."""
    before = timezone.now() - timedelta(hours=settings.PORTAL_REVIEW_TODO_AFTER_HOURS)
    found = (
        Idea.objects.filter(
            customer__owner=manager,
            status=ReviewStatus.PUBLISHED,
            staff_answer="",
            created_at__lte=before,
        )
        .select_related("customer")
        .order_by("created_at", "pk")[:limit]
    )
    manage = reverse("portal:ideas-manage")
    return [
        {
            "customer": idea.customer,
            "title": idea.title,
            "stage": idea.get_stage_display(),
            "at": idea.created_at,
            "view_url": f"{manage}#idea-{idea.pk}",
        }
        for idea in found
    ]


def ideas_of_customer(*, customer_id: int) -> QuerySet[Idea]:
    return (
        Idea.objects.filter(customer_id=customer_id)
        .annotate(vote_count=Count("votes"))
        .order_by("-created_at", "-pk")
    )


def votes_of_customer(*, customer_id: int) -> QuerySet[IdeaVote]:
    return (
        IdeaVote.objects.filter(customer_id=customer_id)
        .select_related("idea")
        .order_by("-created_at", "-pk")
    )


def _open_reports() -> Count:
    return Count("reports", filter=Q(reports__resolved=False))


def tips_to_moderate() -> QuerySet[Tip]:
    """Pending tips and published ones with an open report."""
    return (
        Tip.objects.annotate(open_reports=_open_reports())
        .filter(
            Q(status=ReviewStatus.PENDING) | Q(status=ReviewStatus.PUBLISHED, open_reports__gt=0)
        )
        .select_related("offering", "customer__portal_account")
        .order_by("created_at", "pk")
    )


def ideas_to_moderate() -> QuerySet[Idea]:
    return (
        Idea.objects.annotate(open_reports=_open_reports())
        .filter(
            Q(status=ReviewStatus.PENDING) | Q(status=ReviewStatus.PUBLISHED, open_reports__gt=0)
        )
        .select_related("customer__portal_account")
        .order_by("created_at", "pk")
    )


def idea_choices() -> tuple[QuerySet[Category], QuerySet[Offering]]:
    """What an idea may be about: the categories, and the offerings not archived."""
    return (
        Category.objects.order_by("name"),
        Offering.objects.filter(archived_at__isnull=True).order_by("name"),
    )


# --- Merge -----------------------------------------------------------------------------------


def ideas_customer_merge(*, survivor_id: int, duplicate_id: int) -> dict[str, dict]:
    """In the merge's transaction (portal.services.portal_customer_merge): tips and ideas
    move; one vote and one report a customer and post, so where both voted for (or reported)
    the same, the survivor's own stands and the duplicate's goes."""
    tips = Tip.objects.filter(customer_id=duplicate_id).update(customer_id=survivor_id)
    ideas = Idea.objects.filter(customer_id=duplicate_id).update(customer_id=survivor_id)
    voted = IdeaVote.objects.filter(customer_id=survivor_id).values("idea_id")
    twice, _ = IdeaVote.objects.filter(customer_id=duplicate_id, idea_id__in=voted).delete()
    votes: dict[str, int | str] = {
        "moved": IdeaVote.objects.filter(customer_id=duplicate_id).update(customer_id=survivor_id),
        "dropped": twice,
    }
    if twice:
        votes["why"] = "one vote a customer and idea: the survivor's kept"
    theirs = PostReport.objects.filter(customer_id=survivor_id)
    same, _ = PostReport.objects.filter(
        Q(tip_id__in=theirs.filter(tip__isnull=False).values("tip_id"))
        | Q(idea_id__in=theirs.filter(idea__isnull=False).values("idea_id")),
        customer_id=duplicate_id,
    ).delete()
    reports: dict[str, int | str] = {
        "moved": PostReport.objects.filter(customer_id=duplicate_id).update(
            customer_id=survivor_id
        ),
        "dropped": same,
    }
    if same:
        reports["why"] = "one report a customer and tip or idea"
    return {
        "portal.Tip.customer": {"moved": tips},
        "portal.Idea.customer": {"moved": ideas},
        "portal.IdeaVote.customer": votes,
        "portal.PostReport.customer": reports,
    }


def ideas_customer_erase(*, customer_id: int) -> None:
    """In the erasure's transaction (portal.handlers, on `customer.erased`): what the customer
    wrote goes. Their tips are deleted; their ideas stay on the board's counts but hidden,
    with no title, text or answer (others' votes for them stay, as the firm's totals do)."""
    Tip.objects.filter(customer_id=customer_id).delete()
    Idea.objects.filter(customer_id=customer_id).update(
        title=ERASED_IDEA, text="", staff_answer="", status=ReviewStatus.HIDDEN
    )


def _post_publish(model, post, tell: "Tell | None"):
    """A tip or idea published by an admin: the author told when it was not published
    before, its reports resolved, the customer's later posts free of approval."""
    post = model.objects.select_for_update().get(pk=post.pk)
    if tell is not None and post.status != ReviewStatus.PUBLISHED:
        tell(post.pk, NEWS_APPROVED)
    post.status = ReviewStatus.PUBLISHED
    post.save(update_fields=["status"])
    post.reports.update(resolved=True)
    PortalAccount.objects.filter(customer_id=post.customer_id).update(posts_need_approval=False)
    return post


def _post_hide(model, post):
    post = model.objects.select_for_update().get(pk=post.pk)
    post.status = ReviewStatus.HIDDEN
    post.save(update_fields=["status"])
    post.reports.update(resolved=True)
    return post
