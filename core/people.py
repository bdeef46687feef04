"""How a person (a staff user) is named on a page: by their full name, the username only
when they have none. Works on any object with `get_full_name` and `username` (core imports
no app), and on None ("")."""


def person_name(user) -> str:
    if user is None:
        return ""
    full = (user.get_full_name() or "").strip() if hasattr(user, "get_full_name") else ""
    return full or getattr(user, "username", "") or ""
