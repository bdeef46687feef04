"""The roles of SPEC §2 exist after migrating, with the permissions that define them."""

import pytest
from django.contrib.auth.models import Group

from accounts.roles import Role, role_of
from core.money import can_see_money

pytestmark = pytest.mark.django_db


def test_it_creates_the_three_role_groups_in_a_migration():
    # No fixture creates them here: they come from accounts.0001_roles.
    assert set(Group.objects.values_list("name", flat=True)) >= {r.value for r in Role}


def test_it_lets_managers_edit_customers_but_not_offerings():
    manager = Group.objects.get(name=Role.MANAGER.value)
    perms = {f"{p.content_type.app_label}.{p.codename}" for p in manager.permissions.all()}
    assert "customers.change_customer" in perms
    assert "customers.view_customer_money" in perms
    assert "offerings.change_offering" not in perms
    assert "offerings.add_offering" not in perms


def test_it_keeps_money_and_offering_edits_from_support_staff():
    support = Group.objects.get(name=Role.SUPPORT.value)
    perms = {f"{p.content_type.app_label}.{p.codename}" for p in support.permissions.all()}
    assert "interactions.add_interaction" in perms
    assert "customers.view_customer_money" not in perms
    assert "customers.change_customer" not in perms
    assert "offerings.change_offering" not in perms


def test_it_gives_admins_every_permission_of_the_project(ada):
    assert ada.has_perm("offerings.change_offering")
    assert ada.has_perm("customers.view_customer_money")
    assert ada.has_perm("auth.change_user")


def test_it_tells_each_users_role(ada, alice, charlie):
    assert (role_of(ada), role_of(alice), role_of(charlie)) == (
        Role.ADMIN,
        Role.MANAGER,
        Role.SUPPORT,
    )
    assert can_see_money(alice) and can_see_money(ada)
    assert not can_see_money(charlie)


def test_it_grants_every_permission_the_roles_list_and_none_is_misspelt():
    from django.contrib.auth.models import Permission

    from accounts.roles import ROLE_PERMISSIONS

    for role, dotted_names in ROLE_PERMISSIONS.items():
        granted = {
            f"{p.content_type.app_label}.{p.codename}"
            for p in Group.objects.get(name=role.value).permissions.select_related("content_type")
        }
        for dotted in dotted_names:
            app_label, codename = dotted.split(".")
            assert Permission.objects.filter(
                content_type__app_label=app_label, codename=codename
            ).exists(), f"{dotted} does not exist"
        assert granted == set(dotted_names)
