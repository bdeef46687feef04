"""The adversarial review of issue 14, kept in the suite.

Every test under tests/review/ re-runs one finding of the review (an attacker's or a careless
user's input against every role and every way in) and carries the `review` marker, so the whole
review runs alone with `bin/review` (or `bin/test -m review`); `bin/test` runs it with the rest.
"""

from pathlib import Path

import pytest

_HERE = Path(__file__).parent


def pytest_collection_modifyitems(config, items):
    for item in items:
        if _HERE in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.review)
