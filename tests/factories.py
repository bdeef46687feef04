"""Factories for the test suite, in one place."""

from decimal import Decimal

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.utils import timezone

from customers.models import Customer
from interactions.choices import Channel, Direction, InteractionType
from interactions.models import Interaction
from offerings.models import Category, Component, Offering
from valuation.models import CustomerFigures
from workspace.models import CustomerAgenda

PASSWORD = "correct-horse-battery"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def role(self, create, role, **kwargs):
        if create and role:
            self.groups.add(Group.objects.get(name=role.value))
            self.is_staff = role.value == "Admin"
        if create:
            self.save()


class CustomerFiguresFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CustomerFigures

    owner = factory.SelfAttribute("customer.owner")  # the row copies its customer's owner


class CustomerFactory(factory.django.DjangoModelFactory):
    """A customer with their figures row, as the services create it (`figures__tier=...`)."""

    class Meta:
        model = Customer
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Customer {n}")
    email = factory.LazyAttribute(lambda c: f"{c.name.lower().replace(' ', '.')}@example.net")
    status = "active"
    figures = factory.RelatedFactory(CustomerFiguresFactory, factory_related_name="customer")

    @factory.post_generation
    def agenda(customer, create, extracted, **kwargs):
        # As customer_create's CUSTOMER_CREATED does (workspace/handlers.py): every customer
        # has an agenda, its stored next due action none yet.
        if create:
            CustomerAgenda.objects.get_or_create(
                customer=customer, defaults={"owner_id": customer.owner_id}
            )


class CategoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Category
        django_get_or_create = ("name",)

    name = "Coffee supply"


class OfferingFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Offering
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Offering {n}")
    category = factory.SubFactory(CategoryFactory)
    price = Decimal("24.00")

    @factory.post_generation
    def components(self, create, extracted, **kwargs):
        if create and not extracted:
            Component.objects.create(
                offering=self,
                name="Beans",
                kind="product",
                price=self.price,
                cost=Decimal("11.50"),
            )


class InteractionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Interaction

    customer = factory.SubFactory(CustomerFactory)
    channel = Channel.EMAIL
    direction = Direction.INBOUND
    type = InteractionType.INQUIRY
    subject = "A question"
    occurred_at = factory.LazyFunction(timezone.now)

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        # Stored due times as interaction_log writes them (interactions.due_times).
        from interactions.due_times import due_times_set

        item = model_class(*args, **kwargs)
        due_times_set([item])
        item.save()
        return item
