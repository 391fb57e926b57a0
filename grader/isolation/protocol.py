"""The worker protocol, declared once: requests, header and reply keys, stages, probes.

The grader (``client.py``) and the worker (``worker.py``) exchange frames (``codec.py``): a
JSON header plus raw buffers. A request's header names its ``OP`` and what it needs; the
reply says ``OK`` and carries a ``VALUE`` (encoded), the results of any probes asked for
(under the probe's name), or an ``ERROR`` raised at one ``Stage``. This module is copied
into the worker's runtime folder and imported there as a plain module: standard library only.

Requests (header keys beyond ``OP``):

- ``IMPORT``      ``MODULE``: import the learner's module.
- ``CALL``        ``MODULE`` or ``HANDLE``, ``PATH``, ``ARGS``, ``KWARGS``, ``PROBES``: call
                  ``target.path(*args, **kwargs)``; the value comes back (objects as handles).
- ``GETATTR``     ``MODULE`` or ``HANDLE``, ``PATH``: read ``target.path``.
- ``STAGE``       ``KEY``, ``INPUTS``: keep argument lists for ``RUN_STAGED`` (timing).
- ``RUN_STAGED``  ``MODULE``, ``PATH``, ``KEY``, ``SYNC_CUDA``: call ``target.path`` on each
                  staged argument list; every output comes back.
- ``RELEASE``     ``IDS``: forget objects the grader no longer holds.
"""

from __future__ import annotations

import enum


class Op(str, enum.Enum):
    IMPORT = "import"
    CALL = "call"
    GETATTR = "getattr"
    STAGE = "stage"
    RUN_STAGED = "run_staged"
    RELEASE = "release"


class Stage(str, enum.Enum):
    """Where a request failed: loading the module, running the learner's code, or sending the
    value back (a value that cannot be encoded: the worker, not the call, is then broken)."""

    IMPORT = "import"
    CALL = "call"
    REPLY = "reply"


class Probe(str, enum.Enum):
    """What a ``CALL`` may measure besides its value; each comes back under its own name."""

    TRACE = "trace"                  # NumPy / torch operations reached: {"numpy": {..}, "torch": {..}}
    LINES = "lines"                  # how often each line of the learner's files ran: {"f.py:12": n}
    SHARES_MEMORY = "shares_memory"  # per argument: does the result share its memory (None: n/a)
    ARRAY_META = "array_meta"        # the result's layout (shape, strides, flags) or None
    MATERIALIZE = "materialize"      # an iterator result is read into a list in the worker


# -- request header keys --------------------------------------------------------------------
OP = "op"
MODULE = "module"
HANDLE = "handle"
PATH = "path"
ARGS = "args"
KWARGS = "kwargs"
PROBES = "probe"
KEY = "key"
INPUTS = "inputs"
SYNC_CUDA = "sync_cuda"
IDS = "ids"

# -- reply keys -----------------------------------------------------------------------------
OK = "ok"
VALUE = "value"
ERROR = "error"
STAGE = "stage"
PID = "pid"                      # in the first frame, the worker's "I am ready"
READY = "ready"                  # that frame's value

# -- an error's keys (besides codec.describe_exception's "type", "message", "traceback") ------
MRO = "mro"                      # "module.qualname" of each class of the exception, for is_a()
ERRNO = "errno"                  # an OSError's errno, else None
WHERE = "where"                  # "file.py, line 12, in f": the innermost frame of the learner's
NOT_STARTED = "not_started"      # the exception is exactly NotImplementedError

# -- the worker's command line (built by launch.py, parsed by worker.py) --------------------
OPT_REQUESTS = "--requests"      # fd of the request pipe
OPT_REPLIES = "--replies"        # fd of the reply pipe
OPT_SUBMISSION = "--submission"  # the folder of the learner's modules
OPT_MAX_PROCESSES = "--max-processes"   # RLIMIT_NPROC, set inside the sandbox
OPT_RUN_AS = "--run-as"          # the uid to drop to (started as root inside bubblewrap)
OPT_PRELOAD = "--preload"        # libraries to import before the learner's folder is on sys.path

