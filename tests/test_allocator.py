"""A serving process's allocator settings: two heap arenas, no huge-page advice, and the
environment's own settings win (run in a child: they hold for the whole process)."""

from __future__ import annotations

import os
import subprocess
import sys

CHILD = """
from numpy._core.multiarray import _set_madvise_hugepage
from triage.core.allocator import keep_small
keep_small()
print(_set_madvise_hugepage(True))  # returns the setting it replaces
"""


def _advice_after_keep_small(**env: str) -> str:
    environment = {k: v for k, v in os.environ.items() if k != "NUMPY_MADVISE_HUGEPAGE"}
    environment.update(env)
    done = subprocess.run(
        [sys.executable, "-c", CHILD], env=environment, capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def test_serving_turns_numpys_huge_page_advice_off() -> None:
    assert _advice_after_keep_small() == "False"


def test_the_environments_huge_page_setting_wins() -> None:
    assert _advice_after_keep_small(NUMPY_MADVISE_HUGEPAGE="1") == "True"
