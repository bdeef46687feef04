from django.conf import settings
from django.db import models
from django.db.models import F, Q

from core import bounds


class OfferingAffinity(models.Model):
    """Item-to-item co-occurrence (SPEC §5 next best offerings): of the customers who hold
    ``offering``, ``customers_both`` also hold ``other``; ``share`` = customers_both / holders
    of ``offering``. "Hold" means ordered at least once. Rebuilt in bulk by
    ``workspace.services.offering_affinities_refresh`` (nightly)."""

    offering = models.ForeignKey(
        "offerings.Offering", on_delete=models.CASCADE, related_name="affinities"
    )
    other = models.ForeignKey(
        "offerings.Offering", on_delete=models.CASCADE, related_name="affinities_as_other"
    )
    customers_both = models.PositiveIntegerField()
    holders = models.PositiveIntegerField(help_text="Customers who hold the first offering.")
    share = models.FloatField()
    computed_at = models.DateTimeField()

    class Meta:
        ordering = ["offering", "-share"]
        constraints = [
            models.UniqueConstraint(fields=["offering", "other"], name="one_affinity_per_pair"),
            models.CheckConstraint(condition=~Q(offering=F("other")), name="affinity_not_self"),
            models.CheckConstraint(
                condition=Q(share__gte=0) & Q(share__lte=1), name="affinity_share_0_to_1"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.offering_id} → {self.other_id}: {self.share:.0%}"


class PortfolioEquity(models.Model):
    """A manager's customer equity (sum of predicted CLV) and customer count as it stood at the
    end of one day. Recorded nightly by ``workspace.services.portfolio_equity_record`` so the
    portfolio's trend chart reads one row a day, not every customer's daily snapshots."""

    manager = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="equity_days"
    )
    day = models.DateField()
    equity = models.DecimalField(max_digits=18, decimal_places=2)
    customers = models.PositiveIntegerField()
    recorded_at = models.DateTimeField()

    class Meta:
        ordering = ["manager", "day"]
        constraints = [
            models.UniqueConstraint(fields=["manager", "day"], name="one_equity_a_day"),
        ]
        verbose_name_plural = "portfolio equity"

    def __str__(self) -> str:
        return f"{self.manager_id} on {self.day}: {self.equity}"


class CustomerAgenda(models.Model):
    """What is next with a customer, stored so that a portfolio of any size sorts by it on an
    index: the earliest due action (an open next step, a due replenishment, an unanswered
    item; workspace.selectors.next_due) and a copy of the customer's owner, the index's
    first column. Written only by ``workspace.services.customer_agendas_refresh``, which the
    events of workspace/handlers.py run; the portfolio shows the live next due action."""

    customer = models.OneToOneField(
        "customers.Customer", on_delete=models.CASCADE, primary_key=True, related_name="agenda"
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    next_due_on = models.DateField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["owner", "next_due_on"])]

    def __str__(self) -> str:
        return f"{self.customer_id}: next due {self.next_due_on}"


class TodoKind(models.TextChoices):
    """The to-dos that come from one interaction (workspace.selectors.todo): its next step,
    or its want of an answer. One interaction can be both, so the kind is part of the key."""

    NEXT_STEP = "next_step", "Next step"
    UNANSWERED = "unanswered", "Unanswered"


class TodoStatus(models.TextChoices):
    OPEN = "open", "Open"
    DONE = "done", "Done"


class TodoState(models.Model):
    """What the managers did with one to-do of the list: done, snoozed until a day, handed to
    another manager. A to-do without a row is open, unsnoozed and its customer's manager's.
    Written only by the ``todo_*`` services; the to-do selector joins it in SQL."""

    interaction = models.ForeignKey(
        "interactions.Interaction", on_delete=models.CASCADE, related_name="todo_states"
    )
    kind = models.CharField(max_length=20, choices=TodoKind.choices)
    status = models.CharField(max_length=10, choices=TodoStatus.choices, default=TodoStatus.OPEN)
    snoozed_until = models.DateField(null=True, blank=True, validators=[bounds.validate_planned_on])
    # None: the customer's manager, whoever that is at the time (a reassigned customer takes
    # their unassigned to-dos along).
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="todos_assigned",
    )
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    changed_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["interaction", "kind"], name="one_todo_state"),
            models.CheckConstraint(
                condition=Q(kind__in=TodoKind.values), name="todo_state_kind_valid"
            ),
            models.CheckConstraint(
                condition=Q(status__in=TodoStatus.values), name="todo_state_status_valid"
            ),
        ]
        indexes = [
            # The to-dos handed to a manager (their list) and the done history.
            models.Index(fields=["assignee", "kind"], name="todo_state_assignee_idx"),
            models.Index(fields=["status", "-changed_at"], name="todo_state_done_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} of {self.interaction_id}: {self.status}"
