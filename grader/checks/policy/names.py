"""What a name in a learner's file stands for, for the static policy.

Three steps, each reusing what exists: the constraint scanner resolves a file's imports,
aliases, ``getattr`` with a constant and star imports (``_Scanner``); the result is followed
through the learner's own modules (``helpers.np`` is ``numpy`` when helpers imports numpy as
np); and the dotted name is looked up in the installed libraries (``libraries.py``).

Scopes follow Python's, not the constraint scanner's flat approximation (a name assigned
anywhere in a function hides the module's there): for the policy a name that is wrongly
taken as local is a name whose module escapes every rule, so ``function_scope`` hides only
a function's own locals.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import Callable

from . import libraries as libs
from grader.checks.constraints.scanner import Forbidden, _Scanner, _Scope

_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)
_COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)


@dataclass(frozen=True)
class _StarExports(Forbidden):
    """A pseudo-rule for the constraint scanner: it resolves a bare name to ``module.name``
    when a star import of ``module`` binds it."""

    exports: Callable[[str, str], bool] | None = None

    def matches(self, path: str) -> bool:
        module, _, name = path.rpartition(".")
        return bool(module) and self.exports(module, name)


class Learner:
    """The submission's own modules: their dotted names and, for resolution, their sources."""

    def __init__(self, sources: dict[str, Callable[[], str | None]] | None = None) -> None:
        self.sources = sources or {}
        self.names = set(self.sources) | {n.rsplit(".", i)[0] for n in self.sources
                                          for i in range(1, n.count(".") + 1)}
        self._scanners: dict[str, _Scanner | None] = {}

    def split(self, path: str) -> tuple[str, list[str]] | None:
        """(module, rest) when ``path`` starts with a learner module: helpers.f -> (helpers, [f])."""
        parts = path.split(".")
        for i in range(len(parts), 0, -1):
            if ".".join(parts[:i]) in self.names:
                return ".".join(parts[:i]), parts[i:]
        return None

    def lookup(self, module: str, name: str) -> str | None:
        """What ``module.name`` is bound to in that module (an import path), else None."""
        scanner = self.scanner(module)
        return None if scanner is None or name not in scanner.bindings and not scanner.stars \
            else scanner._lookup(name, None)

    def scanner(self, module: str) -> _Scanner | None:
        if module not in self._scanners:
            self._scanners[module] = None  # also what an import cycle back here finds
            text = self.sources[module]() if module in self.sources else None
            if text is not None:
                try:
                    self._scanners[module] = _Scanner(text, ast.parse(text), (self.star_rule(),), module)
                except (SyntaxError, ValueError, RecursionError, MemoryError):
                    pass  # it cannot be imported, so nothing is reached through it
        return self._scanners[module]

    def star_rule(self) -> _StarExports:
        return _StarExports("star imports", frozenset(), exports=self.exports)

    def exports(self, module: str, name: str) -> bool:
        if module in self.names:
            scanner = self.scanner(module)
            if scanner is None or name.startswith("_"):
                return False
            if name in scanner.bindings:
                return True
            target = scanner._lookup(name, None) if scanner.stars else None  # its own star imports
            return bool(target) and not target.startswith("builtins.")
        return libs.exports(module, name)


class Names:
    """The names of one file: ``path(node, scope)`` is the dotted name an expression stands
    for (``numpy.linalg.norm``) or None; ``judge(path)`` says what that is."""

    def __init__(self, source: str, tree: ast.Module, filename: str, learner: Learner) -> None:
        self.learner = learner
        self.scanner = _Scanner(source, tree, (learner.star_rule(),), filename)
        self.bindings = self.scanner.bindings  # module-level names -> their bindings

    def path(self, node: ast.AST, scope: _Scope | None) -> str | None:
        return self.canonical(self.scanner._resolve(node, scope))

    def imported(self, stmt: ast.Import | ast.ImportFrom) -> list[tuple[str, str | None]]:
        return self.scanner._imported(stmt)

    def canonical(self, path: str | None) -> str | None:
        """``helpers.np.linalg`` -> ``numpy.linalg`` when the learner's helpers imports numpy as np."""
        for _ in range(16):
            if path is None or path.startswith("builtins."):
                return path
            hit = self.learner.split(path)
            if hit is None or not hit[1]:
                return path
            module, rest = hit
            target = self.learner.lookup(module, rest[0])
            if target is None or target.startswith("builtins."):
                return path  # the learner's own function, class or value
            path = ".".join([target] + rest[1:])
        return path

    def judge(self, path: str) -> tuple[str, str, str] | None:
        """("module", real name, "") for a module, ("bad-module", name, reason) for a module
        outside the allowed ones, ("denied", reason, "") for a refused object, else None."""
        if path in self.learner.names:
            return ("module", path, "")
        obj = libs.resolve(path)
        name = libs.module_name(obj)
        if name is not None:
            if libs.module_allowed(name):
                return ("module", name, "")
            return ("bad-module", name, libs.denial(name) or "")
        if obj is not None and (reason := libs.denied(obj)):
            return ("denied", reason, "")
        return None

    def function_scope(self, fn, outer: _Scope | None) -> _Scope:
        """The names visible in ``fn``: its own locals (parameters and what its body binds,
        not what nested functions, classes or comprehensions bind) hide the enclosing
        functions' names, which hide the module's; ``global`` names go to the module
        (``def g(): np = 1`` inside f leaves f's ``np`` the import)."""
        args = fn.args
        params = {a.arg for a in args.posonlyargs + args.args + args.kwonlyargs
                  + [a for a in (args.vararg, args.kwarg) if a is not None]}
        stores, declared, imports, assigns = set(), set(), {}, []
        stack = list(fn.body) if isinstance(fn.body, list) else [fn.body]
        while stack:
            node = stack.pop()
            if isinstance(node, _FUNCTIONS + (ast.ClassDef,)):
                stores.add(node.name)  # its decorators and defaults belong here, its body does not
                stack += node.decorator_list + getattr(node, "bases", []) + (
                    node.args.defaults + [d for d in node.args.kw_defaults if d] if hasattr(node, "args") else [])
                continue
            if isinstance(node, ast.Lambda):
                stack += node.args.defaults + [d for d in node.args.kw_defaults if d]
                continue
            if isinstance(node, _COMPREHENSIONS):  # its own scope, but := binds here
                stores |= {n.target.id for n in ast.walk(node) if isinstance(n, ast.NamedExpr)}
                continue
            if isinstance(node, (ast.Global, ast.Nonlocal)):
                declared.update(node.names)
            elif isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
                stores.add(node.id)
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                imports.update((n, p) for n, p in self.imported(node) if n != "*")
            elif isinstance(node, (ast.ExceptHandler, ast.MatchAs, ast.MatchStar)) and node.name:
                stores.add(node.name)
            elif isinstance(node, ast.MatchMapping) and node.rest:
                stores.add(node.rest)
            if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
                assigns.append(node)
            stack.extend(ast.iter_child_nodes(node))
        scope = _Scope(dict(outer.aliases), set(outer.hidden)) if outer else _Scope()
        local = (params | stores | set(imports)) - declared
        for name in declared | local:
            scope.aliases.pop(name, None)
            scope.hidden.discard(name)
        scope.hidden |= local
        scope.aliases.update((n, p) for n, p in imports.items() if n in local)
        for node in sorted(assigns, key=lambda n: (n.lineno, n.col_offset)):
            name = node.targets[0].id
            if name in local and (path := self.scanner._resolve(node.value, scope)) is not None:
                scope.aliases[name] = path
        return scope
