"""The worker protocol, declared once: requests, header and reply keys, stages, probes.

The grader (``client.py``) and the worker (``worker.py``) exchange frames (``codec.py``): a
JSON header plus raw buffers. A request's header names its ``OP`` and what it needs; the
reply says ``OK`` and carries a ``VALUE`` (encoded), the results of any probes asked for
(under the probe's name), or an ``ERROR`` raised at one ``Stage``. This module is copied
into the worker's runtime folder and imported there as a plain module: standard library only.

Every request carries a request id (``RID``): random, chosen by the grader, and repeated by the
reply. A reply with another id, or a frame the grader did not ask for, is a protocol violation
that ends the worker (``process.py``): replies cannot go out of step.

Requests (header keys beyond ``OP`` and ``RID``):

- ``IMPORT``      ``MODULE``, ``CELLS`` (a notebook's cell spans, or absent): import the
                  learner's module (a notebook's cell by cell: ``cells.py``).
- ``CALL``        ``MODULE`` or ``HANDLE``, ``PATH``, ``ARGS``, ``KWARGS``, ``PROBES``: call
                  ``target.path(*args, **kwargs)``; the value comes back (objects as handles).
- ``GETATTR``     ``MODULE`` or ``HANDLE``, ``PATH``: read ``target.path``.
- ``TIME``        ``MODULE``, ``PATH``, ``ARGS`` (a list of argument lists), ``SYNC_CUDA``: call
                  ``target.path`` on each argument list; every output comes back. The grader
                  times the whole request, so the inputs reach the learner's code only inside
                  the time it measures.
- ``CELL_ERRORS`` ``MODULE``: the cells of a notebook's module that failed when it was imported.
- ``RELEASE``     ``IDS``: forget objects the grader no longer holds.

A reply may carry ``REFUSED``: what the worker's lock (``lock.py``) refused while the request
ran, even when the learner's code caught the refusal; the grader reports that instead.
"""

from __future__ import annotations

import enum


class Op(str, enum.Enum):
    IMPORT = "import"
    CALL = "call"
    GETATTR = "getattr"
    TIME = "time"
    CELL_ERRORS = "cell_errors"
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
RID = "rid"                      # the request's id, repeated by its reply
MODULE = "module"
HANDLE = "handle"
PATH = "path"
ARGS = "args"
KWARGS = "kwargs"
PROBES = "probe"
SYNC_CUDA = "sync_cuda"
IDS = "ids"
CELLS = "cells"

# -- reply keys -----------------------------------------------------------------------------
OK = "ok"
VALUE = "value"
ERROR = "error"
STAGE = "stage"
REFUSED = "refused"              # [{"what": ..., "file": ..., "line": ...}]: the lock's refusals
PID = "pid"                      # in the first frame, the worker's "I am ready"
READY = "ready"                  # that frame's value

# -- an error's keys (besides codec.describe_exception's "type", "message", "traceback") ------
MRO = "mro"                      # "module.qualname" of each class of the exception, for is_a()
ERRNO = "errno"                  # an OSError's errno, else None
WHERE = "where"                  # "file.py, line 12, in f": the innermost frame of the learner's
NOT_STARTED = "not_started"      # the exception is exactly NotImplementedError

# -- a worker's configuration (the grader -> the zygote -> the forked worker) -----------------
SUBMISSION = "submission"        # the folder of the learner's modules (the worker's cwd)
HOME = "home"                    # its writable home and temporary folder
LEARNER_MODULES = "learner_modules"  # the modules of the submission, which it may import
ALLOWED = "allowed"              # the other modules it may import: {"exact", "prefixes", "top"}
LIMITS = "limits"                # memory_mb, output_kb, cpu_s, open_files
THREADS = "threads"              # BLAS / OpenMP / torch threads
UID = "uid"                      # the uid to run as (the zygote is root), or None
GID = "gid"                      # the gid to run as, or None
NPROC = "nproc"                  # RLIMIT_NPROC, or None
