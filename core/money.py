"""What is money (SPEC §2: support staff never see money figures), declared once.

Money is every figure that tells what a customer spends or is worth to us, or what we earn
or pay: the wallet, the value figures, share of customer (with revenue it reveals the
wallet), prices paid, discounts, costs and margins. A list price is not money in this sense:
everyone may quote it.

- Fields: `MONEY_FIELDS` names them, wherever they appear; an app whose own declaration says
  what is money adds its names at start-up with `money_fields_declare` (valuation's figures:
  `valuation.declared.FIGURES`, added by `valuation.apps`). Every output serializer
  (`core.serializers.OutputModelSerializer`) leaves them out for a user who may not see money,
  the OpenAPI schema marks them optional (`core.schema.money_fields_optional`), CSV exports
  leave their columns out (`dataio.selectors.export_columns`).
- Facts: a `FactKey` with `money=True` (the wallet) is shown only to roles that see money,
  never offered in the customer's preference centre, and a role that may not see money can
  state it only while none is known (`customers.facts.customer_fact_record`), so posting
  a guess confirms nothing.
- Pages: templates test `can_see_money` (accounts.context_processors) around every money
  figure and show it with `{% load money %}{{ amount|money }}` (the firm's
  currency); `tests/review/test_money_hidden.py` walks every page and API response as support.
"""

MONEY_FIELDS: set[str] = set(
    {
        # A customer's wallet (customers.Customer); their value figures are valuation's.
        "wallet_annual",
        # What a customer paid and what it cost us (interactions.OrderLine).
        "unit_price",
        "unit_cost",
        "discount",
        # What an offering costs us and earns (offerings.Offering, offerings.Component).
        "cost",
        "margin",
        "margin_percent",
        # What one contact on a channel costs us (interactions.ChannelCost). Not a customer's
        # money, but a cost we pay, like a component's cost: with a customer's contacts it
        # gives their cost to serve, which the value figures subtract.
        "cost_per_interaction",
    }
)


def money_fields_declare(names) -> None:
    """Add the money fields an app declares itself (called from its AppConfig.ready)."""
    MONEY_FIELDS.update(names)


def money_visible_to(user) -> bool:
    """Whether this user (None: nobody signed in) may see money figures."""
    return user is not None and can_see_money(user)


def money_hidden(data: dict, *, user) -> dict:
    """``data`` without its money fields, unless the user may see money."""
    if money_visible_to(user):
        return data
    for name in MONEY_FIELDS.intersection(data):
        del data[name]
    return data


def can_see_money(user) -> bool:
    """Support staff see value tiers, never money figures (SPEC §2). The permission is given
    to roles by accounts.roles."""
    return user.is_authenticated and user.has_perm("customers.view_customer_money")
