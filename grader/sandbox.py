"""How a worker process is started: its command line, environment and resource limits.

Limits apply to every worker. The bubblewrap sandbox (namespaces, hidden folders) wraps the
command where ``bwrap`` is installed; see the README's threat model.
"""

from __future__ import annotations

import os
import resource
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

MIB = 1 << 20


@dataclass(frozen=True)
class Limits:
    call_timeout_s: float = 10.0       # one call into the learner's code
    import_timeout_s: float = 20.0     # importing the learner's module
    start_timeout_s: float = 30.0      # the worker process getting ready
    memory_mb: int = 2048              # data the worker may allocate (RLIMIT_DATA)
    output_kb: int = 1024              # what it may print (RLIMIT_FSIZE on the capture file)
    cpu_s: int = 600                   # CPU time over the worker's whole life
    open_files: int = 256

    def describe(self) -> str:
        return (f"limits: {self.call_timeout_s:g} s per call, {self.memory_mb} MiB memory, "
                f"{self.output_kb} KiB output, {self.cpu_s} s CPU per worker")

    def to_dict(self) -> dict:
        return asdict(self)


def worker_preexec(limits: Limits) -> Callable[[], None]:
    def apply() -> None:
        _cap(resource.RLIMIT_DATA, limits.memory_mb * MIB)
        _cap(resource.RLIMIT_FSIZE, limits.output_kb * 1024)
        _cap(resource.RLIMIT_CPU, limits.cpu_s)
        _cap(resource.RLIMIT_NOFILE, limits.open_files)
        _cap(resource.RLIMIT_CORE, 0)

    return apply


def _cap(which: int, value: int) -> None:
    soft, hard = resource.getrlimit(which)
    if hard != resource.RLIM_INFINITY:
        value = min(value, hard)
    resource.setrlimit(which, (value, value))


_PASSED_ENV = ("PATH", "LANG", "LC_ALL", "TZ", "CUDA_VISIBLE_DEVICES", "NVIDIA_VISIBLE_DEVICES",
               "LD_LIBRARY_PATH")


def worker_env(*, scratch: Path, threads: int) -> dict[str, str]:
    env = {k: os.environ[k] for k in _PASSED_ENV if k in os.environ}
    n = str(max(1, threads))
    env.update({
        "HOME": str(scratch), "TMPDIR": str(scratch), "PYTHONHASHSEED": "0",
        "PYTHONDONTWRITEBYTECODE": "1", "PYTHONUNBUFFERED": "1", "MPLBACKEND": "Agg",
        "OMP_NUM_THREADS": n, "MKL_NUM_THREADS": n, "OPENBLAS_NUM_THREADS": n,
        "NUMEXPR_NUM_THREADS": n, "VECLIB_MAXIMUM_THREADS": n,
    })
    return env


def worker_command(*, python: str, runtime: Path, submission: Path, scratch: Path,
                   requests_fd: int, replies_fd: int, threads: int,
                   sandbox: bool) -> tuple[list[str], dict[str, str]]:
    cmd = [python, "-I", "-B", str(runtime / "worker.py"), "--requests", str(requests_fd),
           "--replies", str(replies_fd), "--submission", str(submission)]
    return cmd, worker_env(scratch=scratch, threads=threads)


def sandbox_note(requested: bool) -> str:
    """One line for every report saying how learner code was isolated."""
    return "sandbox: none (learner code ran as an ordinary subprocess with resource limits)"
