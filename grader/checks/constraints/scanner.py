"""Static checks for the exercises' "without ..." rules (the matmul family, np.linalg.norm, ...).

The learner's file is parsed, never imported.  ``scan`` looks at one graded function plus every
module-level function, class, lambda or assignment it reaches by name (recursively, decorators
included) and reports each forbidden construct with its line.  Names are resolved through the
imports (``np``, ``from numpy import dot as d``, ``la = np.linalg``, star imports), so a learner's
own ``def dot`` is not ``numpy.dot``.

Decisions worth knowing:
- A resolved path is forbidden when its root module plus any later segment names a forbidden
  entry: ``numpy._core.multiarray.dot``, ``np.ma.dot`` and ``np.ndarray.dot`` are all "numpy ...
  dot", ``torch._C._nn.linear`` is ``F.linear``.  ``np.multiply.outer`` counts as ``np.outer``.
- Forbidden method names (``a.dot(b)``) apply to objects the scanner cannot resolve and to
  objects inside a watched library (``np.ndarray.__matmul__``), never to other modules
  (``itertools.repeat`` is fine).
- ``getattr``/``__dict__``/``vars()``/``globals()`` with a name built from string constants
  (``"mat" + "mul"``, f-strings, ``"".join``, slicing, ``.lower()``) are resolved like plain
  attributes.  With a name that cannot be computed, access on a watched module is reported as
  "dynamic attribute access"; on any other object only when one of its string constants contains
  a forbidden name (3+ letters).
- ``eval``/``exec``/``compile``/``__import__``/``importlib.import_module`` are always reported.
- The target name's every module-level binding is scanned (a later ``matmul = np.matmul`` counts).
- Scoping is flat per function: a name bound anywhere in it (argument, assignment) hides the
  module-level name of the same spelling.  Columns are 1-based.
- With ``modules`` (a module name -> (source, file name) lookup for the files shipped beside the
  exercise), a function the learner imports from their own module (``from helpers import f``,
  ``helpers.f``, a star import) is scanned there too, and its constructs are reported at the line
  that uses it, naming the helper and where in its file the construct sits.
"""

from __future__ import annotations

import ast
import builtins
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from grader.checks.constraints.rules import DYNAMIC_ACCESS, DYNAMIC_CODE, Forbidden

MESSAGE = "{filename} line {line}: {function} uses `{construct}`{detail} ({rule} is not allowed here{hint})"
HINT = "; {hint}"
ALIAS_OF = " = `{target}`"
VIA_HELPER = " via helper {chain}"
HELPER_AT = " ({where})"
HELPER_LINE = "{filename} line {line}"
SYNTAX_ERROR = "{filename} line {line}: cannot be checked: {message}"
TOO_DEEP = "the code is nested too deeply to check"

_COMPOUND = (ast.If, ast.Try, ast.With, ast.AsyncWith, ast.For, ast.AsyncFor, ast.While) + (
    (ast.TryStar,) if hasattr(ast, "TryStar") else ())
_DEFINITIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
_STR_METHODS = frozenset({"lower", "upper", "strip", "lstrip", "rstrip", "casefold", "swapcase", "title"})


@dataclass(frozen=True)
class Violation:
    function: str
    line: int
    col: int
    construct: str
    source_line: str
    rule: str = ""
    hint: str = ""
    target: str = ""  # the fully-qualified name behind the construct, "" for @ and methods
    via: tuple[str, ...] = ()  # helpers between the graded function and the construct
    filename: str = "<learner>"
    helper_at: str = ""  # "helpers.py line 6" when the construct sits in the learner's own module


class ScanError(Exception):
    """The source cannot be parsed; ``line`` and ``message`` say where and why."""

    def __init__(self, line: int, message: str, filename: str = "<learner>") -> None:
        super().__init__(SYNTAX_ERROR.format(filename=filename, line=line, message=message))
        self.line, self.message, self.filename = line, message, filename


@dataclass
class _Binding:
    path: str | None  # what an import or an alias assignment names, e.g. "numpy.matmul"
    node: ast.AST  # the statement that binds the name (scanned when reached, unless an import)
    order: int
    imported: bool = False


@dataclass
class _Scope:
    aliases: dict[str, str | None] = field(default_factory=dict)
    hidden: set[str] = field(default_factory=set)


def _parse(source: str, filename: str) -> ast.Module:
    try:
        return ast.parse(source, filename=filename)
    except SyntaxError as exc:
        raise ScanError(exc.lineno or 0, exc.msg, filename) from None
    except (ValueError, RecursionError, MemoryError) as exc:
        raise ScanError(0, str(exc) or TOO_DEEP, filename) from None


def defines(source: str, function: str) -> bool:
    """True when the module binds ``function`` at module level (def, class, assignment or import)."""
    return function in _Scanner(source, _parse(source, "<learner>"), (), "<learner>").bindings


def scan(
    source: str, function: str, forbidden: Forbidden | Sequence[Forbidden], *, filename: str = "<learner>",
    modules: ModuleLookup | None = None,
) -> list[Violation]:
    """Every forbidden construct that ``function`` uses, itself or through the helpers it reaches
    (in this file and, given ``modules``, in the learner's own modules it imports)."""
    rules = (forbidden,) if isinstance(forbidden, Forbidden) else tuple(forbidden)
    scanner = _Scanner(source, _parse(source, filename), rules + (DYNAMIC_CODE,), filename,
                       modules=modules)
    try:
        return scanner.scan(function)
    except RecursionError:
        raise ScanError(0, TOO_DEEP, filename) from None


def describe(v: Violation) -> str:
    """The sentence a learner reads for one violation."""
    detail = ""
    if v.target and not v.construct.endswith(v.target.rsplit(".", 1)[-1]):
        detail += ALIAS_OF.format(target=v.target)
    if v.via:
        detail += VIA_HELPER.format(chain=" -> ".join(f"`{name}`" for name in v.via))
    if v.helper_at:
        detail += HELPER_AT.format(where=v.helper_at)
    return MESSAGE.format(
        filename=v.filename, line=v.line, function=v.function, construct=v.construct,
        detail=detail, rule=v.rule, hint=HINT.format(hint=v.hint) if v.hint else "",
    )


def _stored_names(nodes) -> list[str]:
    return [n.id for node in nodes for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)]


def _const_str(node: ast.AST) -> str | None:
    """The value of a string expression built only from constants, else None."""
    if isinstance(node, ast.Constant):
        return node.value if isinstance(node.value, str) else None
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _const_str(node.left), _const_str(node.right)
        return None if left is None or right is None else left + right
    if isinstance(node, ast.JoinedStr):
        parts = [_const_str(v.value if isinstance(v, ast.FormattedValue) else v) for v in node.values]
        return None if None in parts else "".join(parts)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and not node.keywords:
        base, method = _const_str(node.func.value), node.func.attr
        if base is not None and method in _STR_METHODS and not node.args:
            return getattr(base, method)()
        if base is not None and method == "join" and len(node.args) == 1:
            items = getattr(node.args[0], "elts", None)
            parts = [_const_str(e) for e in items] if items is not None else [None]
            return None if None in parts else base.join(parts)
    if isinstance(node, ast.Subscript) and (base := _const_str(node.value)) is not None:
        index = node.slice
        try:
            if isinstance(index, ast.Slice):
                index = slice(*(ast.literal_eval(p) if p else None for p in (index.lower, index.upper, index.step)))
            else:
                index = ast.literal_eval(index)
            return base[index]
        except (ValueError, TypeError, IndexError):
            return None
    return None


class _Scanner:
    def __init__(self, source: str, tree: ast.Module, rules: tuple[Forbidden, ...], filename: str,
                 *, modules: ModuleLookup | None = None, helpers: dict | None = None) -> None:
        self.lines = re.split(r"\r\n?|\n", source)  # the line breaks ast counts, unlike splitlines
        self.source, self.rules, self.filename = source, rules, filename
        self.modules = modules
        # Shared by every scanner of one scan: parsed learner modules (None: unreadable) and the
        # results per (module, function), [] while one is being scanned (import cycles).
        self.helpers: dict = helpers if helpers is not None else {"parsed": {}, "results": {}, "names": {}}
        self.roots = frozenset().union(*(r.roots for r in rules if r is not DYNAMIC_CODE))
        self.bindings: dict[str, list[_Binding]] = {}
        self.stars: list[_Binding] = []
        self.count = 0  # bindings so far: a star import only wins over names bound before it
        self.found: dict[tuple, Violation] = {}
        self._bind_module(tree.body)

    # -- the module's names ------------------------------------------------------------------
    def _bind(self, name: str, path: str | None, node: ast.AST, imported: bool = False) -> None:
        self.bindings.setdefault(name, []).append(_Binding(path, node, self.count, imported))
        self.count += 1

    def _bind_module(self, body: list[ast.stmt]) -> None:
        """Record module-level bindings in source order; a later binding of a name wins at lookup."""
        for stmt in body:
            if isinstance(stmt, (ast.Import, ast.ImportFrom)):
                for name, path in self._imported(stmt):
                    if name == "*":
                        self.stars.append(_Binding(path, stmt, self.count, True))
                        self.count += 1
                    else:
                        self._bind(name, path, stmt, imported=True)
            elif isinstance(stmt, _DEFINITIONS):
                self._bind(stmt.name, None, stmt)
            elif isinstance(stmt, _COMPOUND):
                heads = [getattr(stmt, "target", None)] + [i.optional_vars for i in getattr(stmt, "items", [])]
                for name in _stored_names(h for h in heads if h is not None):
                    self._bind(name, None, stmt)
                blocks = [getattr(stmt, b, []) for b in ("body", "orelse", "finalbody")]
                self._bind_module([s for block in blocks for s in block]
                                  + [s for h in getattr(stmt, "handlers", []) for s in h.body])
            else:
                targets = _stored_names([stmt])
                alias = None
                if isinstance(stmt, (ast.Assign, ast.AnnAssign)) and stmt.value and len(targets) == 1:
                    alias = self._resolve(stmt.value, None)
                for name in targets:
                    self._bind(name, alias, stmt)

    @staticmethod
    def _imported(stmt: ast.Import | ast.ImportFrom) -> list[tuple[str, str | None]]:
        if isinstance(stmt, ast.Import):
            return [(a.asname or a.name.split(".")[0], a.name if a.asname else a.name.split(".")[0]) for a in stmt.names]
        module = None if stmt.level else stmt.module
        return [(a.asname or a.name, f"{module}.{a.name}" if module and a.name != "*" else module) for a in stmt.names]

    def _local_scope(self, unit: ast.AST) -> _Scope:
        scope, assigns = _Scope(), []
        for node in ast.walk(unit):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                scope.aliases.update((n, p) for n, p in self._imported(node) if n != "*")
            elif isinstance(node, ast.arg):
                scope.hidden.add(node.arg)
            elif isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
                scope.hidden.add(node.id)
            elif isinstance(node, _DEFINITIONS) and node is not unit:
                scope.hidden.add(node.name)
            elif isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
                assigns.append(node)
        for node in sorted(assigns, key=lambda n: (n.lineno, n.col_offset)):
            if (path := self._resolve(node.value, scope)) is not None:
                scope.aliases[node.targets[0].id] = path
        return scope

    def _lookup(self, name: str, scope: _Scope | None) -> str | None:
        if scope is not None and name in scope.aliases:
            return scope.aliases[name]
        if scope is not None and name in scope.hidden:
            return None
        last = self.bindings.get(name, [None])[-1]
        for star in reversed(self.stars):
            if star.path and (last is None or star.order > last.order) and (
                    self._rule_for(f"{star.path}.{name}") or self._learner_defines(star.path, name)):
                return f"{star.path}.{name}"
        if last is not None and last.path is None and not isinstance(last.node, _DEFINITIONS):
            # `except ImportError: np = None` must not hide the import above it
            last = next((b for b in reversed(self.bindings[name]) if b.path is not None), last)
        if last is not None:
            return last.path
        return "builtins" if name == "__builtins__" else f"builtins.{name}" if hasattr(builtins, name) else None

    # -- what an expression names ------------------------------------------------------------
    def _access(self, node: ast.AST, scope: _Scope | None) -> tuple[str | None, ast.AST | str, str] | None:
        """For attribute-like access: (the object's path, the key, kind), kind "attr"/"globals"/"modules"."""
        if isinstance(node, ast.Attribute):
            return self._resolve(node.value, scope), node.attr, "attr"
        if isinstance(node, ast.Call) and node.args:
            func = self._resolve(node.func, scope)
            if func in ("builtins.getattr", "builtins.object.__getattribute__") and len(node.args) >= 2:
                return self._resolve(node.args[0], scope), node.args[1], "attr"
            if isinstance(node.func, ast.Attribute) and node.func.attr == "__getattribute__":
                return self._resolve(node.func.value, scope), node.args[0], "attr"
            if isinstance(node.func, ast.Attribute) and node.func.attr == "get":
                return self._namespace(node.func.value, node.args[0], scope)
        if isinstance(node, ast.Subscript):
            return self._namespace(node.value, node.slice, scope)
        return None

    def _namespace(self, container: ast.AST, key: ast.AST, scope: _Scope | None):
        if isinstance(container, ast.Attribute) and container.attr == "__dict__":
            return self._resolve(container.value, scope), key, "attr"
        if isinstance(container, ast.Call):
            func = self._resolve(container.func, scope)
            if func == "builtins.vars" and container.args:
                return self._resolve(container.args[0], scope), key, "attr"
            if func == "builtins.globals":
                return None, key, "globals"
        if self._resolve(container, scope) == "sys.modules":
            return None, key, "modules"
        return None

    def _resolve(self, node: ast.AST, scope: _Scope | None) -> str | None:
        if isinstance(node, ast.Name):
            return self._lookup(node.id, scope)
        if isinstance(node, ast.Call) and node.args:
            func = self._resolve(node.func, scope)
            if func in ("builtins.__import__", "importlib.import_module", "importlib.__import__"):
                module = _const_str(node.args[0])
                return module.split(".")[0] if module and func != "importlib.import_module" else module
        access = self._access(node, scope)
        if access is None:
            return None
        obj, key, kind = access
        key = key if isinstance(key, str) else _const_str(key)
        if key is None:
            return None
        if kind == "globals":
            return self._lookup(key, None)
        if kind == "modules":
            return key
        return f"{obj}.{key}" if obj else None

    def _rule_for(self, path: str) -> Forbidden | None:
        return next((rule for rule in self.rules if rule.matches(path)), None)

    # -- scanning ----------------------------------------------------------------------------
    def scan(self, function: str) -> list[Violation]:
        queue, seen = [(function, ())], {function}
        while queue:
            name, via = queue.pop(0)
            bindings = self.bindings.get(name, [])
            for binding in bindings:
                if binding.imported:  # only the last binding is what runs; an earlier import is dead
                    if binding is bindings[-1] and binding.path and (rule := self._rule_for(binding.path)):
                        self._report(function, binding.node, rule, via, binding.path)
                    elif binding is bindings[-1] and binding.path:
                        self._follow(function, binding.node, binding.path, via)
                    continue
                scope = self._local_scope(binding.node)
                self._visit(binding.node, scope, function, via)
                for ref in sorted(self._references(binding.node, scope) - seen):
                    if any(not b.imported and b.path is None for b in self.bindings.get(ref, [])):
                        seen.add(ref)
                        queue.append((ref, via + (ref,)))
        return sorted(self.found.values(), key=lambda v: (v.line, v.col, v.construct))

    def _references(self, unit: ast.AST, scope: _Scope) -> set[str]:
        return {n.id for n in ast.walk(unit) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)
                and n.id not in scope.hidden and n.id not in scope.aliases}

    def _visit(self, unit: ast.AST, scope: _Scope, function: str, via: tuple[str, ...]) -> None:
        stack = [unit]  # a loop, not recursion: a 5000-term sum must not overflow the stack
        while stack:
            node = stack.pop()
            if self._check(node, scope, function, via) and isinstance(node, ast.Attribute):
                continue  # np.linalg.norm reported once, not again as np.linalg
            stack.extend(ast.iter_child_nodes(node))

    def _check(self, node: ast.AST, scope: _Scope, function: str, via: tuple[str, ...]) -> bool:
        if isinstance(node, (ast.BinOp, ast.AugAssign)) and isinstance(node.op, ast.MatMult):
            for rule in self.rules:
                if rule.matmul_operator:
                    self._report(function, node, rule, via, "", "@" if isinstance(node, ast.BinOp) else "@=")
            return True
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
            path = self._lookup(node.id, scope)
            if path and (rule := self._rule_for(path)):
                return self._report(function, node, rule, via, path)
            return bool(path) and self._follow(function, node, path, via)
        if isinstance(node, ast.Call) and self._resolve(node.func, scope) in ("operator.methodcaller", "operator.attrgetter"):
            key = _const_str(node.args[0]) if node.args else None
            for rule in self.rules:
                if key and key.split(".")[-1] in rule.methods:
                    return self._report(function, node, rule, via, "")
        access = self._access(node, scope)
        if access is None:
            return False
        obj, key_node, kind = access
        key = key_node if isinstance(key_node, str) else _const_str(key_node)
        if key is not None:
            path = self._resolve(node, scope)
            if path and (rule := self._rule_for(path)):
                return self._report(function, node, rule, via, path)
            if path and self._follow(function, node, path, via):
                return True
            for rule in self.rules:
                if kind == "attr" and key in rule.methods and (obj is None or obj.split(".")[0] in rule.roots):
                    return self._report(function, node, rule, via, "")
            return False
        if kind != "attr" or (obj and (obj.split(".")[0] in self.roots or obj in ("builtins", "importlib"))):
            return self._report(function, node, DYNAMIC_ACCESS, via, "")
        if obj is None:  # an unknown object: only a constant spelling a forbidden name counts
            texts = [n.value for n in ast.walk(key_node) if isinstance(n, ast.Constant) and isinstance(n.value, str)]
            for rule in self.rules:
                if any(name in t for t in texts for name in rule.names if len(name) >= 3 or name == t):
                    return self._report(function, node, rule, via, "")
        return False

    # -- the learner's own modules ------------------------------------------------------------
    def _learner_module(self, path: str) -> tuple[str, list[str]] | None:
        """(module, rest) when ``path`` names something in a learner module, e.g. helpers.f."""
        if self.modules is None:
            return None
        parts = path.split(".")
        for i in range(len(parts), 0, -1):
            if self._parsed(".".join(parts[:i])) is not None:
                return ".".join(parts[:i]), parts[i:]
        return None

    def _parsed(self, module: str) -> tuple[str, ast.Module, str] | None:
        parsed = self.helpers["parsed"]
        if module not in parsed:
            parsed[module] = None
            found = self.modules(module) if module.replace(".", "").isidentifier() else None
            if found is not None:
                text, filename = found
                try:
                    parsed[module] = (text, ast.parse(text, filename=filename), filename)
                except (SyntaxError, ValueError, RecursionError, MemoryError):
                    pass  # its import fails in the worker, so nothing there can run
        return parsed[module]

    def _learner_defines(self, module: str, name: str) -> bool:
        if self.modules is None or name.startswith("_") or self._parsed(module) is None:
            return False
        names = self.helpers.setdefault("names", {})
        if module not in names:
            names[module] = set()  # star imports that go round in a circle
            names[module] = set(self._helper(module).bindings)
        return name in names[module]

    def _helper(self, module: str) -> "_Scanner":
        text, tree, filename = self._parsed(module)
        return _Scanner(text, tree, self.rules, filename, modules=self.modules, helpers=self.helpers)

    def _follow(self, function: str, node: ast.AST, path: str, via: tuple[str, ...]) -> bool:
        """Scan what ``path`` names in a learner module; report its constructs at ``node``."""
        found = self._learner_module(path)
        if found is None or not found[1]:
            return False
        module, rest = found
        key = (module, rest[0], tuple(r.name for r in self.rules))
        results = self.helpers["results"]
        if key not in results:
            results[key] = []  # an import cycle back to here finds nothing more
            results[key] = self._helper(module).scan(rest[0])
        helper = f"{module}.{rest[0]}"
        rules = {r.name: r for r in self.rules + (DYNAMIC_ACCESS,)}
        for v in results[key]:
            self._report(function, node, rules.get(v.rule, DYNAMIC_ACCESS), via + (helper,) + v.via,
                         v.target, v.construct, helper_at=v.helper_at or HELPER_LINE.format(
                             filename=v.filename, line=v.line))
        return bool(results[key])

    def _report(self, function, node, rule, via, target, construct=None, helper_at: str = "") -> bool:
        line, col = node.lineno, node.col_offset
        if construct in ("@", "@=") and not helper_at:
            line, col = self._operator_position(node)
        col = len(self._line_bytes(line)[:col].decode(errors="ignore"))  # ast counts UTF-8 bytes
        if construct is None:
            text = ast.get_source_segment(self.source, node) or ""
            construct = " ".join(text.split())
        source_line = self.lines[line - 1].strip() if 0 < line <= len(self.lines) else ""
        key = (line, col, construct, rule.name, helper_at)
        self.found.setdefault(key, Violation(function, line, col + 1, construct, source_line,
                                             rule.name, rule.hint, target, via, self.filename, helper_at))
        return True

    def _operator_position(self, node: ast.BinOp | ast.AugAssign) -> tuple[int, int]:
        """Where the ``@`` token sits: the first ``@`` between the operands, outside comments."""
        left = node.left if isinstance(node, ast.BinOp) else node.target
        right = node.right if isinstance(node, ast.BinOp) else node.value
        for line in range(left.end_lineno, right.lineno + 1):
            text = self._line_bytes(line)
            start = left.end_col_offset if line == left.end_lineno else 0
            end = right.col_offset if line == right.lineno else len(text)
            at = text[start:end].split(b"#")[0].find(b"@")
            if at >= 0:
                return line, start + at
        return node.lineno, node.col_offset

    def _line_bytes(self, line: int) -> bytes:
        return self.lines[line - 1].encode() if 0 < line <= len(self.lines) else b""
