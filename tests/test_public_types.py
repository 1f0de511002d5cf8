"""The user code that CI type-checks (tests/typing/check_public_api.py) also runs here, so the
types it asserts for each call are those of the values the call returns."""

from __future__ import annotations

import runpy
from pathlib import Path


def test_the_type_checked_user_code_runs_and_its_values_match():
    checks = runpy.run_path(str(Path(__file__).parent / "typing" / "check_public_api.py"))
    checks["main"]()
