"""The walk behind ``grader.policy``: every node of one learner file against the rules.

Names are resolved with the constraint scanner's machinery (imports, aliases, ``getattr`` with
a constant, star imports), then through the learner's own modules, then in the installed
libraries (``libraries.py``). Rules keyed on spelling (``exec``, ``x.__class__``,
``x.f_back``, ``x.sys``) hold whatever an expression turns out to be; rules keyed on meaning
(``np.lib.npyio``, ``typing.types``, ``np.load`` under any alias) need the resolution. Two rules
keep values the resolution cannot follow harmless: a module may only be used as the base of
an attribute (or in a plain, single alias), never passed, stored or returned; and attributes may
only be assigned on the learner's own variables.
"""

from __future__ import annotations

import ast
import re
import string
from dataclasses import dataclass, replace
from . import libraries as libs
from . import rules as R
from grader.checks.constraints.scanner import _const_str, _Scope
from .names import Learner, Names

_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)
_TESTS = (ast.If, ast.While, ast.IfExp, ast.Assert)
_FIELD_ATTRIBUTE = re.compile(r"\.([^.\[\]]+)")


@dataclass(frozen=True)
class Finding:
    line: int
    col: int
    rule: str
    what: str
    why: str = ""


@dataclass(frozen=True)
class _Ctx:
    scope: _Scope | None = None          # the names of the enclosing functions (None: module)
    function: ast.AST | None = None      # the innermost enclosing def or lambda
    selves: frozenset = frozenset()      # first parameters of the enclosing methods (self, cls)
    module_level: bool = True            # a statement of the module body (or its if/try/with)
    class_body: bool = False             # a statement of a class body
    annotation: bool = False
    main: bool = False                   # inside `if __name__ == "__main__":`


class Checker:
    """Checks one parsed file; ``run(units)`` returns its findings, ``imports`` the learner
    modules it imports (name, line, col)."""

    def __init__(self, source: str, tree: ast.Module, filename: str, learner: Learner,
                 package: str = "") -> None:
        self.tree, self.learner, self.package = tree, learner, package
        self.names = Names(source, tree, filename, learner)
        self.findings: dict[tuple, Finding] = {}
        self.imports: list[tuple[str, int, int]] = []
        self._parents: dict[int, ast.AST] = {}
        self._globals = {n for node in ast.walk(tree) if isinstance(node, (ast.Global, ast.Nonlocal))
                         for n in node.names}

    # -- driving -------------------------------------------------------------------------
    def run(self, units: list[ast.stmt]) -> list[Finding]:
        stack = [(stmt, self.tree, _Ctx()) for stmt in reversed(units)]
        while stack:
            node, parent, ctx = stack.pop()
            children = self._visit(node, parent, ctx)
            if children is None:
                children = [(child, node, ctx) for child in ast.iter_child_nodes(node)]
            stack.extend(reversed(children))
        return sorted(self.findings.values(), key=lambda f: (f.line, f.col, f.rule, f.what))

    def _report(self, node: ast.AST, rule: str, what: str, why: str, ctx: _Ctx) -> None:
        if ctx.main:
            why += R.MAIN_BLOCK
        line, col = getattr(node, "lineno", 1), getattr(node, "col_offset", 0) + 1
        self.findings.setdefault((line, rule, what), Finding(line, col, rule, what, why))

    def _visit(self, node, parent, ctx):
        """Check ``node``; return the children to walk, each with its parent and context
        (None: every child, with this node and context)."""
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            self._import(node, ctx)
            return []
        if isinstance(node, ast.Name):
            self._name(node, parent, ctx)
            return []
        if isinstance(node, ast.Attribute):
            return self._attribute(node, parent, ctx)
        if isinstance(node, _FUNCTIONS + (ast.Lambda,)):
            return self._function(node, ctx)
        if isinstance(node, ast.ClassDef):
            return self._class(node, ctx)
        if isinstance(node, ast.If) and parent is self.tree and _is_main_guard(node):
            return [(node.test, node, ctx)] + [(s, node, replace(ctx, main=True)) for s in node.body] \
                + [(s, node, ctx) for s in node.orelse]
        if isinstance(node, ast.AnnAssign):
            return [(node.target, node, ctx), (node.annotation, node, replace(ctx, annotation=True))] \
                + ([(node.value, node, ctx)] if node.value is not None else [])
        if isinstance(node, ast.Call):
            self._call(node, parent, ctx)
        elif isinstance(node, ast.Subscript) and not isinstance(node.ctx, ast.Load):
            self._store(node, ctx, subscript=True)
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            for name in node.names:
                self._bind(name, node, ctx)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            self._bind(node.name, node, ctx)
        elif isinstance(node, (ast.MatchAs, ast.MatchStar)) and node.name:
            self._bind(node.name, node, ctx)
        elif isinstance(node, ast.MatchMapping) and node.rest:
            self._bind(node.rest, node, ctx)
        elif isinstance(node, ast.MatchClass):
            for attr in node.kwd_attrs:
                self._attribute_name(attr, node, ctx, text=attr)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            self._string(node.value, node, ctx)
        elif isinstance(node, (ast.BinOp, ast.JoinedStr)) and not isinstance(parent, (ast.BinOp, ast.JoinedStr)):
            try:
                folded = _const_str(node)
            except RecursionError:
                folded = None
            if folded is not None:
                self._string(folded, node, ctx)
        elif isinstance(node, (ast.BoolOp, ast.Tuple)):
            self._parents[id(node)] = parent
        return None

    # -- resolution ----------------------------------------------------------------------
    def _path_of(self, node: ast.AST, ctx: _Ctx) -> str | None:
        return self.names.path(node, ctx.scope)

    def _meaning(self, node, parent, ctx, text: str, path: str | None = None, *,
                 as_value: bool = True) -> bool:
        """Check what ``node`` resolves to; True when refused. ``as_value``: the node is an
        expression whose value is used (not an import statement)."""
        path = path if path is not None else self._path_of(node, ctx)
        judged = self.names.judge(path) if path else None
        if judged is None:
            return False
        kind, name, reason = judged
        if kind == "bad-module":
            why = R.BECAUSE.format(reason=reason) if reason else R.ALLOWED_LIST.format(modules=_allowed())
            self._report(node, "module", R.MODULE_LINK.format(module=name, text=text), why, ctx)
            return True
        if kind == "denied":
            self._report(node, "denied", R.DENIED.format(reason=name, text=text), "", ctx)
            return True
        if as_value and isinstance(getattr(node, "ctx", ast.Load()), ast.Load) \
                and not self._module_value_ok(node, parent, ctx):
            self._report(node, "module-value", R.MODULE_VALUE.format(text=text), R.USE_ITS_FUNCTIONS, ctx)
            return True
        return False

    def _module_value_ok(self, node, parent, ctx) -> bool:
        if isinstance(parent, ast.Attribute) and parent.value is node:
            return True
        if isinstance(parent, ast.Call) and isinstance(parent.func, ast.Name) \
                and parent.func.id in ("getattr", "hasattr", "dir") and parent.args and parent.args[0] is node:
            return True
        if isinstance(parent, ast.Compare):  # `==`, `<`, `in` hand the module to the other side's method
            return all(isinstance(op, (ast.Is, ast.IsNot)) for op in parent.ops)
        if isinstance(parent, ast.Expr) or (isinstance(parent, _TESTS) and parent.test is node):
            return True
        if isinstance(parent, ast.UnaryOp) and isinstance(parent.op, ast.Not):
            return True
        if isinstance(parent, ast.BoolOp):
            grand = self._parents.get(id(parent))
            return isinstance(grand, _TESTS) and grand.test is parent
        if isinstance(parent, (ast.Assign, ast.AnnAssign)) and parent.value is node:
            return self._single_alias(parent, ctx)
        return False

    def _single_alias(self, stmt, ctx) -> bool:
        """``la = np.linalg``: fine when ``la`` is bound nowhere else in its scope, so that
        every use of it resolves to the module (and an assignment through it is caught)."""
        targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
        if len(targets) != 1 or not isinstance(targets[0], ast.Name) or ctx.class_body:
            return False
        name = targets[0].id
        if ctx.function is None:
            return len(self.names.bindings.get(name, ())) == 1 and name not in self._globals
        stores = [n for n in ast.walk(ctx.function) if isinstance(n, ast.Name) and n.id == name
                  and not isinstance(n.ctx, ast.Load)]
        others = [n for n in ast.walk(ctx.function) if (isinstance(n, ast.arg) and n.arg == name)
                  or (isinstance(n, (ast.Global, ast.Nonlocal)) and name in n.names)]
        return len(stores) == 1 and not others

    # -- imports -------------------------------------------------------------------------
    def _import(self, node, ctx) -> None:
        if isinstance(node, ast.Import):
            for alias in node.names:
                self._bind(alias.asname or alias.name.split(".")[0], node, ctx)
                self._module_allowed(alias.name, node, ctx)
            return
        if node.module == "__future__":
            for alias in node.names:
                self._bind(alias.asname or alias.name, node, ctx)
            return
        module = self._absolute(node)
        if module is None:
            self._report(node, "import", R.RELATIVE.format(text="." * node.level + (node.module or "")),
                         "", ctx)
            return
        if module and not self._module_allowed(module, node, ctx):
            return
        for alias in node.names:
            if alias.name == "*":
                continue
            self._bind(alias.asname or alias.name, node, ctx)
            path = f"{module}.{alias.name}" if module else alias.name
            if not module or path in self.learner.sources:  # `from . import helpers`, `from pkg import sub`
                self._module_allowed(path, node, ctx)
            elif not self._attribute_name(alias.name, node, ctx, text=path):
                self._meaning(node, None, ctx, path, path=self.names.canonical(path), as_value=False)

    def _absolute(self, node: ast.ImportFrom) -> str | None:
        if not node.level:
            return node.module
        base = self.package.split(".") if self.package else []
        if node.level - 1 > len(base):
            return None
        base = base[:len(base) - (node.level - 1)]
        return ".".join(base + ([node.module] if node.module else []))

    def _module_allowed(self, name: str, node, ctx) -> bool:
        top = name.split(".")[0]
        if name in self.learner.names:
            parts = name.split(".")  # importing pkg.helpers runs pkg/__init__.py too
            self.imports += [(".".join(parts[:i]), node.lineno, node.col_offset + 1)
                             for i in range(1, len(parts) + 1) if ".".join(parts[:i]) in self.learner.sources]
            return True
        if top in self.learner.names:
            why = R.NOT_IN_SUBMISSION.format(file=name.replace(".", "/") + ".py", modules=_allowed())
        elif top in R.ALLOWED_TOP:
            if libs.module_allowed(name):
                return True
            reason = libs.denial(name)
            why = R.BECAUSE.format(reason=reason) if reason else R.ALLOWED_LIST.format(modules=_allowed())
        elif libs.library_named(top):
            action = R.IMPORT_ACTIONS.get(top)
            what = R.IMPORT_ACTION.format(action=action, module=name) if action else R.IMPORT.format(module=name)
            self._report(node, "import", what, R.ALLOWED_LIST.format(modules=_allowed()), ctx)
            return False
        else:
            why = R.NOT_IN_SUBMISSION.format(file=name.replace(".", "/") + ".py", modules=_allowed())
        self._report(node, "import", R.IMPORT.format(module=name), why, ctx)
        return False

    # -- names ---------------------------------------------------------------------------
    def _bind(self, name: str, node, ctx: _Ctx, *, definition: bool = False) -> None:
        """A name the file binds (assignment, def, class, parameter, import alias, ...)."""
        if name in R.NAME_REASONS or name in R.SPECIAL_BUILTINS:
            self._report(node, "builtin", R.NAME.format(reason=R.NAME_REASONS.get(
                name, R.REBIND), name=name), "", ctx)
        elif _dunder(name):
            if name in R.PROTOCOL_OVERRIDES:
                self._report(node, "protocol", R.PROTOCOL.format(name=name), R.PROTOCOL_WHY, ctx)
            elif not (ctx.class_body or (ctx.module_level and not definition and name in R.MODULE_DUNDERS)):
                self._report(node, "dunder", R.DUNDER_NAME.format(name=name), R.DUNDER_NAME_WHY, ctx)
        elif name.startswith(R.RESERVED_PREFIX):
            self._report(node, "reserved", R.RESERVED.format(name=name), R.RESERVED_WHY, ctx)

    def _name(self, node: ast.Name, parent, ctx: _Ctx) -> None:
        name = node.id
        if not isinstance(node.ctx, ast.Load):
            self._bind(name, node, ctx)
        elif name in R.NAME_REASONS:
            self._report(node, "builtin", R.NAME.format(reason=R.NAME_REASONS[name], name=name), "", ctx)
        elif name == "getattr":
            if not (isinstance(parent, ast.Call) and parent.func is node):
                self._report(node, "getattr", R.GETATTR_VALUE, R.WRITE_IT_OUT, ctx)
        elif name == "type":
            if not self._type_ok(node, parent, ctx):
                self._report(node, "type", R.TYPE_VALUE, R.WRITE_A_CLASS, ctx)
        elif _dunder(name):
            if name not in R.DUNDER_LOADS:
                self._report(node, "dunder", R.DUNDER_NAME.format(name=name), R.DUNDER_NAME_WHY, ctx)
        elif name.startswith(R.RESERVED_PREFIX):
            self._report(node, "reserved", R.RESERVED.format(name=name), R.RESERVED_WHY, ctx)
        else:
            self._meaning(node, parent, ctx, name)

    def _type_ok(self, node, parent, ctx) -> bool:
        if ctx.annotation or (isinstance(parent, ast.Subscript) and parent.value is node):
            return True
        if isinstance(parent, ast.Call) and parent.func is node:
            return True  # the call itself is checked in _call
        if isinstance(parent, ast.Tuple):
            parent = self._parents.get(id(parent), parent)
        return isinstance(parent, ast.Call) and isinstance(parent.func, ast.Name) \
            and parent.func.id in ("isinstance", "issubclass")

    def _string(self, value: str, node, ctx) -> None:
        if value in R.SPELLED_INTERNALS:
            self._report(node, "string", R.SPELLED.format(text=repr(value)), R.SPELLED_WHY, ctx)

    # -- attributes ----------------------------------------------------------------------
    def _attribute_name(self, attr: str, node, ctx, *, text: str, own: bool = False,
                        store: bool = False) -> bool:
        """The spelling rules for an attribute name; True when refused."""
        if _dunder(attr):
            if attr in (R.SAFE_DUNDER_STORES if store else R.SAFE_DUNDERS):
                return False
            self._report(node, "dunder", R.DUNDER.format(text=text),
                         R.DUNDER_INSTEAD.get(attr, R.DUNDER_WHY), ctx)
        elif attr.startswith("_"):
            if own:
                return False
            self._report(node, "private", R.PRIVATE.format(text=text), R.PRIVATE_WHY, ctx)
        elif attr in R.INTERNALS or attr.startswith(R.INTERNALS_PREFIX):
            self._report(node, "internals", R.INTERNAL_ATTRIBUTE.format(text=text), "", ctx)
        elif attr in R.ATTRIBUTE_REASONS:
            reason = R.ATTRIBUTE_REASONS[attr]
            self._report(node, "dangerous-name", R.DANGEROUS.format(reason=reason, text=text), "", ctx)
        else:
            return False
        return True

    def _attribute(self, node: ast.Attribute, parent, ctx):
        links, root = [], node
        while isinstance(root, ast.Attribute):
            links.append(root)
            root = root.value
        links.reverse()
        walk_root = [(root, links[0], ctx)]
        own = isinstance(root, ast.Name) and root.id in ctx.selves
        stored = not isinstance(node.ctx, ast.Load)
        for i, link in enumerate(links):
            if self._attribute_name(link.attr, link, ctx, text=_text(link), own=own and i == 0,
                                    store=stored and link is node):
                return walk_root
        path = self._path_of(root, ctx) if isinstance(root, (ast.Name, ast.Call, ast.Subscript)) else None
        usable = path and not path.startswith("builtins.")
        if usable and (self.names.judge(path) or ("module",))[0] == "module":  # a bad root is reported as such
            for i, link in enumerate(links):
                path = self.names.canonical(f"{path}.{link.attr}")
                outer = links[i + 1] if i + 1 < len(links) else parent
                if self._meaning(link, outer, ctx, _text(link), path=path):
                    return walk_root
        if stored:
            self._store(node, ctx)
        return walk_root

    def _store(self, node, ctx, subscript: bool = False) -> None:
        """Assigning or deleting ``a.b`` or ``a[i]``: only on the learner's own variables."""
        root = node.value
        while isinstance(root, (ast.Attribute, ast.Subscript)):
            root = root.value
        if not isinstance(root, ast.Name):
            if not subscript:
                self._report(node, "monkeypatch", R.CHANGE_UNKNOWN.format(text=_text(node.value)),
                             R.OWN_OBJECTS, ctx)
            return
        path = self._path_of(root, ctx)
        if path and not path.startswith("builtins."):
            owner = f"your module `{path.split('.')[0]}`" if self.learner.split(path) \
                else f"`{path.split('.')[0]}`"
            self._report(node, "monkeypatch", R.CHANGE_LIBRARY.format(text=_text(node), owner=owner),
                         R.OWN_OBJECTS, ctx)

    # -- calls, functions, classes -------------------------------------------------------
    def _call(self, node: ast.Call, parent, ctx) -> None:
        func = node.func
        if isinstance(func, ast.Name) and func.id == "getattr":
            self._getattr(node, parent, ctx)
        elif isinstance(func, ast.Name) and func.id == "type" and (
                len(node.args) != 1 or node.keywords or isinstance(node.args[0], ast.Starred)):
            self._report(node, "type", R.TYPE_CALL, R.WRITE_A_CLASS, ctx)
        elif isinstance(func, (ast.Name, ast.Attribute)):
            path = self._path_of(func, ctx)
            obj = libs.resolve(path) if path else None
            if libs.same(obj, R.WRAPS_PATH):
                if not (isinstance(parent, _FUNCTIONS) and node in parent.decorator_list
                        and len(node.args) == 1 and not node.keywords):
                    self._report(node, "wraps", R.WRAPS, "", ctx)
            elif libs.same(obj, R.DATALOADER_PATH) and (
                    len(node.args) > R.DATALOADER_POSITIONAL or any(k.arg is None for k in node.keywords)):
                self._report(node, "keyword", R.DATALOADER_ARGS.format(n=R.DATALOADER_POSITIONAL), "", ctx)
        for kw in node.keywords:
            if kw.arg in R.KEYWORDS:
                harmless, reason = R.KEYWORDS[kw.arg]
                value = kw.value
                if not (isinstance(value, ast.Constant) and type(value.value) in (bool, int, type(None))
                        and any(value.value == h and (value.value is None) == (h is None) for h in harmless)):
                    self._report(kw, "keyword", R.KEYWORD.format(reason=reason, keyword=kw.arg,
                                                                value=_text(value)), "", ctx)
        if isinstance(func, ast.Attribute) and func.attr in ("format", "format_map") \
                and isinstance(func.value, ast.Constant) and isinstance(func.value.value, str):
            self._format_fields(func.value.value, node, ctx)

    def _getattr(self, node: ast.Call, parent, ctx) -> None:
        args = node.args
        name = _const_str(args[1]) if len(args) in (2, 3) and not node.keywords \
            and not any(isinstance(a, ast.Starred) for a in args) else None
        if name is None:
            self._report(node, "getattr", R.GETATTR_COMPUTED.format(text=_text(node)), R.WRITE_IT_OUT, ctx)
            return
        own = isinstance(args[0], ast.Name) and args[0].id in ctx.selves
        if not self._attribute_name(name, node, ctx, text=_text(node), own=own):
            self._meaning(node, parent, ctx, _text(node))

    def _format_fields(self, text: str, node, ctx) -> None:
        try:
            fields = [f for _, f, _, _ in string.Formatter().parse(text) if f]
        except (ValueError, TypeError):
            return
        for field_name in fields:
            for attr in _FIELD_ATTRIBUTE.findall(field_name):
                if self._attribute_name(attr, node, ctx, text=field_name):
                    return

    def _function(self, node, ctx):
        args = node.args
        params = [a for a in args.posonlyargs + args.args + args.kwonlyargs] \
            + [a for a in (args.vararg, args.kwarg) if a is not None]
        outer = ctx
        children = []
        if not isinstance(node, ast.Lambda):
            self._bind(node.name, node, ctx, definition=True)
            children += [(d, node, ctx) for d in node.decorator_list]
            if node.returns is not None:
                children.append((node.returns, node, replace(ctx, annotation=True)))
        for a in params:
            self._bind(a.arg, a, ctx)
            if a.annotation is not None:
                children.append((a.annotation, node, replace(outer, annotation=True)))
        children += [(d, node, ctx) for d in args.defaults + [d for d in args.kw_defaults if d is not None]]
        selves = ctx.selves - {a.arg for a in params}
        positional = args.posonlyargs + args.args
        if ctx.class_body and positional and not isinstance(node, ast.Lambda) and not any(
                isinstance(d, ast.Name) and d.id == "staticmethod" for d in node.decorator_list):
            first = positional[0].arg
            if not any(isinstance(n, ast.Name) and n.id == first and not isinstance(n.ctx, ast.Load)
                       for n in ast.walk(node)) and first not in self._globals:
                selves = selves | {first}
        inner = replace(ctx, scope=self.names.function_scope(node, ctx.scope), function=node, selves=selves,
                        module_level=False, class_body=False, annotation=False)
        body = node.body if isinstance(node.body, list) else [node.body]
        return children + [(stmt, node, inner) for stmt in body]

    def _class(self, node: ast.ClassDef, ctx):
        self._bind(node.name, node, ctx, definition=True)
        for kw in node.keywords:
            if kw.arg == "metaclass" and self._path_of(kw.value, ctx) not in R.ALLOWED_METACLASSES:
                self._report(kw, "metaclass", R.METACLASS.format(text=_text(kw.value)), R.WRITE_A_CLASS, ctx)
        for base in node.bases:
            path = self._path_of(base, ctx)
            obj = libs.resolve(path) if path else None
            if path == "builtins.type" or (isinstance(obj, type) and issubclass(obj, type)):
                self._report(base, "metaclass", R.TYPE_SUBCLASS.format(text=_text(base)), R.WRITE_A_CLASS, ctx)
        # A class body reads its own names, else the enclosing function's, else the module's;
        # taking the latter for all of them is stricter, never looser (`np.x = 1; np = 5`).
        inner = replace(ctx, selves=frozenset(), module_level=False, class_body=True)
        return [(child, node, ctx) for child in node.bases + node.keywords + node.decorator_list] \
            + [(stmt, node, inner) for stmt in node.body]


# -- small helpers --------------------------------------------------------------------------
def _dunder(name: str) -> bool:
    return len(name) > 4 and name.startswith("__") and name.endswith("__")


def _is_main_guard(stmt: ast.stmt) -> bool:
    test = getattr(stmt, "test", None)
    return isinstance(stmt, ast.If) and isinstance(test, ast.Compare) and isinstance(test.left, ast.Name) \
        and test.left.id == "__name__" and len(test.ops) == 1 and isinstance(test.ops[0], ast.Eq) \
        and isinstance(test.comparators[0], ast.Constant) and test.comparators[0].value == "__main__"


def _text(node: ast.AST, limit: int = 60) -> str:
    """A short rendering of an expression for a message: `np.lib.npyio`, `(...).sys`."""
    parts, cur = [], node
    while isinstance(cur, ast.Attribute):
        parts.append(cur.attr)
        cur = cur.value
    if isinstance(cur, ast.Name):
        parts.append(cur.id)
    elif parts:
        parts.append("(...)")
    if parts:
        text = ".".join(reversed(parts))
    else:
        try:
            text = ast.unparse(node) if _small(node) else "..."
        except (ValueError, RecursionError):
            text = "..."
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _small(node: ast.AST) -> bool:
    count = 0
    for _ in ast.walk(node):
        count += 1
        if count > 40:
            return False
    return True


def _allowed() -> str:
    return ", ".join(m for m in R.ALLOWED_TOP if m != "__future__")

