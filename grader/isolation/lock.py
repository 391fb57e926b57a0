"""The worker's lock: what code running in a worker may do, enforced from inside its interpreter.

Installed by every worker (``Lock(...).install()``) before the first line of learner code runs,
and never removed: PEP 578 audit hooks cannot be taken away once added, and nothing here is
reachable from learner code (the learner's files pass the static policy first, which rules out
``sys``, ``gc``, frames, dunder attributes and the library entry points that evaluate strings).
The lock is the second layer: it holds even where that policy has a gap.

Who is asking decides. Every frame is classed by its code's file:
- *library*: the Python installation and its site-packages (read-only in the sandbox), and
  frozen modules (``<frozen importlib._bootstrap>``);
- *runtime*: this worker's own files (its private, read-only runtime folder);
- *learner*: everything else. That is the learner's files, and also code compiled at run time
  from a string (``<string>``, a made-up file name): such code is the learner's by construction.

What is refused:
- ``ALWAYS``: starting processes, signalling, new audit hooks, tracing and profiling (except the
  worker's own line counter), walking the heap or other threads' frames, unpickling classes:
  refused whoever asks.
- Any other audit event raised directly by a learner frame, unless it is in ``LEARNER_EVENTS``
  (``id()``, ``array.array``, sleeping, imports of allowed modules, reading a file of the
  submission). So ``exec``/``compile``/``sys._getframe``/reading a frame's attributes/``open`` for
  writing/``os.remove``/``ctypes`` are refused when learner code does them, while NumPy and PyTorch
  may still import lazily, and ``dataclasses`` may still generate methods.
- Library code may write files only under the worker's home and temporary folders.
- Imports: ``builtins.__import__`` is replaced, so ``import sys`` from learner code fails even
  though ``sys`` is already loaded (the ``import`` audit event fires only for a first import).
- Threads: Python 3.10 and 3.11 raise no event for a new thread, so ``_thread.start_new_thread``
  is replaced; a per-uid process limit (set by the zygote) backs this up where the grader is root.
- Memory: ``np.lib.stride_tricks.as_strided`` (which ex02's broadcasting needs) is replaced by
  one that refuses a view reaching outside its array's memory, which could otherwise read or
  write the worker's own objects.

Every refusal is recorded (``take_refusals``) even when learner code catches the exception, and
the worker reports it as the call's outcome: the learner is told what was refused, and where.
"""

from __future__ import annotations

import _thread
import builtins
import dis
import os
import sys
import threading
from types import ModuleType

ALWAYS = frozenset({
    "os.fork", "os.forkpty", "os.posix_spawn", "os.spawn", "os.exec", "os.system",
    "os.startfile", "subprocess.Popen", "os.kill", "os.killpg", "signal.pthread_kill",
    "sys.addaudithook", "sys._current_frames", "sys._current_exceptions", "sys.setprofile",
    "sys.settrace", "gc.get_objects", "gc.get_referrers", "gc.get_referents",
    "pickle.find_class", "sys.monitoring.register_callback", "sys.monitoring.use_tool_id",
    "_thread.start_new_thread",
})
ALWAYS_PREFIXES = ("socket.",)
LEARNER_EVENTS = frozenset({"builtins.id", "array.__new__", "time.sleep", "import", "open"})
WRITE_EVENTS = frozenset({
    "os.mkdir", "os.remove", "os.rename", "os.rmdir", "os.chmod", "os.chown", "os.link",
    "os.symlink", "os.truncate", "os.utime", "os.chflags", "shutil.rmtree", "shutil.move",
    "shutil.copyfile", "shutil.copymode", "shutil.copystat", "shutil.copytree",
})
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_TRUNC

LIBRARY, RUNTIME, LEARNER = "library", "runtime", "learner"

# What the learner is told, by event (the worker adds the file and line of the learner's frame).
REFUSED = "{what} is not allowed in these exercises"
WHAT = {
    "as_strided": "a view reaching outside its array's memory",
    "os.fork": "starting a process", "os.forkpty": "starting a process",
    "os.posix_spawn": "starting a process", "os.spawn": "starting a process",
    "os.exec": "starting a program", "os.system": "running a shell command",
    "subprocess.Popen": "starting a process", "_thread.start_new_thread": "starting a thread",
    "os.kill": "sending a signal", "os.killpg": "sending a signal",
    "sys.settrace": "changing the tracer", "sys.setprofile": "changing the profiler",
    "sys._getframe": "reading the call stack", "object.__getattr__": "reading interpreter internals",
    "object.__setattr__": "changing interpreter internals", "exec": "running code built at run time",
    "compile": "compiling code at run time", "open": "opening files", "import": "importing {detail}",
    "gc.get_objects": "walking the heap", "gc.get_referrers": "walking the heap",
    "gc.get_referents": "walking the heap", "pickle.find_class": "unpickling",
    "sys.addaudithook": "adding an audit hook", "ctypes.dlopen": "loading native code",
}


class Refused(PermissionError):
    """An operation the lock refused; the worker reports it, even if learner code catches it."""


class Modules:
    """Which modules learner code may import: the static policy's lists (``checks/policy/rules``,
    sent in the worker's configuration, so the fact lives in one place) and the learner's own."""

    def __init__(self, *, exact=(), prefixes=(), top=(), learner=()) -> None:
        self.exact = frozenset(exact) | frozenset(learner)
        self.prefixes = tuple(f"{p}." for p in prefixes)
        self.top = frozenset(top) | frozenset(m.split(".")[0] for m in learner)

    def allowed(self, name: str, *, strict: bool = True) -> bool:
        """``strict``: from a learner's file, where only the policy's exact list counts; code
        compiled from a string (which libraries also generate, e.g. PyTorch's module templates)
        is held to the allowed top-level packages only."""
        if not name:
            return False
        if not strict:
            return name.split(".")[0] in self.top
        return name in self.exact or name.startswith(self.prefixes)


class Lock:
    def __init__(self, *, runtime_dir: str, submission_dir: str, modules: Modules,
                 writable: tuple[str, ...] = ()) -> None:
        self.runtime_dir = os.path.realpath(runtime_dir)
        self.submission_dir = os.path.realpath(submission_dir)
        self.writable = tuple(os.path.realpath(p) for p in writable)
        self.modules = modules
        self.library_roots = LIBRARY_ROOTS
        self.refusals: list[dict] = []
        self._kinds: dict[str, str] = {}
        self._trusted_codes: set = set()
        self.installed = False

    # -- classification -------------------------------------------------------------------
    def kind(self, filename: str) -> str:
        """LIBRARY, RUNTIME or LEARNER for the file a code object says it comes from."""
        known = self._kinds.get(filename)
        if known is not None:
            return known
        if filename.startswith("<frozen "):
            kind = LIBRARY
        elif not os.path.isabs(filename):
            kind = LEARNER           # "<string>", "<stdin>", a relative made-up name
        else:
            real = os.path.realpath(filename)
            if _under(real, (self.runtime_dir,)):
                kind = RUNTIME
            elif _under(real, self.library_roots) and not _under(real, (self.submission_dir,)):
                kind = LIBRARY
            else:
                kind = LEARNER
        if len(self._kinds) < 100_000:
            self._kinds[filename] = kind
        return kind

    def is_learner(self, filename: str) -> bool:
        return self.kind(filename) == LEARNER

    # -- installing -------------------------------------------------------------------------
    def trust(self, *functions) -> None:
        """Let these functions (the worker's own) raise events in ``ALWAYS`` (the line counter's
        ``sys.settrace``). Known by their code objects, which learner code cannot reach; a
        learner's function running inside them (a ``__del__``) has a code object of its own."""
        for fn in functions:
            self._trusted_codes.add(getattr(fn, "__func__", fn).__code__)

    def install(self) -> None:
        if self.installed:
            return
        self.installed = True
        getframe = sys._getframe
        refusals = self.refusals
        kind = self.kind
        trusted = self._trusted_codes
        module_allowed = self.modules.allowed
        writable = self.writable
        submission = self.submission_dir
        busy = [False]
        importing = [None]      # the learner's frame whose import statement is being carried out
        self._importing = importing

        def refuse(event: str, frame, detail: str = "") -> None:
            where = None
            f = frame
            while f is not None:          # the innermost learner frame, for the message
                if kind(f.f_code.co_filename) == LEARNER:
                    where = (f.f_code.co_filename, f.f_lineno)
                    break
                f = f.f_back
            what = WHAT.get(event, f"the operation {event!r}").format(detail=detail)
            refusals.append({"event": event, "what": what,
                             "file": where[0] if where else None,
                             "line": where[1] if where else None})
            raise Refused(REFUSED.format(what=what))

        def hook(event: str, args: tuple) -> None:
            if busy[0]:
                return          # an event raised by this hook's own work (getframe, f_code)
            busy[0] = True
            try:
                try:
                    frame = getframe(1)
                except ValueError:      # raised from C with no Python frame above (shutdown)
                    frame = None
                if frame is not None:
                    check(event, args, frame)
                elif event in ALWAYS or event.startswith(ALWAYS_PREFIXES):
                    refuse(event, None)
            finally:
                busy[0] = False

        def check(event: str, args: tuple, frame) -> None:
            code = frame.f_code
            if event in ALWAYS or event.startswith(ALWAYS_PREFIXES):
                if code in trusted:
                    return
                refuse(event, frame)
            who = kind(code.co_filename)
            if who == LEARNER and frame is importing[0]:
                who = LIBRARY   # the import machinery's C parts, loading an allowed library
            if who == LEARNER:
                if event not in LEARNER_EVENTS:
                    refuse(event, frame)
                # "import" passes here: its nearest Python frame is the learner's also when a
                # library's C code imports lazily; the learner's own import statements go
                # through the guarded __import__ (below), which sees who wrote them.
                if event == "open" and (_writes(args) or not _under(_path(args[0]), (submission,))):
                    refuse(event, frame)
            elif who == LIBRARY:
                if event == "open" and (_reads_memory(args[0])
                                        or (_writes(args) and not _under(_path(args[0]), writable))):
                    refuse(event, frame)
                if event in WRITE_EVENTS and not all(_under(_path(a), writable) for a in args
                                                     if isinstance(a, (str, bytes))):
                    refuse(event, frame)

        sys.addaudithook(hook)
        self._guard_imports(getframe, kind, module_allowed, refuse, importing)
        self._guard_threads(getframe, refuse)
        _guard_strides(getframe, refuse)

    @staticmethod
    def _guard_imports(getframe, kind, module_allowed, refuse, importing) -> None:
        original = builtins.__import__

        def guarded_import(name, globals=None, locals=None, fromlist=(), level=0):
            frame = getframe(1)
            learner = level == 0 and kind(frame.f_code.co_filename) == LEARNER
            # An `import` statement of the learner's file is held to the policy's exact list.
            # Otherwise (a library's C code importing lazily on the learner's behalf, which
            # also lands here with the learner's frame on top; or code from a string) only the
            # allowed top-level packages count.
            strict = learner and _is_file(frame.f_code) and _imports_here(frame)
            if learner and not module_allowed(name, strict=strict):
                refuse("import", frame, f"`{name}`")
            outer, importing[0] = importing[0], frame if learner else importing[0]
            try:
                module = original(name, globals, locals, fromlist, level)
            finally:
                importing[0] = outer
            if learner:
                for item in fromlist or ():
                    value = getattr(module, item, None) if item != "*" else None
                    if isinstance(value, ModuleType) and not module_allowed(value.__name__,
                                                                            strict=strict):
                        refuse("import", frame, f"`{value.__name__}` through `{name}`")
            return module

        builtins.__import__ = guarded_import

    @staticmethod
    def _guard_threads(getframe, refuse) -> None:
        def no_threads(*args, **kwargs):
            refuse("_thread.start_new_thread", getframe(1))

        _thread.start_new_thread = no_threads
        if hasattr(_thread, "start_joinable_thread"):
            _thread.start_joinable_thread = no_threads
        for name in ("_start_new_thread", "_start_joinable_thread"):
            if hasattr(threading, name):
                setattr(threading, name, no_threads)

    def take_refusals(self) -> list[dict]:
        out = list(self.refusals)
        self.refusals.clear()
        return out


def _guard_strides(getframe, refuse) -> None:
    """``np.lib.stride_tricks.as_strided`` makes a view with any strides, unchecked: a view that
    reads or writes past its array's memory could change the worker itself. The guarded one
    refuses a view that reaches outside the memory of the array it starts from."""
    np = sys.modules.get("numpy")
    if np is None:
        return
    import numpy.lib.stride_tricks as public

    impl = sys.modules.get(public.as_strided.__module__, public)
    original = public.as_strided

    def as_strided(x, shape=None, strides=None, subok=False, writeable=True):
        view = original(x, shape, strides, subok=subok, writeable=writeable)
        if not _within(np, view):
            refuse("as_strided", getframe(1))
        return view

    as_strided.__doc__ = original.__doc__
    for module in {public, impl}:
        module.as_strided = as_strided


def _extent(array) -> tuple[int, int]:
    """The first and one-past-last byte address an array's elements occupy."""
    start = array.__array_interface__["data"][0]
    if array.size == 0:
        return start, start
    low = sum(min(0, (n - 1) * s) for n, s in zip(array.shape, array.strides))
    high = sum(max(0, (n - 1) * s) for n, s in zip(array.shape, array.strides))
    return start + low, start + high + array.itemsize


def _within(np, view) -> bool:
    """Whether ``view`` lies inside the memory of the last array down its chain of bases (the
    array that owns the memory, or wraps a buffer): every view made here was checked against
    its own root, so a chain of views stays inside the first one's memory."""
    if view.size == 0:
        return True
    root, base = view, view.base
    while base is not None:
        if isinstance(base, np.ndarray):
            root = base
        base = getattr(base, "base", None)
    low, high = _extent(view)
    root_low, root_high = _extent(root)
    return root_low <= low and high <= root_high


def _library_roots() -> tuple[str, ...]:
    import site
    import sysconfig

    roots = set()
    for key in ("stdlib", "platstdlib", "purelib", "platlib"):
        path = sysconfig.get_paths().get(key)
        if path:
            roots.add(path)
    try:
        roots.update(site.getsitepackages())
    except AttributeError:
        pass
    for path in list(roots):
        roots.add(os.path.realpath(path))
    return tuple(sorted(p for p in roots if p and p != "/"))


_IMPORT_NAME = dis.opmap["IMPORT_NAME"]


def _imports_here(frame) -> bool:
    """Whether ``frame`` is executing an ``import`` statement (not a call that imports)."""
    code = frame.f_code.co_code
    return 0 <= frame.f_lasti < len(code) and code[frame.f_lasti] == _IMPORT_NAME


def _is_file(code) -> bool:
    """Whether ``code`` comes from a file (the learner's) rather than from a string."""
    return os.path.isabs(code.co_filename)


def _under(path: str, roots) -> bool:
    return any(path == r or path.startswith(r + os.sep) for r in roots)


def _path(value) -> str:
    if isinstance(value, int):
        return ""
    try:
        return os.path.realpath(os.fsdecode(value))
    except (TypeError, ValueError):
        return ""


def _writes(args: tuple) -> bool:
    mode = args[1] if len(args) > 1 else None
    flags = args[2] if len(args) > 2 else 0
    if isinstance(mode, str):
        return any(c in mode for c in "wax+")
    return isinstance(flags, int) and bool(flags & _WRITE_FLAGS)


def _reads_memory(path) -> bool:
    real = _path(path)
    return real.startswith("/proc/") and os.path.basename(real) == "mem"


LIBRARY_ROOTS = _library_roots()     # worked out in the zygote, before any worker drops its rights
