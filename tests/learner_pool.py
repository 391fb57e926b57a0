"""Learner clients for the kit's tests: a pool with the limits a test asks for, and a client
over a copy of a folder where the pool's workers see it (as a grading makes one)."""

from __future__ import annotations

import contextlib
import shutil
import textwrap
from pathlib import Path
from typing import Iterator, Sequence

from grader.isolation.client import Learner
from grader.isolation.pool import Pool
from grader.settings import Settings


def write_modules(folder: Path, **modules: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in modules.items():
        (folder / f"{name}.py").write_text(textwrap.dedent(text))
    return folder


@contextlib.contextmanager
def learner_in(pool: Pool, folder: Path, modules: Sequence[str], *, name: str = "worker"
               ) -> Iterator[Learner]:
    """A client over a copy of ``folder`` under ``pool``'s root, readable by its workers."""
    gid = pool.claim_group()
    try:
        copy = pool.folder("test-") / folder.name
        shutil.copytree(folder, copy)
        pool.share(copy, gid)
        with Learner(copy, pool=pool, modules=list(modules), gid=gid, name=name) as learner:
            yield learner
    finally:
        pool.release_group(gid)


@contextlib.contextmanager
def open_learner(folder: Path, modules: Sequence[str], *, preload: Sequence[str] = ("numpy",),
                 settings: Settings | None = None, **limits) -> Iterator[Learner]:
    """A pool of its own (``settings`` with these limits) and a client over ``folder``."""
    settings = (settings or Settings()).with_limits(**limits)
    with Pool(settings, preload=list(preload)) as pool, learner_in(pool, folder, modules) as learner:
        yield learner
