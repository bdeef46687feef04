"""One way to write dates and times on every page (issue 19): "4 Dec 2026" and
"4 Dec 2026, 14:05", day first and unambiguous whatever the reader's country; Django's
`date` filter and template output use these for English (en, en-us: FORMAT_MODULE_PATH).
Inputs keep ISO 8601 (`<input type="date">` takes only that); CSV and the API too."""

DATE_FORMAT = "j M Y"
DATETIME_FORMAT = "j M Y, H:i"
SHORT_DATE_FORMAT = "j M Y"
SHORT_DATETIME_FORMAT = "j M Y, H:i"
MONTH_DAY_FORMAT = "j F"
YEAR_MONTH_FORMAT = "F Y"
TIME_FORMAT = "H:i"
# Typed dates (forms not using a date widget) are read as ISO first, then day first.
DATE_INPUT_FORMATS = ["%Y-%m-%d", "%d/%m/%Y", "%d.%m.%Y", "%d %b %Y", "%d %B %Y"]
DATETIME_INPUT_FORMATS = [
    "%Y-%m-%dT%H:%M",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%d",
    "%d/%m/%Y %H:%M",
    "%d/%m/%Y",
]
FIRST_DAY_OF_WEEK = 1  # Monday
