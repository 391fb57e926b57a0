"""What learner code may import: the modules the exercises need, and why others are refused.

One list for both layers that hold learner code to it: the static policy reads every file
before anything runs (``checks/policy``), and the worker's lock refuses the same imports at run
time (``isolation/lock.py``, which gets these lists in its configuration). Standard library
only, no imports.
"""

# What `import` may name at the top: the list. A learner's own module shipped in the
# submission is allowed too (and checked by the same rules).
ALLOWED_TOP = ("numpy", "torch", "math", "cmath", "typing", "collections", "functools", "itertools",
               "dataclasses", "__future__", "abc", "enum", "numbers", "random", "statistics")

# Every module an allowed expression may reach, by its real ``__name__``: these exact names,
# and everything below a prefix. An allowlist rather than "all of numpy and
# torch but a denylist": torch alone has ~50 public subpackages, and torch.utils.collect_env.run
# runs a shell command, torch.utils.show_pickle unpickles, torch.backends.xeon.run_cpu launches
# processes, torch.nn.attention.flex_attention compiles in worker processes. What a learner of
# these exercises plausibly uses is listed instead; the rest is refused with DENIED_MODULES'
# reason when there is one.
ALLOWED_MODULES = frozenset("""
    math cmath typing collections collections.abc functools itertools dataclasses __future__ abc
    enum numbers random statistics
    numpy numpy.linalg numpy.fft numpy.typing numpy.lib numpy.lib.stride_tricks numpy.lib.mixins
    numpy.lib.scimath numpy.lib.array_utils numpy.lib.introspect numpy.lib.recfunctions
    numpy.exceptions numpy.dtypes numpy.char numpy.strings numpy.rec numpy.matlib numpy.version
    torch torch.nn torch.nn.functional torch.nn.init torch.nn.parameter torch.nn.common_types
    torch.nn.grad torch.utils torch.utils.data torch.utils.data.dataloader torch.utils.data.dataset
    torch.utils.data.sampler torch.utils.checkpoint torch.utils.hooks torch.utils.dlpack
    torch.linalg torch.fft torch.special torch.func torch.random torch.types torch.functional
    torch.return_types torch.quasirandom torch.version torch.torch_version torch.sparse torch.masked
    torch.nested torch.autograd torch.autograd.function torch.autograd.functional
    torch.autograd.grad_mode torch.autograd.forward_ad torch.autograd.graph
    torch.autograd.anomaly_mode torch.autograd.variable torch.cuda torch.cuda.amp torch.cuda.random
    torch.cuda.streams torch.cuda.memory torch.backends torch.backends.cpu torch.backends.cuda
    torch.backends.cudnn torch.backends.mps torch.backends.mkl torch.backends.mkldnn
    torch.backends.openmp torch.mps torch.cpu
""".split())
ALLOWED_PREFIXES = ("numpy.random", "numpy.ma", "numpy.polynomial", "numpy.matrixlib",
                    "torch.nn.modules", "torch.nn.utils", "torch.optim", "torch.distributions",
                    "torch.amp", "torch.cpu.amp")

# Why some modules are refused: each loads or generates code, starts processes or threads,
# touches files, or exposes the interpreter. Submodules are refused with their parent's reason.
DENIED_MODULES = {
    "numpy.ctypeslib": "it loads native libraries through ctypes",
    "numpy.f2py": "it compiles and runs Fortran and C code",
    "numpy.distutils": "it runs compilers",
    "numpy.testing": "it builds C extensions and runs subprocesses (numpy.testing.extbuild)",
    "numpy.lib.format": "it unpickles data",
    "numpy.lib.npyio": "it reads and writes files",
    "numpy.core": "it is NumPy's internals (numpy._core)",
    "numpy.ma.testutils": "test helpers are not part of an answer",
    "torch.hub": "it downloads and imports code",
    "torch.package": "it imports code from archives and unpickles",
    "torch.utils.cpp_extension": "it compiles and loads C++ code",
    "torch.utils.benchmark": "it compiles code and runs timers in threads",
    "torch.utils.data.datapipes": "it opens, lists and writes files",
    "torch.utils.collect_env": "it runs shell commands",
    "torch.utils.model_zoo": "it downloads and unpickles files",
    "torch.utils.show_pickle": "it unpickles data",
    "torch.utils.tensorboard": "it writes files",
    "torch.jit": "it compiles code",
    "torch.fx": "it generates and runs code",
    "torch.compiler": "it compiles code in worker processes",
    "torch.export": "it compiles code",
    "torch.library": "it defines operators from strings",
    "torch.multiprocessing": "it starts processes",
    "torch.distributed": "it starts processes and opens network connections",
    "torch.testing": "test helpers are not part of an answer (torch.testing._internal runs subprocesses)",
    "torch.profiler": "it starts profiler threads and writes trace files",
    "torch.autograd.profiler": "it starts profiler threads and writes trace files",
    "torch.serialization": "it unpickles data",
    "torch.storage": "it maps files into memory",
    "torch.onnx": "it writes files and runs exporters",
    "torch.overrides": "it changes how torch functions dispatch, which the grader's tracer relies on",
    "torch.nn.parallel": "it starts threads",
    "torch.nn.attention.flex_attention": "it compiles code in worker processes",
    "torch.ops": "it loads native libraries (torch.ops.load_library)",
    "torch.classes": "it loads native libraries (torch.classes.load_library)",
    "torch.backends.xeon": "it launches processes",
    "torch.cuda.jiterator": "it compiles code",
    "torch.cuda.gds": "it reads and writes files",
    "torch.cuda.tunable": "it writes files",
}
