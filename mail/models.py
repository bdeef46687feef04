"""The email channel's records (docs/email.md). Every message in or out is a `Message` beside
the interaction it is in the learning loop; the interaction is the loop's record, the message
keeps what only mail has (headers, the text as sent, the quoted history, attachments)."""

from django.conf import settings
from django.db import models
from django.db.models import Q


class Security(models.TextChoices):
    SSL = "ssl", "TLS from the start (IMAPS, port 993)"
    STARTTLS = "starttls", "STARTTLS (port 143)"
    PLAIN = "plain", "None (a local test server only)"


class Mailbox(models.Model):
    """An address customers write to. Its IMAP settings, when set, are polled on the beat
    schedule; mail piped in (`receive_email`) or posted to the inbound endpoint for this
    address lands here too. Replies go out From this address, with a thread token in a
    plus-address of it as Reply-To."""

    name = models.CharField(max_length=100)
    address = models.EmailField(unique=True, help_text="e.g. support@firm.example")
    is_default = models.BooleanField(
        default=False, help_text="Replies to items of no mailbox go out from this one."
    )
    default_type = models.CharField(
        max_length=20,
        default="inquiry",
        help_text="The interaction type of a new message (rules may say complaint).",
    )
    imap_host = models.CharField(max_length=255, blank=True, help_text="Empty: not polled.")
    imap_port = models.PositiveIntegerField(default=993)
    imap_security = models.CharField(max_length=10, choices=Security, default=Security.SSL)
    imap_user = models.CharField(max_length=255, blank=True)
    imap_password_env = models.CharField(
        max_length=100,
        blank=True,
        help_text="Name of the environment variable holding the password (preferred).",
    )
    imap_password_encrypted = models.TextField(
        blank=True,
        editable=False,
        help_text="The password, encrypted with a key derived from SECRET_KEY (mail.secrets).",
    )
    imap_folder = models.CharField(max_length=255, default="INBOX")
    imap_processed_folder = models.CharField(
        max_length=255, default="Processed", help_text="Processed messages are moved here."
    )
    imap_enabled = models.BooleanField(default=True)
    polled_at = models.DateTimeField(null=True, blank=True, editable=False)
    poll_error = models.TextField(blank=True, editable=False)
    poll_failures = models.PositiveIntegerField(default=0, editable=False)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"], condition=Q(is_default=True), name="mailbox_one_default"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} <{self.address}>"


class RuleField(models.TextChoices):
    SUBJECT = "subject", "Subject"
    BODY = "body", "Text"
    ANY = "any", "Subject or text"
    SENDER = "sender", "Sender's address"


class Rule(models.Model):
    """An admin rule for new inbound mail: when `field` contains `contains` (case-blind), the
    interaction gets `type` (e.g. complaint). The first matching rule by `order` wins."""

    mailbox = models.ForeignKey(
        Mailbox, null=True, blank=True, on_delete=models.CASCADE, help_text="Empty: every mailbox."
    )
    field = models.CharField(max_length=10, choices=RuleField, default=RuleField.ANY)
    contains = models.CharField(max_length=200)
    type = models.CharField(max_length=20, default="complaint")
    order = models.PositiveIntegerField(default=100)

    class Meta:
        ordering = ["order", "id"]

    def __str__(self) -> str:
        return f"{self.get_field_display()} contains “{self.contains}” → {self.type}"


class MessageKind(models.TextChoices):
    REGULAR = "regular", "Message"
    AUTO_REPLY = "auto_reply", "Automatic reply"
    BOUNCE = "bounce", "Bounce (delivery failure)"
    LIST = "list", "List or bulk mail"


class Via(models.TextChoices):
    IMAP = "imap", "IMAP mailbox"
    PIPE = "pipe", "Mail server pipe"
    HTTP = "http", "Inbound endpoint"
    APP = "app", "Sent from the app"
    FORM = "form", "Web form"
    LOCAL = "local", "Local mailbox (embedded default)"
    PORTAL = "portal", "Customer portal"


class Match(models.TextChoices):
    """How an inbound message found its customer (shown on the conversation, for triage)."""

    KNOWN = "known", "Sender's address is the customer's"
    THREAD = "thread", "Reply in a known thread, from an address not on file"
    NEW = "new", "Unknown sender: new prospect"
    AMBIGUOUS = "ambiguous", "Address shared by several customers"
    NONE = "none", "No customer (bounce or list mail of nobody known)"


class Delivery(models.TextChoices):
    RECEIVED = "received", "Received"
    QUEUED = "queued", "Queued"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"


class Message(models.Model):
    direction = models.CharField(max_length=10)  # interactions.choices.Direction
    kind = models.CharField(max_length=12, choices=MessageKind, default=MessageKind.REGULAR)
    via = models.CharField(max_length=8, choices=Via)
    # The Message-ID without its angle brackets; ids longer than the column are stored as
    # "sha256:<hex>" of the id (mail.parsing.message_id_key). Unique: a message fetched twice
    # (two polls, the pipe and IMAP both) is stored once.
    message_id = models.CharField(max_length=255, unique=True)
    mailbox = models.ForeignKey(Mailbox, null=True, blank=True, on_delete=models.SET_NULL)
    interaction = models.OneToOneField(
        "interactions.Interaction",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="message",
    )
    match = models.CharField(max_length=10, choices=Match, blank=True)
    from_address = models.CharField(max_length=254, blank=True)
    from_name = models.CharField(max_length=200, blank=True)
    to = models.JSONField(default=list, blank=True)
    cc = models.JSONField(default=list, blank=True)
    subject = models.CharField(max_length=998, blank=True)
    in_reply_to = models.CharField(max_length=998, blank=True)
    references = models.TextField(blank=True)
    date = models.DateTimeField(null=True, blank=True, help_text="The message's Date header.")
    # The new text apart from the quoted history (mail.parsing.reply_split), the whole plain
    # text, and the HTML sanitised for display (nh3); the raw message stays in `raw`.
    text = models.TextField(blank=True)
    text_full = models.TextField(blank=True)
    html = models.TextField(blank=True)
    raw = models.FileField(upload_to="mail/raw/%Y/%m/", blank=True)
    size = models.PositiveIntegerField(default=0)
    problems = models.JSONField(
        default=list, blank=True, help_text="What could not be read as sent (charsets, parts)."
    )
    delivery = models.CharField(max_length=10, choices=Delivery, default=Delivery.RECEIVED)
    attempts = models.PositiveSmallIntegerField(default=0)
    delivery_error = models.TextField(blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["from_address", "-created_at"]),
            models.Index(
                fields=["created_at"],
                name="message_unsent_idx",
                condition=Q(delivery__in=["queued", "failed"]),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.from_address}: {self.subject}"


class Attachment(models.Model):
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="attachments")
    filename = models.CharField(max_length=255)
    content_type = models.CharField(max_length=255)
    size = models.PositiveIntegerField()
    file = models.FileField(upload_to="mail/attachments/%Y/%m/", blank=True)
    refused = models.CharField(
        max_length=200, blank=True, help_text="Why it was not stored (size, type)."
    )

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.filename


class BouncingAddress(models.Model):
    """An address mail could not be delivered to. Nothing but service replies is sent to it
    until it is cleared (a later message from it clears it)."""

    address = models.CharField(max_length=254, unique=True)
    first_bounced_at = models.DateTimeField(auto_now_add=True)
    last_bounced_at = models.DateTimeField(auto_now=True)
    bounces = models.PositiveIntegerField(default=1)
    reason = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["address"]
        verbose_name_plural = "bouncing addresses"

    def __str__(self) -> str:
        return self.address


class CannedReply(models.Model):
    """A reply support can start from. The body is a Django template with `customer` (name,
    first_name), `facts` (what the customer taught us, by key; money facts only for roles
    that see money) and `me` (the person replying)."""

    title = models.CharField(max_length=100, unique=True)
    body = models.TextField()
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["title"]
        verbose_name_plural = "canned replies"

    def __str__(self) -> str:
        return self.title
