import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_it_imports_the_models_without_django_or_pandas():
    # given a fresh interpreter (the test process itself has Django loaded)
    code = (
        "import sys\n"
        "from valuation.numerics import bgnbd, clv, experience, gamma_gamma, rfm, simulate, tiers\n"
        "print(sorted(m for m in ('django', 'pandas', 'lifetimes') if m in sys.modules))\n"
    )

    # when
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )

    # then
    assert result.stdout.strip() == "[]"
