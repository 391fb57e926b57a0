"""Where the kit's folders are: one place for every module that needs them.

In a checkout (or an editable install) they sit beside the package. A wheel carries the ones
the grader reads at run time (the stubs, the embedded data) to ``<prefix>/share/linalg-kit``
(``[tool.setuptools.data-files]`` in pyproject.toml); ``kit_folder`` finds that copy when the
kit's own folder is not there.
"""

from __future__ import annotations

import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
KIT_ROOT = PACKAGE.parent
SHARE_DIR = Path(sys.prefix) / "share" / "linalg-kit"


def kit_folder(name: str) -> Path:
    """The kit's folder ``name``, else a wheel's copy of it, else (missing) the kit's path."""
    here = KIT_ROOT / name
    return SHARE_DIR / name if not here.is_dir() and (SHARE_DIR / name).is_dir() else here


SUITES_DIR = PACKAGE / "suites"
EXERCISES_DIR = kit_folder("exercises")
SOLUTIONS_DIR = KIT_ROOT / "solutions"      # never in a wheel, a student kit or the autograder
BASELINES_DIR = kit_folder("baselines")     # what the speed checks time against (engine/timing.py)
NOTEBOOKS_DIR = KIT_ROOT / "notebooks"
LESSONS_DIR = NOTEBOOKS_DIR / "lessons"
DATA_DIR = kit_folder("data")
# The assignment (grader/course.py): the kit's own, else a wheel's copy.
COURSE_FILE = (SHARE_DIR / "course.toml" if not (KIT_ROOT / "course.toml").exists()
               and (SHARE_DIR / "course.toml").exists() else KIT_ROOT / "course.toml")
