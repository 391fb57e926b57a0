"""Where the kit's folders are: one place for every module that needs them."""

from __future__ import annotations

from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
KIT_ROOT = PACKAGE.parent
SUITES_DIR = PACKAGE / "suites"
EXERCISES_DIR = KIT_ROOT / "exercises"
SOLUTIONS_DIR = KIT_ROOT / "solutions"
NOTEBOOKS_DIR = KIT_ROOT / "notebooks"
LESSONS_DIR = NOTEBOOKS_DIR / "lessons"
DATA_DIR = KIT_ROOT / "data"
