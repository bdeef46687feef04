from ..mailservers import imap_account, smtp_server, smtp_settings  # noqa: F401 - fixtures
