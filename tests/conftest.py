"""Shared for the kit's own tests: the kit on sys.path, the tiers as markers, pristine stubs.

The tiers are the folders: ``unit/`` (no processes, seconds: ``make test-fast``), ``worker/``
(the worker client, the timing engine, the sandbox), ``kit/`` (golden submissions, the
reference solutions, the stubs, the notebooks), ``instructor/`` (batch, Gradescope). Each test
gets its folder's marker, so ``pytest -m "not worker"`` and the like select tiers.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from kit_files import ROOT, pristine_copy

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

TIERS = {"worker": ("worker",), "kit": ("worker", "kit"), "instructor": ("worker", "instructor")}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        folder = Path(item.path).parent.name
        for marker in TIERS.get(folder, ()):
            item.add_marker(marker)


@pytest.fixture(scope="session")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with ``exercises/`` and ``notebooks/`` as committed: a learner who has filled
    in a stub still gets green kit tests."""
    return pristine_copy(tmp_path_factory.mktemp("pristine"))
