from .local import local_mailbox_enabled


def local_mailbox(request):
    """Whether mail lands in the local mailbox (the embedded default), for the navigation."""
    return {"local_mailbox": local_mailbox_enabled()}
