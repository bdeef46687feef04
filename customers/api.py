"""Customers API (SPEC §10): thin views over the selectors and services."""

import django_filters
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.http import HttpResponsePermanentRedirect
from django.shortcuts import get_object_or_404
from django.urls import reverse
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers, status
from rest_framework.exceptions import APIException, PermissionDenied
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response

from accounts.roles import Role, role_of
from core.api import ConfigDetailApi, ConfigListApi
from core.errors import error_paths
from core.filters import StrictBooleanFilter, StrictFilterSet
from core.money import can_see_money, money_visible_to
from core.serializers import BatchEnvelopeSerializer, OutputModelSerializer

from . import facts as customer_facts
from . import selectors, services
from .models import Customer, CustomerFact, CustomerMerge, FactKey, NeedStatus, email_normalise


class CustomerOutputSerializer(OutputModelSerializer):
    """A customer's profile. Money is left out for support staff (SPEC §2). The API serves it
    with the customer's figures (valuation.api, which extends these views)."""

    owner = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    other_emails = serializers.SlugRelatedField(
        slug_field="address",
        many=True,
        read_only=True,
        help_text="Other addresses the customer writes from (normalised); `email` is the main one.",
    )

    class Meta:
        model = Customer
        fields = [
            "id",
            *services.EDITABLE_FIELDS,
            "owner",
            "other_emails",
            "needs_triage",
        ]
        read_only_fields = fields


EXTERNAL_REF_ADMINS_ONLY = "External references are set by admins and imports."
NO_SUCH_CUSTOMER = "No such customer."


class CustomerInputSerializer(serializers.ModelSerializer):
    """The profile rules are the service's (customers.services). Two inputs name other
    records and are checked so that nothing is learned about portfolios the caller cannot
    see: `referred_by` is an id looked up among the caller's visible customers by the view,
    and only admins (who see everyone) set `external_ref`, unique across all portfolios
    (context `external_ref_settable`)."""

    external_ref = serializers.CharField(
        max_length=100, required=False, allow_null=True, allow_blank=True
    )
    referred_by = serializers.IntegerField(required=False, allow_null=True)
    other_emails = serializers.ListField(
        child=serializers.EmailField(max_length=254),
        required=False,
        max_length=services.OTHER_EMAILS_MAX,
        help_text="The customer's other addresses, all of them (the list replaces the one "
        "held): stored lower-case, each once, the main `email` left out. Support staff may "
        "add addresses this way (and change nothing else); removing one is for those who edit "
        "the customer.",
    )

    class Meta:
        model = Customer
        fields = [*services.EDITABLE_FIELDS, "owner", "other_emails"]

    def validate_external_ref(self, value):
        value = value or None
        unchanged = value == (self.instance.external_ref if self.instance else None)
        if not unchanged and not self.context.get("external_ref_settable"):
            raise serializers.ValidationError(EXTERNAL_REF_ADMINS_ONLY)
        return value


def _customer_input(request, customer=None, **kwargs) -> dict:
    """The validated profile input, with `referred_by` resolved among visible customers."""
    serializer = CustomerInputSerializer(
        customer,
        data=request.data,
        context={"external_ref_settable": role_of(request.user) == Role.ADMIN},
        **kwargs,
    )
    serializer.is_valid(raise_exception=True)
    data = dict(serializer.validated_data)
    if data.get("referred_by") is not None:
        data["referred_by"] = (
            selectors.customers_visible_to(request.user).filter(pk=data["referred_by"]).first()
        )
        if data["referred_by"] is None:
            raise serializers.ValidationError({"referred_by": NO_SUCH_CUSTOMER})
    return data


class CustomerFilter(StrictFilterSet):
    search = django_filters.CharFilter(method="filter_search")
    owner = django_filters.ModelChoiceFilter(
        field_name="owner", to_field_name="username", queryset=get_user_model().objects.all()
    )
    needs_triage = StrictBooleanFilter(
        help_text="Created from a message or a web form by an unknown sender, not checked yet."
    )

    class Meta:
        model = Customer
        fields = ["owner", "status", "kind", "needs_triage"]

    def filter_search(self, queryset, name, value):
        return selectors.customer_search(customers=queryset, query=value)


class CustomerOutputApi(GenericAPIView):
    """Answers with `serializer_class`; an app above that extends the output (valuation.api)
    sets it and selects what it reads in `output_queryset`."""

    serializer_class = CustomerOutputSerializer

    def output_queryset(self, queryset):
        return queryset

    def output(self, instance, **kwargs):
        serializer = self.get_serializer_class()
        return serializer(instance, context={"request": self.request}, **kwargs).data


class LookalikeSerializer(serializers.Serializer):
    """A customer that a profile being entered looks like (selectors.customer_lookalikes)."""

    id = serializers.IntegerField()
    name = serializers.CharField()
    owner = serializers.CharField(
        allow_blank=True, help_text="Whose portfolio it is in, by name (empty: nobody's)."
    )
    score = serializers.FloatField(help_text="0 to 1: how sure the match is.")
    reasons = serializers.ListField(child=serializers.CharField())
    visible = serializers.BooleanField(help_text="Whether you may open it.")


class CustomerCreatedSerializer(CustomerOutputSerializer):
    possible_duplicates = LookalikeSerializer(
        many=True,
        read_only=True,
        help_text="Customers of any portfolio this one looks like (same e-mail or phone after "
        "normalising, a similar name): created all the same; merge if it is the same one.",
    )

    class Meta(CustomerOutputSerializer.Meta):
        fields = [*CustomerOutputSerializer.Meta.fields, "possible_duplicates"]
        read_only_fields = fields


class LookalikeQuerySerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    email = serializers.CharField(max_length=254, required=False, allow_blank=True, default="")
    phone = serializers.CharField(max_length=40, required=False, allow_blank=True, default="")


def _lookalikes_of(user, data: dict, *, exclude_id: int | None = None) -> list[dict]:
    return selectors.customer_lookalikes(
        viewer=user,
        name=data.get("name") or "",
        email=data.get("email") or "",
        phone=data.get("phone") or "",
        other_emails=data.get("other_emails") or (),
        exclude_id=exclude_id,
    )


def _creators_only(user) -> None:
    if role_of(user) not in (Role.ADMIN, Role.MANAGER):
        raise PermissionDenied("Only admins and customer managers create customers.")


class CustomerLookalikesApi(GenericAPIView):
    """Before creating a customer: who among all customers this profile looks like."""

    serializer_class = LookalikeSerializer
    pagination_class = None  # at most five, best first
    queryset = Customer.objects.none()  # for the schema: the answer is a list of customers

    @extend_schema(
        operation_id="customers_lookalikes",
        parameters=[LookalikeQuerySerializer],
        responses=LookalikeSerializer(many=True),
    )
    def get(self, request):
        _creators_only(request.user)
        query = LookalikeQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        return Response(
            LookalikeSerializer(_lookalikes_of(request.user, query.validated_data), many=True).data
        )


class CustomerListApi(CustomerOutputApi):
    filterset_class = CustomerFilter

    def get_queryset(self):
        customers = (
            selectors.customers_visible_to(self.request.user)
            .prefetch_related("other_emails")
            .order_by("name", "id")
        )
        return self.output_queryset(customers)

    @extend_schema(operation_id="customers_list", responses=CustomerOutputSerializer(many=True))
    def get(self, request):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(self.output(page, many=True))

    @extend_schema(request=CustomerInputSerializer, responses={201: CustomerCreatedSerializer})
    @transaction.atomic  # the write and its reply commit together: no 5xx after a commit
    def post(self, request):
        _creators_only(request.user)
        role = role_of(request.user)
        data = _customer_input(request)
        if role == Role.MANAGER:
            # A manager's new customers join their own portfolio; assigning is an admin's job.
            if data.get("owner") not in (None, request.user):
                raise PermissionDenied("Customer managers cannot assign customers to others.")
            data["owner"] = request.user
        # Looked up before the write, so that the new customer is not its own lookalike.
        lookalikes = _lookalikes_of(request.user, data)
        customer = services.customer_create(**data)
        reply = self.output(customer)
        reply["possible_duplicates"] = LookalikeSerializer(lookalikes, many=True).data
        return Response(reply, status=status.HTTP_201_CREATED)


def merged_redirect(request, name: str, survivor_id: int) -> HttpResponsePermanentRedirect:
    location = reverse(name, kwargs={"pk": survivor_id})
    if request.META.get("QUERY_STRING"):
        location = f"{location}?{request.META['QUERY_STRING']}"
    return HttpResponsePermanentRedirect(location)


ADD_ADDRESSES_ONLY = (
    "Support staff may add addresses (other_emails) and change nothing else; removing one is "
    "for those who edit the customer."
)


class CustomerDetailApi(CustomerOutputApi):
    def get_queryset(self):
        return self.output_queryset(
            selectors.customers_visible_to(self.request.user).prefetch_related("other_emails")
        )

    def get(self, request, pk: int):
        customer = self.get_queryset().filter(pk=pk).first()
        if customer is None:
            survivor = selectors.customer_survivor_visible_to(request.user, pk)
            if survivor is not None:
                # Merged into another: moved for good (the old id is never reused), 301.
                return merged_redirect(request, "api-customer", survivor)
            customer = get_object_or_404(self.get_queryset(), pk=pk)  # the usual 404
        return Response(self.output(customer))

    @extend_schema(request=CustomerInputSerializer, responses={200: CustomerOutputSerializer})
    @transaction.atomic  # the write and its reply commit together: no 5xx after a commit
    def patch(self, request, pk: int):
        customer = get_object_or_404(self.get_queryset(), pk=pk)
        editor = selectors.customers_editable_by(request.user).filter(pk=pk).exists()
        if not editor:
            # Support staff record an address a customer wrote from (SPEC §2: they answer the
            # mail); nothing else of the profile.
            adds_only = (
                isinstance(request.data, dict)
                and set(request.data) == {"other_emails"}
                and selectors.customers_addresses_addable_by(request.user).filter(pk=pk).exists()
            )
            if not adds_only:
                raise PermissionDenied("You may not edit this customer.")
        data = _customer_input(request, customer, partial=True)
        if "owner" in data and role_of(request.user) != Role.ADMIN:
            raise PermissionDenied("Only admins reassign customers.")
        other_emails = data.pop("other_emails", None)
        if not editor and other_emails is not None:
            kept = {email_normalise(address) for address in other_emails}
            if {e.address for e in customer.other_emails.all()} - kept:
                raise PermissionDenied(ADD_ADDRESSES_ONLY)
        services.customer_update(customer=customer, data=data, other_emails=other_emails)
        # Read back: the addresses changed under the prefetched ones.
        return Response(self.output(self.get_queryset().get(pk=pk)))


class FactOutputSerializer(OutputModelSerializer):
    key = serializers.SlugRelatedField(slug_field="key", read_only=True)
    label = serializers.CharField(source="key.label", read_only=True)
    taught_at = serializers.DateTimeField(source="recorded_at", read_only=True)
    recorded_by = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )
    supersedes = serializers.SerializerMethodField()

    class Meta:
        model = CustomerFact
        fields = [
            "key",
            "label",
            "value",
            "need_status",
            "taught_at",
            "source_interaction",
            "recorded_by",
            "source",
            "supersedes",
        ]
        read_only_fields = fields

    def get_supersedes(self, fact) -> str | None:
        """The value this one replaced; never an earlier money value (core.money) to a user
        who may not see money."""
        request = self.context.get("request")
        if fact.key.money and not money_visible_to(getattr(request, "user", None)):
            return None
        return fact.supersedes.value if fact.supersedes_id else None


class FactInputSerializer(serializers.Serializer):
    key = serializers.SlugRelatedField(
        slug_field="key", queryset=FactKey.objects.filter(active=True)
    )
    value = serializers.CharField(max_length=500)
    need_status = serializers.ChoiceField(
        choices=NeedStatus.choices, required=False, allow_blank=True, default=""
    )


class CustomerFactsApi(GenericAPIView):
    """What the customer taught us: current facts (GET); record a fact (POST)."""

    serializer_class = FactOutputSerializer
    queryset = CustomerFact.objects.none()  # for the schema; methods scope by customer

    @extend_schema(operation_id="customers_facts_list", responses=FactOutputSerializer(many=True))
    def get(self, request, pk: int):
        customer = get_object_or_404(selectors.customers_visible_to(request.user), pk=pk)
        facts = customer_facts.customer_current_facts(
            customer_id=customer.pk, money=can_see_money(request.user)
        )
        page = self.paginate_queryset(facts)
        return self.get_paginated_response(
            FactOutputSerializer(page, many=True, context={"request": request}).data
        )

    @extend_schema(request=FactInputSerializer, responses={201: FactOutputSerializer})
    @transaction.atomic  # the write and its reply commit together: no 5xx after a commit
    def post(self, request, pk: int):
        customer = get_object_or_404(selectors.customers_visible_to(request.user), pk=pk)
        if not request.user.has_perm("customers.add_customerfact"):
            raise PermissionDenied("You may not record facts.")
        serializer = FactInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        fact = customer_facts.customer_fact_record(
            customer=customer, recorded_by=request.user, **serializer.validated_data
        )
        return Response(
            FactOutputSerializer(fact, context={"request": request}).data,
            status=status.HTTP_201_CREATED,
        )


# --- Portfolio (re)assignment (admins) -------------------------------------------------------

REASSIGN_MAX = 1000


class ReassignInputSerializer(serializers.Serializer):
    customers = serializers.ListField(
        child=serializers.IntegerField(min_value=1),
        allow_empty=False,
        max_length=REASSIGN_MAX,
        help_text=f"Ids of the customers to hand over (at most {REASSIGN_MAX}).",
    )
    owner = serializers.PrimaryKeyRelatedField(
        queryset=get_user_model().objects.all(),
        allow_null=True,
        help_text="The customer manager who takes them (null: unassigned).",
    )


class ReassignOutputSerializer(serializers.Serializer):
    moved = serializers.ListField(
        child=serializers.IntegerField(), help_text="The customers that changed hands."
    )
    owner = serializers.CharField(allow_null=True, help_text="The new owner's username.")


class CustomersReassignApi(GenericAPIView):
    """Hand customers to another owner at once (admins). The copies of the owner (the
    figures row, the agenda) follow in the same transaction; one customer can also be handed
    over with `PATCH /api/customers/{id}/` and `owner`."""

    serializer_class = ReassignOutputSerializer
    queryset = Customer.objects.none()  # for the schema; the service looks the customers up

    @extend_schema(
        operation_id="customers_reassign",
        request=ReassignInputSerializer,
        responses={200: ReassignOutputSerializer},
    )
    @transaction.atomic  # the write and its reply commit together: no 5xx after a commit
    def post(self, request):
        if role_of(request.user) != Role.ADMIN:
            raise PermissionDenied("Only admins reassign customers.")
        serializer = ReassignInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        owner = serializer.validated_data["owner"]
        moved = services.customers_reassign(
            customer_ids=serializer.validated_data["customers"], owner=owner
        )
        return Response({"moved": moved, "owner": owner.username if owner else None})


# --- The fact vocabulary (everyone signed in reads, admins write) ----------------------------


class FactKeyOutputSerializer(OutputModelSerializer):
    category = serializers.SlugRelatedField(slug_field="name", read_only=True, allow_null=True)
    choices = serializers.ListField(child=serializers.CharField(), read_only=True)

    class Meta:
        model = FactKey
        fields = ["id", *customer_facts.FACT_KEY_FIELDS]
        read_only_fields = fields


class FactKeyInputSerializer(serializers.ModelSerializer):
    """The rules between fields (a choice lists its values, a category only on a need, what
    recorded facts rely on stays) are the model's and the service's (customers.facts)."""

    category = serializers.SlugRelatedField(
        slug_field="name",
        # The catalog sits above customers: its categories through the string relation.
        queryset=FactKey._meta.get_field("category").related_model._default_manager.all(),
        required=False,
        allow_null=True,
        help_text="For needs: the name of the offering category that serves it.",
    )
    choices = serializers.ListField(
        child=serializers.CharField(max_length=200),
        required=False,
        max_length=100,
        help_text="Allowed values of a choice.",
    )

    class Meta:
        model = FactKey
        fields = list(customer_facts.FACT_KEY_FIELDS)


class FactKeyFilter(StrictFilterSet):
    active = StrictBooleanFilter()

    class Meta:
        model = FactKey
        fields = ["active", "kind"]


@extend_schema_view(
    get=extend_schema(operation_id="fact_keys_list", responses=FactKeyOutputSerializer(many=True)),
    post=extend_schema(request=FactKeyInputSerializer, responses={201: FactKeyOutputSerializer}),
)
class FactKeyListApi(ConfigListApi):
    """What customers can teach us. Deactivate a key with `PATCH {"active": false}`: it is no
    longer asked for, and its recorded facts stay."""

    output_serializer = FactKeyOutputSerializer
    input_serializer = FactKeyInputSerializer
    write_permission = "customers.add_factkey"
    filterset_class = FactKeyFilter
    queryset = FactKey.objects.select_related("category").order_by("-value_weight", "label", "id")

    def create(self, data):
        return customer_facts.fact_key_create(**data)


@extend_schema_view(
    patch=extend_schema(request=FactKeyInputSerializer, responses=FactKeyOutputSerializer),
)
class FactKeyDetailApi(ConfigDetailApi):
    output_serializer = FactKeyOutputSerializer
    input_serializer = FactKeyInputSerializer
    write_permission = "customers.change_factkey"
    queryset = FactKey.objects.select_related("category")

    def update(self, instance, data):
        return customer_facts.fact_key_update(fact_key=instance, data=data)


# --- Batches -----------------------------------------------------------------------------


class CustomerBatchItemSerializer(CustomerInputSerializer):
    """One customer, by its `external_ref`: the fields of POST /api/customers/ (create) or
    PATCH /api/customers/<id>/ (update, only the fields given). References are ids, looked up
    for the whole batch at once."""

    external_ref = serializers.CharField(max_length=100)
    owner = serializers.IntegerField(required=False, allow_null=True)

    def validate_external_ref(self, value):
        return value  # who may use which reference is the service's (customers_batch_upsert)


class CustomerBatchInputSerializer(serializers.Serializer):
    items = serializers.ListField(
        child=CustomerBatchItemSerializer(),
        allow_empty=False,
        max_length=services.BATCH_MAX_ITEMS,
    )
    atomic = serializers.BooleanField(
        required=False,
        default=False,
        help_text="All or nothing: one refused item and nothing is written (answered 422).",
    )


class CustomerBatchResultSerializer(serializers.Serializer):
    id = serializers.IntegerField(
        allow_null=True, help_text="The customer; null when the item was not committed."
    )
    created = serializers.BooleanField(
        required=False, help_text="True: created; absent: an existing customer updated."
    )
    errors = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        required=False,
        help_text="Why the item was refused, by field name.",
    )


class CustomerBatchOutputSerializer(serializers.Serializer):
    results = CustomerBatchResultSerializer(many=True, help_text="One per item, in input order.")


class CustomerBatchApi(GenericAPIView):
    serializer_class = CustomerBatchOutputSerializer

    @extend_schema(
        operation_id="customers_batch",
        request=CustomerBatchInputSerializer,
        responses={200: CustomerBatchOutputSerializer, 422: CustomerBatchOutputSerializer},
    )
    @transaction.atomic  # the writes and their reply commit together
    def post(self, request):
        """Create or update up to 1,000 customers by `external_ref`; one result per item.

        Admins create unknown references and update any customer; customer managers update
        the customers of their portfolio they name by reference (a reference they cannot
        edit, elsewhere or nowhere, is refused alike) and never reassign; support staff
        neither. Valid items are committed and refused ones are not (200); with `atomic`
        one refused item commits nothing (422).
        """
        role = role_of(request.user)
        if role not in (Role.ADMIN, Role.MANAGER):
            raise PermissionDenied("Only admins and customer managers write customers.")
        envelope = BatchEnvelopeSerializer(data=request.data, max_items=services.BATCH_MAX_ITEMS)
        envelope.is_valid(raise_exception=True)
        items: list[dict] = []
        for item in envelope.validated_data["items"]:
            serializer = CustomerBatchItemSerializer(data=item, partial=True)
            if "external_ref" not in item:
                items.append({"errors": {"external_ref": ["This field is required."]}})
            elif serializer.is_valid():
                items.append(dict(serializer.validated_data))
            else:
                items.append({"errors": error_paths(serializer.errors)})
        atomic = envelope.validated_data["atomic"]
        try:
            results = services.customers_batch_upsert(
                items=items,
                editable=selectors.customers_editable_by(request.user),
                visible=selectors.customers_visible_to(request.user),
                may_create=role == Role.ADMIN,
                may_set_owner=role == Role.ADMIN,
                owner=request.user if role == Role.MANAGER else None,
                atomic=atomic,
            )
        except IntegrityError:
            # A concurrent request created the same reference first.
            raise Conflict(
                "A concurrent request wrote the same external reference; send the batch again."
            ) from None
        answer = []
        for result in results:
            if result.errors:
                answer.append({"id": None, "errors": result.errors})
            elif result.created:
                answer.append({"id": result.id, "created": True})
            else:
                answer.append({"id": result.id})
        refused = atomic and any(result.errors for result in results)
        return Response(
            {"results": answer},
            status=status.HTTP_422_UNPROCESSABLE_ENTITY if refused else status.HTTP_200_OK,
        )


class Conflict(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"


# --- Merging a duplicate (customers.services.customer_merge) ---------------------------------

MERGE_NOT_ALLOWED = "Only admins and the customers' manager merge customers."


class MergeInputSerializer(serializers.Serializer):
    duplicate = serializers.IntegerField(
        min_value=1, help_text="The customer merged into this one (it goes; its id redirects)."
    )
    facts = serializers.DictField(
        child=serializers.ChoiceField(choices=services.MERGE_FACT_CHOICES),
        required=False,
        help_text="Fact key -> survivor | duplicate: whose current value stays current where "
        "both know the key differently (default: the more recent).",
    )


class MergePreviewQuerySerializer(serializers.Serializer):
    duplicate = serializers.IntegerField(min_value=1, help_text="The customer to merge in.")


class _MergeMoveSerializer(serializers.Serializer):
    table = serializers.CharField(help_text="app_label.Model.field pointing at the customer.")
    what = serializers.CharField()
    rows = serializers.IntegerField(help_text="The duplicate's rows in it.")


class _MergeConflictSerializer(serializers.Serializer):
    field = serializers.CharField()
    kept = serializers.CharField(help_text="The survivor's value, kept.")
    other = serializers.CharField(help_text="The duplicate's, kept in the merge record.")


class _MergeFactConflictSerializer(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()
    money = serializers.BooleanField()
    survivor = serializers.CharField(allow_null=True)
    duplicate = serializers.CharField(allow_null=True)
    current = serializers.ChoiceField(
        choices=services.MERGE_FACT_CHOICES, help_text="Whose stays current by default."
    )


class MergePreviewSerializer(serializers.Serializer):
    survivor = serializers.IntegerField()
    duplicate = serializers.IntegerField()
    moves = _MergeMoveSerializer(many=True)
    rows = serializers.IntegerField(help_text="The duplicate's rows that move, in all.")
    conflicts = _MergeConflictSerializer(many=True)
    facts = _MergeFactConflictSerializer(many=True)
    across_portfolios = serializers.BooleanField()


class MergeOutputSerializer(serializers.Serializer):
    survivor = serializers.IntegerField(source="survivor_id")
    duplicate = serializers.IntegerField(source="duplicate_id")
    duplicate_name = serializers.CharField()
    merged_by = serializers.CharField(
        source="merged_by.username", read_only=True, allow_null=True, default=None
    )
    merged_at = serializers.DateTimeField()
    moved = serializers.DictField(
        child=serializers.DictField(), help_text="By table: rows moved, merged or dropped (why)."
    )
    conflicts = _MergeConflictSerializer(many=True)


def merge_facts_shown(facts: list[dict], *, user) -> list[dict]:
    """The conflicting facts, money values left out for whoever may not see money."""
    if money_visible_to(user):
        return facts
    return [
        {**fact, "survivor": None, "duplicate": None} if fact["money"] else fact for fact in facts
    ]


def merge_survivor_get(request, pk: int) -> Customer:
    """The customer merged into: among those the user sees (404 otherwise, as the customer's
    own endpoint), and one they edit (403: support staff see every customer, merge none)."""
    survivor = get_object_or_404(selectors.customers_visible_to(request.user), pk=pk)
    if not selectors.customers_editable_by(request.user).filter(pk=pk).exists():
        raise PermissionDenied(MERGE_NOT_ALLOWED)
    return survivor


def merge_duplicate_get(request, duplicate_id: int) -> Customer:
    """Looked up among the customers the user edits: another portfolio's reads as missing
    (errors never reveal other portfolios); an admin's across portfolios the service allows."""
    duplicate = selectors.customers_editable_by(request.user).filter(pk=duplicate_id).first()
    if duplicate is None:
        raise serializers.ValidationError({"duplicate": NO_SUCH_CUSTOMER})
    return duplicate


class CustomerMergeApi(GenericAPIView):
    """Merge a duplicate into this customer (POST), or see what would move (GET)."""

    serializer_class = MergeOutputSerializer
    queryset = Customer.objects.none()  # for the schema; the methods scope by role

    @extend_schema(
        operation_id="customers_merge_preview",
        parameters=[MergePreviewQuerySerializer],
        responses={200: MergePreviewSerializer},
    )
    def get(self, request, pk: int):
        survivor = merge_survivor_get(request, pk)
        query = MergePreviewQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        duplicate = merge_duplicate_get(request, query.validated_data["duplicate"])
        if duplicate.pk == survivor.pk:
            raise serializers.ValidationError({"duplicate": services.MERGE_ITSELF})
        preview = selectors.customer_merge_preview(survivor=survivor, duplicate=duplicate)
        preview["facts"] = merge_facts_shown(preview["facts"], user=request.user)
        return Response(
            MergePreviewSerializer(
                {"survivor": survivor.pk, "duplicate": duplicate.pk, **preview}
            ).data
        )

    @extend_schema(
        operation_id="customers_merge",
        request=MergeInputSerializer,
        responses={200: MergeOutputSerializer},
    )
    @transaction.atomic  # the merge and its reply commit together: no 5xx after a commit
    def post(self, request, pk: int):
        survivor = merge_survivor_get(request, pk)
        serializer = MergeInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        duplicate = merge_duplicate_get(request, serializer.validated_data["duplicate"])
        record = services.customer_merge(
            survivor_id=survivor.pk,
            duplicate_id=duplicate.pk,
            by=request.user,
            fact_choices=serializer.validated_data.get("facts"),
        )
        record = CustomerMerge.objects.select_related("merged_by").get(pk=record.pk)
        return Response(MergeOutputSerializer(record).data)
