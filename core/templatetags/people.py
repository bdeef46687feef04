"""``{% load people %}{{ user|person }}``: a staff user by full name, the username as fallback
(core.people); empty for nobody, so ``{{ owner|person|default:"unassigned" }}`` reads well."""

from django import template

from core.people import person_name

register = template.Library()


@register.filter
def person(user) -> str:
    return person_name(user)
