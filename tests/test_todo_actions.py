"""To-dos you can work (issue 19): a manager marks a to-do done, snoozes it until a day or
hands it to another manager; the list applies that in SQL, in a fixed number of queries."""

from datetime import timedelta

import pytest
from django.contrib.messages import get_messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone

from accounts.roles import Role
from workspace import services
from workspace.models import TodoState, TodoStatus
from workspace.selectors.todo import manager_todo, todos_done

from .factories import CustomerFactory, OfferingFactory, UserFactory
from .valuation.history import log_contact
from .workspace_helpers import portfolio_of

pytestmark = pytest.mark.django_db


def follow_up(customer, *, due_in_days: int = 0, subject="Call"):
    """An inbound call with a next step due in `due_in_days` (negative: overdue), that waits
    for no answer (a to-do of one kind only)."""
    return log_contact(
        customer,
        days_ago=3,
        requires_response=False,
        next_step=f"{subject} to follow up",
        next_step_due=timezone.localdate() + timedelta(days=due_in_days),
    )


def next_step_ids(manager, **kwargs) -> list[int]:
    return [i.pk for i in manager_todo(manager=manager, **kwargs).next_steps]


def post(client, name, interaction, **data):
    return client.post(reverse(f"workspace:{name}", args=[interaction.pk]), data)


def said(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


@pytest.fixture
def alices_item(alice):
    return follow_up(CustomerFactory(owner=alice, name="Anna Keller"), due_in_days=-2)


def test_done_takes_the_todo_off_the_list_and_into_the_done_history(
    client, alice, charlie, alices_item
):
    # Given alice's overdue follow-up is on her list
    client.force_login(alice)
    assert b"Call to follow up" in client.get(reverse("workspace:todo")).content

    # When she marks it done
    response = post(client, "todo-done", alices_item, kind="next_step")

    # Then she is back on the list, told so, and the follow-up is gone from it
    assert response.status_code == 302 and response["Location"] == reverse("workspace:todo")
    assert said(response) == ["Done: Call to follow up (Anna Keller)."]
    page = client.get(reverse("workspace:todo"))
    assert page.context["todo"].next_steps == []
    assert b"No next steps due." in page.content

    # And the done filter shows it with who did it and when
    done = client.get(reverse("workspace:todo"), {"show": "done"})
    [state] = done.context["done"]
    assert (state.interaction, state.changed_by, state.status) == (alices_item, alice, "done")
    assert b"done by Alice" in done.content

    # And so does the customer's page, to support staff too (who cannot reopen it)
    detail = reverse("customers:detail", args=[alices_item.customer_id])
    assert b"Done to-dos" in client.get(detail).content
    client.force_login(charlie)
    seen = client.get(detail).content
    assert b"done by Alice" in seen and b"Reopen" not in seen
    client.force_login(alice)

    # When she reopens it, it is back
    post(client, "todo-reopen", alices_item, kind="next_step", back="done")
    assert next_step_ids(alice) == [alices_item.pk]


def test_snooze_hides_the_todo_until_the_day_then_it_returns(client, alice, alices_item):
    today = timezone.localdate()
    until = today + timedelta(days=3)
    client.force_login(alice)

    # When alice snoozes her overdue follow-up for three days
    response = post(client, "todo-snooze", alices_item, kind="next_step", until=until.isoformat())

    # Then it is hidden today and the day before, and back (still overdue, first) on the day
    assert said(response) == [f"Snoozed until {until}: Call to follow up (Anna Keller)."]
    assert client.get(reverse("workspace:todo")).context["todo"].next_steps == []
    assert next_step_ids(alice, today=until - timedelta(days=1)) == []
    later = follow_up(alices_item.customer, due_in_days=4, subject="Later")
    assert next_step_ids(alice, today=until) == [alices_item.pk, later.pk]


@pytest.mark.parametrize(
    ("until", "message"),
    [
        ("today", "until: Snooze until a day after today."),
        ("yesterday", "until: Snooze until a day after today."),
        ("9999-12-31", "until: Must not be more than 10 years ahead"),
        ("2024-02-30", "until: enter a date (YYYY-MM-DD)."),
        ("soon", "until: enter a date (YYYY-MM-DD)."),
        ("", "until: choose the day to snooze until."),
    ],
)
def test_a_bad_snooze_day_is_refused_with_a_message_naming_it(
    client, alice, alices_item, until, message
):
    days = {"today": 0, "yesterday": -1}
    if until in days:
        until = (timezone.localdate() + timedelta(days=days[until])).isoformat()
    client.force_login(alice)

    response = post(client, "todo-snooze", alices_item, kind="next_step", until=until)

    assert response.status_code == 302
    [error] = said(response)
    assert error.startswith(message)
    assert not TodoState.objects.exists()
    assert next_step_ids(alice) == [alices_item.pk]


def test_reassign_moves_the_todo_to_the_other_managers_list(client, alice, bob, alices_item):
    # Given bob has a follow-up of his own, due later than alice's
    bobs_own = follow_up(CustomerFactory(owner=bob), due_in_days=1)
    client.force_login(alice)

    # When alice hands hers to bob, picking him by his full name in the select
    page = client.get(reverse("workspace:todo"))
    assert b'<option value="%d">Bob</option>' % bob.pk in page.content
    response = post(client, "todo-reassign", alices_item, kind="next_step", to=bob.pk)

    # Then it leaves her list and shows on his, overdue first, marked as alice's customer's
    assert said(response) == ["Handed to Bob: Call to follow up (Anna Keller)."]
    assert next_step_ids(alice) == []
    assert next_step_ids(bob) == [alices_item.pk, bobs_own.pk]
    client.force_login(bob)
    bobs_page = client.get(reverse("workspace:todo"))
    assert b"from Alice" in bobs_page.content
    # (her customer's name without a link: his would be a page he may not open)
    assert reverse("customers:detail", args=[alices_item.customer_id]).encode() not in (
        bobs_page.content
    )

    # And bob may work it: done, it leaves his list and shows in his and alice's history
    post(client, "todo-done", alices_item, kind="next_step")
    assert next_step_ids(bob) == [bobs_own.pk]
    assert [s.interaction for s in todos_done(manager=alice)] == [alices_item]
    assert [s.changed_by for s in todos_done(manager=bob)] == [bob]


def test_handing_a_todo_back_to_the_customers_manager_makes_it_theirs_again(alice, bob, ada):
    item = follow_up(CustomerFactory(owner=alice))
    services.todo_reassign(interaction=item, kind="next_step", by=alice, to=bob)
    assert next_step_ids(alice) == []

    # When an admin hands it back to alice, the customer's manager
    state = services.todo_reassign(interaction=item, kind="next_step", by=ada, to=alice)

    # Then it has no assignee of its own: it follows the customer's manager
    assert state.assignee is None and state.changed_by == ada
    assert (next_step_ids(alice), next_step_ids(bob)) == ([item.pk], [])


def test_an_unanswered_item_is_worked_apart_from_the_next_step_of_the_same_interaction(
    client, alice
):
    # Given an inquiry that waits for an answer and carries a next step
    item = log_contact(
        CustomerFactory(owner=alice),
        days_ago=1,
        requires_response=True,
        next_step="Call back",
        next_step_due=timezone.localdate(),
    )
    client.force_login(alice)

    # When alice marks the unanswered to-do done
    post(client, "todo-done", item, kind="unanswered")

    # Then only that to-do leaves the list
    todo = manager_todo(manager=alice)
    assert (todo.unanswered, [i.pk for i in todo.next_steps]) == ([], [item.pk])


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"kind": "next_step", "to": "999999"}, "to: choose one of the managers listed."),
        ({"kind": "next_step", "to": "abc"}, "to: choose one of the managers listed."),
        ({"kind": "next_step"}, "to: choose who takes the to-do."),
        ({"kind": "bogus", "to": "bob"}, "kind: choose next step or unanswered."),
        ({"kind": "unanswered", "to": "bob"}, "kind: This interaction does not wait for"),
        ({"kind": "next_step", "to": "charlie"}, "to: choose one of the managers listed."),
    ],
)
def test_a_bad_reassignment_is_refused_with_a_message_naming_the_field(
    client, alice, bob, charlie, alices_item, data, message
):
    users = {"bob": bob.pk, "charlie": charlie.pk}
    data = {k: users.get(v, v) for k, v in data.items()}
    client.force_login(alice)

    response = post(client, "todo-reassign", alices_item, **data)

    assert response.status_code == 302
    [error] = said(response)
    assert error.startswith(message)
    assert next_step_ids(alice) == [alices_item.pk] and next_step_ids(bob) == []


def test_the_services_refuse_support_staff_other_portfolios_and_non_managers(
    alice, bob, charlie, ada, alices_item
):
    for user in (bob, charlie):
        with pytest.raises(PermissionDenied):
            services.todo_done(interaction=alices_item, kind="next_step", by=user)
    assert not TodoState.objects.exists()  # the refused first change left no row
    with pytest.raises(ValidationError) as error:
        services.todo_reassign(interaction=alices_item, kind="next_step", by=alice, to=charlie)
    assert "to" in error.value.message_dict
    retired = UserFactory(username="retired", role=Role.MANAGER, is_active=False)
    with pytest.raises(ValidationError):
        services.todo_reassign(interaction=alices_item, kind="next_step", by=alice, to=retired)
    # An admin acts on anyone's to-dos and may be handed one
    services.todo_reassign(interaction=alices_item, kind="next_step", by=ada, to=ada)
    assert next_step_ids(ada) == [alices_item.pk]
    services.todo_done(interaction=alices_item, kind="next_step", by=ada)
    assert TodoState.objects.get().status == TodoStatus.DONE


@pytest.mark.parametrize("name", ["todo-done", "todo-snooze", "todo-reassign", "todo-reopen"])
def test_support_gets_403_and_another_manager_404_on_every_action(
    client, bob, charlie, alices_item, name
):
    until = (timezone.localdate() + timedelta(days=2)).isoformat()
    data = {"kind": "next_step", "until": until, "to": bob.pk}
    client.force_login(charlie)
    assert post(client, name, alices_item, **data).status_code == 403
    client.force_login(bob)
    assert post(client, name, alices_item, **data).status_code == 404
    assert not TodoState.objects.exists()


def test_the_at_risk_card_says_so_in_one_line_when_nobody_is_at_risk(client, alice):
    client.force_login(alice)
    content = client.get(reverse("workspace:todo")).content.decode()
    at_risk = content[content.index('id="at-risk"') : content.index('id="next-steps"')]
    assert "No customers at risk." in at_risk
    assert "<ul" not in at_risk


@pytest.mark.parametrize("size", [3, 30])
def test_the_list_with_worked_todos_renders_in_a_fixed_number_of_queries(
    client, alice, bob, size, django_assert_num_queries
):
    # Given portfolios of 3 or 30 customers of which a third is done, a third snoozed and a
    # third handed to alice from bob's
    portfolio_of(alice, size, offering=OfferingFactory(name="Beans", replenish_every_days=30))
    portfolio_of(bob, size)
    mine = [i for i in manager_todo(manager=alice).next_steps]
    his = manager_todo(manager=bob).next_steps
    until = timezone.localdate() + timedelta(days=5)
    for n, item in enumerate(mine):
        if n % 3 == 0:
            services.todo_done(interaction=item, kind="next_step", by=alice)
        elif n % 3 == 1:
            services.todo_snooze(interaction=item, kind="next_step", by=alice, until=until)
    for item in his[: size // 3]:
        services.todo_reassign(interaction=item, kind="next_step", by=bob, to=alice)
    client.force_login(alice)
    client.get(reverse("workspace:todo"))

    # When alice opens her list: the same queries as the plain list, whatever its size
    with django_assert_num_queries(14):  # as tests/test_workspace_todo.py counts them
        response = client.get(reverse("workspace:todo"))

    # Then it holds her untouched third and bob's handed third, with actions on each item
    kept = {i.pk for n, i in enumerate(mine) if n % 3 == 2}
    handed = {i.pk for i in his[: size // 3]}
    shown = [i.pk for i in response.context["todo"].next_steps]
    assert set(shown) == kept | handed and len(shown) == len(kept) + len(handed)
    assert response.content.count(b'name="until"') == len(shown) + size  # + the unanswered


def test_a_done_todo_no_longer_counts_as_the_customers_next_due_action(client, alice):
    # Given a customer whose only due action is an overdue follow-up
    item = follow_up(CustomerFactory(owner=alice, name="Anna"), due_in_days=-5)
    services.customer_agendas_refresh(customer_ids=[item.customer_id])  # as its recompute
    client.force_login(alice)

    def next_due():
        page = client.get(reverse("customers:portfolio"), {"sort": "next_due"}).context["page"]
        [row] = page
        return row.next_due, row.next_due_on

    overdue = timezone.localdate() - timedelta(days=5)
    assert next_due() == (overdue, overdue)

    # When it is marked done, the live and the stored next due action have none; reopened,
    # it is back
    services.todo_done(interaction=item, kind="next_step", by=alice)
    assert next_due() == (None, None)
    services.todo_reopen(interaction=item, kind="next_step", by=alice)
    assert next_due() == (overdue, overdue)
