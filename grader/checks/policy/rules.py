"""What the static policy allows in a learner's files, and what it says when it refuses.

The tables behind ``grader.policy``: which modules may be imported, which names, attributes,
library functions and keyword arguments are refused and why. Each reason is the phrase the
learner reads ("ex06_vectorize.py line 12: starting a thread (`import threading`) is not
allowed in these exercises ..."), so the tables double as the policy's documentation.
"""

from __future__ import annotations

# -- messages --------------------------------------------------------------------------------
REFUSED = "{where}: {what} is not allowed in these exercises{why}"
WHERE = "{file} line {line}"
WHERE_CELL = "{notebook}, {cell} line {line}"
MAIN_BLOCK = (" (your `if __name__ == \"__main__\":` block is checked too: keep experiments in a file"
              " you do not hand in)")

IMPORT = "importing `{module}`"
IMPORT_ACTION = "{action} (`import {module}`)"
ALLOWED_LIST = " (allowed: {modules} and your own modules)"
NOT_IN_SUBMISSION = " (there is no {file} in your submission; allowed: {modules} and your own modules)"
BECAUSE = ": {reason}"
NAME = "{reason} (`{name}`)"
REBIND = "re-binding a built-in"
GETATTR_COMPUTED = "`getattr` with a name computed at run time (`{text}`)"
GETATTR_VALUE = "using `getattr` other than as `getattr(obj, \"name\")`"
WRITE_IT_OUT = " (write the attribute out, e.g. `obj.name`, so the grader can read it)"
TYPE_CALL = "creating a class with `type(name, bases, namespace)`"
TYPE_VALUE = "using `type` other than as `type(x)`"
WRITE_A_CLASS = " (write a `class` statement)"
PRIVATE = "reaching the private attribute `{text}`"
PRIVATE_WHY = " (names that start with `_` are a library's internals; `self._...` in your own classes is fine)"
DUNDER = "reaching `{text}`"
DUNDER_WHY = " (double-underscore attributes expose the interpreter's internals)"
DUNDER_INSTEAD = {"__class__": " (write `type(x)` instead)"}
INTERNAL_ATTRIBUTE = "reading interpreter internals (`{text}`)"
DANGEROUS = "{reason} (`{text}`)"
MODULE_LINK = "reaching the module `{module}` through `{text}`"
DENIED = "{reason} (`{text}`)"
CHANGE_LIBRARY = "changing `{text}` (it belongs to {owner})"
CHANGE_UNKNOWN = "changing an attribute of `{text}`"
OWN_OBJECTS = " (change attributes of your own variables only, e.g. `self.x = ...`)"
MODULE_VALUE = "using the module `{text}` as a value"
USE_ITS_FUNCTIONS = " (call its functions directly, e.g. `np.sum(x)`)"
DUNDER_NAME = "using the name `{name}`"
DUNDER_NAME_WHY = " (double-underscore names belong to the interpreter)"
RESERVED = "the name `{name}`"
RESERVED_WHY = " (names that start with `_grader` belong to the grader)"
KEYWORD = "{reason} (`{keyword}={value}`)"
PROTOCOL = "defining `{name}` in a class"
PROTOCOL_WHY = " (it changes how NumPy or PyTorch treat your objects, which the grader relies on)"
METACLASS = "a custom metaclass (`{text}`)"
TYPE_SUBCLASS = "a subclass of `type` (`{text}`)"
SPELLED = "the string {text}"
SPELLED_WHY = " (it names an interpreter internal)"
WRAPS = "`functools.wraps` other than as a decorator of your own function"
DATALOADER_ARGS = ("starting worker processes (`DataLoader` arguments the grader cannot read: `**` or more"
                   " than {n} positional)")
SHADOWS = "naming a file `{file}`"
SHADOWS_WHY = ": it hides the module `{module}` of the same name; rename the file"
REFUSED_MODULE = "importing your module `{module}`"
REFUSED_MODULE_WHY = " (it is refused itself; see {file} line {line})"
RELATIVE = "a relative import that leaves your submission (`{text}`)"
ENCODING = "a source file declared as `{encoding}`"
SAVE_AS_UTF8 = " (save it as UTF-8)"
NOT_UTF8 = "a source file that is not valid UTF-8"
NULL_BYTE = "a null byte in the source"
TOO_LARGE = "a source file over {limit} MiB"
TOO_MANY = "more than {n} Python files in one submission"
TOO_DEEP = "code nested too deeply to check"
NOT_A_FILE = "a link or special file in the submission"
UNCHECKABLE = "code the grader cannot check ({error})"

# -- modules ---------------------------------------------------------------------------------
# What learner code may import: one list, shared with the worker's run-time lock.
from grader.allowlist import ALLOWED_MODULES, ALLOWED_PREFIXES, ALLOWED_TOP, DENIED_MODULES  # noqa: E402,F401

# A phrase for the imports learners try most, in place of "importing `x`".
IMPORT_ACTIONS = {
    **dict.fromkeys(("threading", "_thread", "concurrent"), "starting a thread"),
    **dict.fromkeys(("subprocess", "multiprocessing", "pty", "asyncio"), "starting a process"),
    **dict.fromkeys(("os", "posix", "nt", "shutil", "pathlib", "tempfile", "io", "glob", "mmap",
                     "fcntl"), "using files and processes"),
    **dict.fromkeys(("sys", "gc", "inspect", "builtins", "ctypes", "importlib", "runpy", "pkgutil",
                     "code", "codeop", "dis", "types", "traceback", "linecache", "pdb", "bdb",
                     "faulthandler", "tracemalloc", "atexit", "weakref"),
                    "reaching the interpreter's internals"),
    **dict.fromkeys(("pickle", "copyreg", "shelve", "marshal", "dill"), "unpickling data"),
    **dict.fromkeys(("socket", "ssl", "http", "urllib", "requests"), "using the network"),
    "signal": "handling signals",
}

# Names the worker or the grader itself answers to: a learner file must not be called so,
# whatever the grader's own environment says (the worker imports `codec` from its own folder).
RESERVED_MODULES = frozenset({"codec", "worker", "grader", "exercises", "solutions", "__main__"})

# -- names -----------------------------------------------------------------------------------
# Built-in names refused wherever they appear (loaded, assigned, as a parameter or an import
# alias), so that e.g. a learner's `compile = ...` cannot hijack the notebook prelude either.
# Not here: memoryview (a bounds-checked view; harmful only with a file or pipe to write to,
# which is refused elsewhere), dir and hasattr (they return names and booleans, never objects).
NAME_REASONS = {
    **dict.fromkeys(("eval", "exec", "compile"), "running code from a string"),
    "__import__": "importing a module by name",
    **dict.fromkeys(("globals", "locals", "vars"), "looking names up in a namespace dictionary"),
    "open": "opening files",
    "breakpoint": "starting the debugger",
    "input": "reading from the keyboard",
    **dict.fromkeys(("setattr", "delattr"), "changing attributes by a name computed at run time"),
    "help": "starting the help system",
    **dict.fromkeys(("exit", "quit"), "ending the process"),
    "id": "reading object addresses",
}
# getattr and type are allowed in one form each (checked where they are called); rebinding
# them is refused like the names above.
SPECIAL_BUILTINS = frozenset({"getattr", "type"})
DUNDER_LOADS = frozenset({"__name__", "__doc__", "__debug__"})  # `if __name__ == "__main__":`
MODULE_DUNDERS = frozenset({"__all__", "__version__", "__author__", "__doc__"})  # assignable at top
RESERVED_PREFIX = "_grader"

# -- attributes ------------------------------------------------------------------------------
# Double-underscore attributes that read plain data or call a protocol method; every other
# one (__class__, __dict__, __globals__, __code__, __subclasses__, __self__, __builtins__, ...)
# is refused. Assignable: only the three a hand-written decorator copies.
SAFE_DUNDERS = frozenset("""
    __init__ __name__ __qualname__ __doc__ __module__ __version__ __all__ __index__ __int__
    __float__ __complex__ __bool__ __len__ __iter__ __next__ __contains__ __getitem__ __setitem__
    __array__ __eq__ __ne__ __lt__ __le__ __gt__ __ge__ __hash__ __add__ __radd__ __iadd__
    __sub__ __rsub__ __isub__ __mul__ __rmul__ __imul__ __truediv__ __rtruediv__ __itruediv__
    __floordiv__ __rfloordiv__ __mod__ __rmod__ __pow__ __rpow__ __neg__ __pos__ __abs__
    __matmul__ __rmatmul__ __and__ __or__ __xor__ __invert__ __lshift__ __rshift__ __round__
    __trunc__ __floor__ __ceil__ __call__ __repr__ __str__ __format__ __enter__ __exit__
    __copy__ __post_init__
""".split())
SAFE_DUNDER_STORES = frozenset({"__doc__", "__name__", "__qualname__"})

# Frame, traceback, generator, coroutine, code and cell attributes (the data model's
# "internal types"): from any of them the worker's frames and globals are a step away.
INTERNALS = frozenset("""
    f_back f_builtins f_code f_globals f_lasti f_lineno f_locals f_trace f_trace_lines
    f_trace_opcodes f_generator tb_frame tb_lasti tb_lineno tb_next gi_code gi_frame gi_running
    gi_yieldfrom gi_suspended cr_await cr_code cr_frame cr_origin cr_running cr_suspended
    ag_await ag_code ag_frame ag_running cell_contents func_closure func_code func_globals
    func_defaults im_func im_self im_class
""".split())
INTERNALS_PREFIX = "co_"  # co_code, co_consts, co_names, co_filename, ...

# Attribute names refused on any object, resolvable or not: modules that are no allowed
# module's business, and the library functions below whose names say what they do. A learner
# object with such an attribute (self.load) is the price of catching `x.load` where x holds
# numpy in a way no static reading can follow.
MODULE_NAMES = frozenset("""
    sys os builtins inspect importlib subprocess ctypes ctypeslib gc threading multiprocessing
    pickle marshal io shutil tempfile pathlib socket signal mmap fcntl posix runpy pkgutil
    zipimport unittest traceback linecache atexit faulthandler tracemalloc pdb bdb asyncio
    concurrent codeop dis operator copyreg f2py distutils cpp_extension npyio datapipes
    collect_env model_zoo hub jit fx distributed profiler serialization overrides testing onnx
""".split())
_FUNCTION_REASONS = {
    **dict.fromkeys(("load", "loads", "loadtxt", "genfromtxt", "fromfile", "fromregex", "from_file",
                     "fromtextfile", "openfile", "memmap", "open_memmap"), "reading files or unpickling data"),
    **dict.fromkeys(("save", "savez", "savez_compressed", "savetxt", "tofile", "dump", "dumps"),
                    "writing files or pickles"),
    **dict.fromkeys(("add_newdoc", "add_docstring", "import_module"), "importing a module by name"),
    **dict.fromkeys(("get_type_hints", "singledispatch", "singledispatchmethod"),
                    "evaluating annotations as code"),
    "update_wrapper": "copying attributes onto another object",
    "make_dataclass": "building a class from run-time data",
    **dict.fromkeys(("load_library", "load_inline"), "loading native code"),
    "compile": "compiling code",
    **dict.fromkeys(("system", "popen", "fork", "forkpty", "setsid", "spawnv", "spawnl", "execv",
                     "execve", "kill", "killpg"), "starting or signalling processes"),
    **dict.fromkeys(("settrace", "setprofile", "currentframe", "get_objects", "get_referrers",
                     "get_referents"), "reaching the interpreter's internals"),
    "obj": "reading the object behind an AttributeError",
}
ATTRIBUTE_REASONS = {**dict.fromkeys(MODULE_NAMES, "reaching a module that is not allowed"), **_FUNCTION_REASONS}

# Library objects refused by identity (resolved in the installed libraries, so that
# np.save, numpy.lib.npyio.save and an alias all hit the same entry).
DENIED_OBJECTS = {
    **dict.fromkeys(("numpy.load", "numpy.loadtxt", "numpy.genfromtxt", "numpy.fromfile",
                     "numpy.fromregex", "numpy.rec.fromfile"), "reading files or unpickling data"),
    **dict.fromkeys(("numpy.save", "numpy.savez", "numpy.savez_compressed", "numpy.savetxt",
                     "numpy.ndarray.tofile", "numpy.ndarray.dump", "numpy.ndarray.dumps"),
                    "writing files or pickles"),
    "numpy.memmap": "mapping files into memory",
    **dict.fromkeys(("numpy.lib.add_newdoc", "numpy.lib.add_docstring"), "importing a module by name"),
    **dict.fromkeys(("torch.load", "torch.from_file", "torch.UntypedStorage.from_file",
                     "torch.TypedStorage.from_file"), "reading files or unpickling data"),
    "torch.save": "writing files or pickles",
    **dict.fromkeys(("torch.compile", "torch.cond"), "compiling code"),
    **dict.fromkeys(("torch.ops", "torch.classes"), "loading native code"),
    **dict.fromkeys(("torch.utils.data.IterDataPipe", "torch.utils.data.MapDataPipe",
                     "torch.utils.data.DFIterDataPipe", "torch.utils.data.DataChunk",
                     "torch.utils.data.functional_datapipe"), "reading and writing files (data pipes)"),
    **dict.fromkeys(("typing.get_type_hints", "functools.singledispatch",
                     "functools.singledispatchmethod"), "evaluating annotations as code"),
    "functools.update_wrapper": "copying attributes onto another object",
    "dataclasses.make_dataclass": "building a class from run-time data",
}
DATALOADER_PATH = "torch.utils.data.DataLoader"
DATALOADER_POSITIONAL = 5  # dataset, batch_size, shuffle, sampler, batch_sampler; then num_workers
WRAPS_PATH = "functools.wraps"
ALLOWED_METACLASSES = frozenset({"abc.ABCMeta", "enum.EnumMeta", "enum.EnumType"})

# Keyword arguments refused on any call unless given one of the harmless literal values.
KEYWORDS = {
    "allow_pickle": ((False,), "unpickling data"),
    "weights_only": ((True,), "unpickling data"),
    "pickle_module": ((), "unpickling data"),
    "mmap": ((None, False), "mapping files into memory"),
    "num_workers": ((0,), "starting worker processes"),
    "multiprocessing_context": ((None,), "starting worker processes"),
    "persistent_workers": ((False,), "starting worker processes"),
    "worker_init_fn": ((None,), "starting worker processes"),
    "pin_memory": ((False,), "starting a thread"),
}

# Methods a learner's class must not define: each changes how NumPy or PyTorch dispatch on the
# object or where they read its memory (np.shares_memory, which the worker's probe calls,
# dispatches through __array_function__; __array_interface__ views any address).
PROTOCOL_OVERRIDES = frozenset("""
    __array_function__ __array_ufunc__ __array_interface__ __array_struct__ __array_wrap__
    __array_prepare__ __cuda_array_interface__ __dlpack__ __dlpack_device__ __torch_function__
    __torch_dispatch__ __buffer__ __release_buffer__
""".split())
# String constants that spell one of these are refused too (type(), metaclasses, __match_args__,
# dict keys: every way to reach an attribute by a name in a string).
SPELLED_INTERNALS = PROTOCOL_OVERRIDES | INTERNALS | frozenset("""
    __globals__ __builtins__ __code__ __closure__ __class__ __bases__ __base__ __mro__
    __subclasses__ __dict__ __getattribute__ __getattr__ __setattr__ __delattr__ __import__
    __loader__ __spec__ __self__ __func__ __wrapped__ __reduce__ __reduce_ex__ __traceback__
    __defaults__ __kwdefaults__ __init_subclass__ __objclass__ __build_class__
""".split())
