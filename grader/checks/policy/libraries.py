"""Dotted names looked up in the installed libraries, for the static policy.

``np.lib.npyio.os`` is judged by what each link really is in the NumPy the worker will import,
not by its spelling. Lookups go through module ``__dict__``s and ``inspect.getattr_static``,
so no property or module ``__getattr__`` runs; a submodule that is not imported yet is found
with ``importlib.util.find_spec`` and imported only when it is an allowed module (the same
library code the grader and the worker import anyway). Nothing here imports a name a learner
chose unless the rules allow that module.
"""

from __future__ import annotations

import importlib
import importlib.machinery
import importlib.util
import inspect
import sys
import sysconfig
import types
import warnings
from functools import lru_cache

from .rules import (ALLOWED_MODULES, ALLOWED_PREFIXES, ALLOWED_TOP, DENIED_MODULES,
                           DENIED_OBJECTS, RESERVED_MODULES)


class ModuleRef:
    """A module found by name but not imported: it is not an allowed module."""

    def __init__(self, name: str) -> None:
        self.name = name


def denial(name: str) -> str | None:
    """The reason ``name`` (or a package above it) is a denied module, if it is one."""
    parts = name.split(".")
    for i in range(len(parts), 0, -1):
        reason = DENIED_MODULES.get(".".join(parts[:i]))
        if reason:
            return reason
    return None


def module_allowed(name: str) -> bool:
    if name == "__future__":
        return True
    if any(part.startswith("_") for part in name.split(".")) or denial(name) is not None:
        return False
    return name in ALLOWED_MODULES or any(name == p or name.startswith(p + ".") for p in ALLOWED_PREFIXES)


def module_name(obj: object) -> str | None:
    """The real name of a module (or of a ModuleRef), None for anything else."""
    if isinstance(obj, ModuleRef):
        return obj.name
    if isinstance(obj, types.ModuleType):
        name = obj.__dict__.get("__name__")
        return name if isinstance(name, str) else "<unnamed module>"
    return None


@lru_cache(maxsize=16384)
def resolve(path: str) -> object | None:
    """What ``path`` names, e.g. resolve("numpy.linalg.norm"); a ModuleRef at the first link
    that is a module outside the allowed ones; None when unknown (a learner name, a value
    made at run time, an attribute a library creates lazily)."""
    parts = path.split(".")
    if parts[0] not in ALLOWED_TOP:
        return None
    obj = _import(parts[0])
    for part in parts[1:]:
        if obj is None or isinstance(obj, ModuleRef):
            return obj
        obj = _member(obj, part)
    return obj


def _member(obj: object, part: str) -> object | None:
    if isinstance(obj, types.ModuleType):
        namespace = obj.__dict__
        if part in namespace:
            return namespace[part]
        name = f"{module_name(obj)}.{part}"
        if not exists(name):
            return None
        return _import(name) if module_allowed(name) else ModuleRef(name)
    try:
        return inspect.getattr_static(obj, part)
    except Exception:  # AttributeError, or an object whose lookup itself fails: unknown
        return None


@lru_cache(maxsize=None)
def exists(name: str) -> bool:
    """A module of that name can be imported (parents are imported to look, never ``name``)."""
    if name in sys.modules:
        return True
    try:
        return importlib.util.find_spec(name) is not None
    except Exception:  # a parent that fails to import, or a name that is no module path
        return False


@lru_cache(maxsize=None)
def _import(name: str) -> object | None:
    if not module_allowed(name):
        return ModuleRef(name)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return importlib.import_module(name)
    except Exception:  # not installed: nothing can be reached through it
        return None


def same(obj: object, path: str) -> bool:
    """``obj`` is what ``path`` names; False, without importing anything, when the library
    ``path`` lives in is not imported (then nothing resolved can be from it)."""
    return obj is not None and path.split(".")[0] in sys.modules and obj is resolve(path)


def exports(module: str, name: str) -> bool:
    """``from module import *`` binds ``name`` (the module's ``__all__``, else its public names)."""
    obj = resolve(module)
    if not isinstance(obj, types.ModuleType):
        return False
    names = obj.__dict__.get("__all__")
    if isinstance(names, (list, tuple)):
        return name in names
    return not name.startswith("_") and name in obj.__dict__


def denied(obj: object) -> str | None:
    """Why ``obj`` is one of the refused library objects (by identity), else None."""
    for root in ALLOWED_TOP:
        if root in sys.modules:
            entry = _denied_table(root).get(id(obj))
            if entry is not None and entry[0] is obj:
                return entry[1]
    return None


@lru_cache(maxsize=None)
def _denied_table(root: str) -> dict[int, tuple[object, str]]:
    table = {}
    for dotted, reason in DENIED_OBJECTS.items():
        if dotted.split(".")[0] == root:
            obj = resolve(dotted)
            if obj is not None and not isinstance(obj, ModuleRef):
                table[id(obj)] = (obj, reason)  # the object is kept, so its id stays unique
    return table


def worker_path() -> list[str]:
    """Where the worker (``python -I``) finds modules besides the submission: the standard
    library and site-packages, not the grader's working folder."""
    paths = sysconfig.get_paths()
    return list(dict.fromkeys(paths[k] for k in ("stdlib", "platstdlib", "purelib", "platlib") if k in paths))


@lru_cache(maxsize=None)
def library_named(name: str) -> bool:
    """A learner file called ``name.py`` would hide (or be hidden by) a module of that name."""
    if name in RESERVED_MODULES or name in ALLOWED_TOP or name in sys.stdlib_module_names \
            or name in sys.builtin_module_names:
        return True
    try:
        return importlib.machinery.PathFinder.find_spec(name, worker_path()) is not None
    except Exception:
        return True  # cannot tell: treat as taken
