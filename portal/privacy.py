"""What the portal holds on one customer, for the privacy features (SPEC §7, dataio/privacy.py):
the export's "portal" section and erasure. Wired in portal.handlers (dataio may not import
portal: `events.exports` and the `customer.erased` event are the seams)."""

from typing import Any

from interactions.services import interactions_subjects_replace

from .ideas import ERASED_IDEA, VOTE_WITHDRAWN, VOTED_FOR, ideas_customer_erase
from .models import (
    Idea,
    IdeaVote,
    PortalAccount,
    PortalSignInToken,
    PostReport,
    Review,
    ReviewReport,
    Tip,
)


def portal_customer_export(*, customer_id: int) -> dict[str, Any]:
    """Everything the customer wrote or chose in the portal, and their sign-in links (the
    address each went to; never the token's hash)."""
    account = (
        PortalAccount.objects.filter(customer_id=customer_id)
        .values("display_name", "posts_need_approval", "created_at", "last_signed_in_at")
        .first()
    )
    return {
        "account": account,
        "display_name": account["display_name"] if account else "",
        "sign_in_links": list(
            PortalSignInToken.objects.filter(customer_id=customer_id)
            .order_by("created_at", "pk")
            .values("sent_to", "created_at", "expires_at", "used_at")
        ),
        "reviews": list(
            Review.objects.filter(customer_id=customer_id)
            .order_by("created_at", "pk")
            .values(
                "id",
                "offering_id",
                "offering__name",
                "rating",
                "text",
                "status",
                "staff_answer",
                "created_at",
                "updated_at",
            )
        ),
        "review_reports": list(
            ReviewReport.objects.filter(customer_id=customer_id)
            .order_by("created_at", "pk")
            .values("review_id", "created_at", "resolved")
        ),
        "tips": list(
            Tip.objects.filter(customer_id=customer_id)
            .order_by("created_at", "pk")
            .values(
                "id",
                "offering_id",
                "offering__name",
                "text",
                "status",
                "staff_answer",
                "created_at",
            )
        ),
        "ideas": list(
            Idea.objects.filter(customer_id=customer_id)
            .order_by("created_at", "pk")
            .values(
                "id",
                "title",
                "text",
                "category__name",
                "offering__name",
                "status",
                "stage",
                "staff_answer",
                "created_at",
            )
        ),
        "votes": list(
            IdeaVote.objects.filter(customer_id=customer_id)
            .order_by("created_at", "pk")
            .values("idea_id", "idea__title", "created_at")
        ),
        "post_reports": list(
            PostReport.objects.filter(customer_id=customer_id)
            .order_by("created_at", "pk")
            .values("tip_id", "idea_id", "created_at", "resolved")
        ),
    }


def portal_customer_erase(*, customer_id: int) -> None:
    """In the erasure's transaction (portal.handlers, on `customer.erased`): nothing of the
    customer's words or chosen name stays in the portal (docs/portal.md, "Privacy").

    Their reviews are deleted (others' reports on them go with them); the rating each one
    gave stays as the interactions' anonymous `OfferingRating` of the erased customer, as
    their orders do, so the offering's ratings and the firm's figures do not change. Their
    tips go and their ideas stay hidden without words (`ideas_customer_erase`); their votes
    stay, as anonymous counts; the reports they made go; their portal account (the display
    name) and sign-in links (the address each went to) go. An erased customer cannot sign
    in again (`portal_session_customer`), so no new account comes back.

    Others' votes for their ideas are on the voters' timelines with the idea's title: the
    title goes there too (an identical title of another idea too: rare, and harmless)."""
    titles = set(Idea.objects.filter(customer_id=customer_id).values_list("title", flat=True))
    interactions_subjects_replace(
        subjects={
            f"{said}{title}"[:200]: f"{said}{ERASED_IDEA}"
            for title in titles - {ERASED_IDEA}
            for said in (VOTED_FOR, VOTE_WITHDRAWN)
        }
    )
    ideas_customer_erase(customer_id=customer_id)
    Review.objects.filter(customer_id=customer_id).delete()
    ReviewReport.objects.filter(customer_id=customer_id).delete()
    PostReport.objects.filter(customer_id=customer_id).delete()
    PortalAccount.objects.filter(customer_id=customer_id).delete()
    PortalSignInToken.objects.filter(customer_id=customer_id).delete()
