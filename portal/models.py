"""The customer's side: their portal account and the one-time links they sign in with."""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone

REVIEW_TEXT_MAX = 4000


class PortalAccount(models.Model):
    """A customer who signed in to the portal at least once (docs/portal.md)."""

    customer = models.OneToOneField(
        "customers.Customer", on_delete=models.CASCADE, related_name="portal_account"
    )
    display_name = models.CharField(max_length=80, blank=True)
    posts_need_approval = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    last_signed_in_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"Portal account of customer {self.customer_id}"


class PortalSignInToken(models.Model):
    """One sign-in link. Only the sha256 of its token is stored: the database never holds a
    working link; `used_at` makes it single-use."""

    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.CASCADE, related_name="portal_sign_in_tokens"
    )
    token_hash = models.CharField(max_length=64, unique=True)
    sent_to = models.EmailField()
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["expires_at"], name="portal_token_expiry_idx")]

    def __str__(self) -> str:
        return f"Sign-in link of customer {self.customer_id}"


class ReviewStatus(models.TextChoices):
    PENDING = "pending", "Waiting for approval"
    PUBLISHED = "published", "Published"
    HIDDEN = "hidden", "Hidden"


class Review(models.Model):
    """A customer's review of an offering they hold (docs/portal.md, Community). One per
    customer and offering: editing replaces it. `text` is plain text (sanitised on the way in)."""

    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.CASCADE, related_name="portal_reviews"
    )
    offering = models.ForeignKey(
        "offerings.Offering", on_delete=models.CASCADE, related_name="portal_reviews"
    )
    rating = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(1), MaxValueValidator(5)]
    )
    text = models.TextField(max_length=REVIEW_TEXT_MAX)
    status = models.CharField(
        max_length=12, choices=ReviewStatus.choices, default=ReviewStatus.PENDING
    )
    staff_answer = models.TextField(max_length=REVIEW_TEXT_MAX, blank=True)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="portal_review_answers",
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "offering"], name="portal_review_one_per_offering"
            )
        ]
        indexes = [models.Index(fields=["offering", "status"], name="portal_review_offering_idx")]

    def __str__(self) -> str:
        return f"Review {self.pk} of offering {self.offering_id}"


class ReviewReport(models.Model):
    """A signed-in customer's report of abuse on a published review (one each)."""

    review = models.ForeignKey(Review, on_delete=models.CASCADE, related_name="reports")
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.CASCADE, related_name="portal_review_reports"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    resolved = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["review", "customer"], name="portal_report_one_each")
        ]

    def __str__(self) -> str:
        return f"Report on review {self.review_id}"


# --- Tips and the ideas board (portal/ideas.py, docs/portal.md "Built: tips and ideas") -------

TIP_TEXT_MAX = 1000
IDEA_TITLE_MAX = 120


class Tip(models.Model):
    """A holder's short tip on getting the job done with an offering. Moderated as reviews are
    (`status`: pending, published, hidden); several per customer and offering."""

    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.CASCADE, related_name="portal_tips"
    )
    offering = models.ForeignKey(
        "offerings.Offering", on_delete=models.CASCADE, related_name="portal_tips"
    )
    text = models.TextField(max_length=TIP_TEXT_MAX)
    status = models.CharField(
        max_length=12, choices=ReviewStatus.choices, default=ReviewStatus.PENDING
    )
    staff_answer = models.TextField(max_length=REVIEW_TEXT_MAX, blank=True)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="portal_tip_answers",
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["offering", "status"], name="portal_tip_offering_idx")]

    def __str__(self) -> str:
        return f"Tip {self.pk} on offering {self.offering_id}"


class IdeaStage(models.TextChoices):
    """Where staff say an idea stands (shown as its status); `Idea.status` is moderation."""

    NEW = "new", "New"
    UNDER_REVIEW = "under_review", "Under review"
    PLANNED = "planned", "Planned"
    DONE = "done", "Done"
    DECLINED = "declined", "Declined"


# Votes are closed on ideas that are settled.
IDEA_STAGES_CLOSED = frozenset({IdeaStage.DONE, IdeaStage.DECLINED})


class Idea(models.Model):
    """A customer's idea on the board, optionally about a category or an offering. Moderated
    as reviews are (`status`); staff answer it and set its `stage`."""

    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.CASCADE, related_name="portal_ideas"
    )
    title = models.CharField(max_length=IDEA_TITLE_MAX)
    text = models.TextField(max_length=REVIEW_TEXT_MAX)
    category = models.ForeignKey(
        "offerings.Category",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="portal_ideas",
    )
    offering = models.ForeignKey(
        "offerings.Offering",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="portal_ideas",
    )
    status = models.CharField(
        max_length=12, choices=ReviewStatus.choices, default=ReviewStatus.PENDING
    )
    stage = models.CharField(
        "status", max_length=14, choices=IdeaStage.choices, default=IdeaStage.NEW
    )
    staff_answer = models.TextField(max_length=REVIEW_TEXT_MAX, blank=True)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="portal_idea_answers",
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        indexes = [models.Index(fields=["status", "stage"], name="portal_idea_status_idx")]

    def __str__(self) -> str:
        return f"Idea {self.pk}"


class IdeaVote(models.Model):
    """One customer's vote for an idea (one each; withdrawing deletes it)."""

    idea = models.ForeignKey(Idea, on_delete=models.CASCADE, related_name="votes")
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.CASCADE, related_name="portal_idea_votes"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["idea", "customer"], name="portal_vote_one_each")
        ]

    def __str__(self) -> str:
        return f"Vote on idea {self.idea_id}"


class PostReport(models.Model):
    """A signed-in customer's report of abuse on a published tip or idea (one each), as
    `ReviewReport` is for reviews."""

    tip = models.ForeignKey(
        Tip, null=True, blank=True, on_delete=models.CASCADE, related_name="reports"
    )
    idea = models.ForeignKey(
        Idea, null=True, blank=True, on_delete=models.CASCADE, related_name="reports"
    )
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.CASCADE, related_name="portal_post_reports"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    resolved = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(tip__isnull=False, idea__isnull=True)
                | models.Q(tip__isnull=True, idea__isnull=False),
                name="portal_post_report_one_post",
            ),
            models.UniqueConstraint(fields=["tip", "customer"], name="portal_tip_report_one_each"),
            models.UniqueConstraint(
                fields=["idea", "customer"], name="portal_idea_report_one_each"
            ),
        ]

    def __str__(self) -> str:
        return (
            f"Report on {'tip ' + str(self.tip_id) if self.tip_id else 'idea ' + str(self.idea_id)}"
        )
