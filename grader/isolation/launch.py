"""How the zygote (the process that forks every worker) is started: its command line, its
environment, and the bubblewrap sandbox around it where ``bwrap`` works (``sandbox_for``).

Resource limits and uids are the zygote's to apply to each worker it forks (``zygote.py``,
``pool.py``); see the README's threat model for what each level of isolation stops.
"""

from __future__ import annotations

import functools
import os
import signal
import subprocess
from pathlib import Path
from typing import Callable, NamedTuple, Sequence

from grader import truncation
from grader.paths import KIT_ROOT, PACKAGE
from grader.settings import Settings


def _load_prctl() -> Callable[..., int] | None:
    # Loaded here, in the parent: importing or loading libraries between fork and exec can hang.
    try:
        import ctypes

        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError, ImportError):
        return None


_PRCTL = _load_prctl()
_PR_SET_PDEATHSIG = 1


def die_with_parent(parent: int) -> None:
    """In a freshly forked child: have Linux SIGKILL it when ``parent`` (its creator) dies.

    A worker lives in its own session, so killing the grading process that owns it (a batch
    enforcing its per-submission limit, or ``kill -9`` of the batch) would otherwise leave a
    hanging learner call running. Where prctl is missing (not Linux) this does nothing.
    """
    if _PRCTL is None:
        return
    _PRCTL(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:      # the parent died before the request took effect
        os._exit(1)


_PASSED_ENV = ("PATH", "LANG", "LC_ALL", "TZ", "CUDA_VISIBLE_DEVICES", "NVIDIA_VISIBLE_DEVICES",
               "LD_LIBRARY_PATH")


THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                    "NUMEXPR_NUM_THREADS", "VECLIB_MAXIMUM_THREADS")


def thread_env(threads: int) -> dict[str, str]:
    """The variables that hold BLAS, OpenMP and friends to ``threads`` threads."""
    return dict.fromkeys(THREAD_VARIABLES, str(max(1, threads)))


def worker_env(*, home: str, threads: int) -> dict[str, str]:
    env = {k: os.environ[k] for k in _PASSED_ENV if k in os.environ}
    env.update({
        "HOME": home, "TMPDIR": home, "PYTHONHASHSEED": "0",
        "PYTHONDONTWRITEBYTECODE": "1", "PYTHONUNBUFFERED": "1", "MPLBACKEND": "Agg",
        **thread_env(threads),
    })
    return env


def zygote_command(*, python: str, runtime: Path, root: Path, control_fd: int,
                   preload: Sequence[str], bwrap: str | None,
                   settings: Settings) -> tuple[list[str], dict[str, str]]:
    """The zygote's command line and environment; wrapped in ``bwrap`` when one is given.

    Inside bubblewrap the zygote and its workers see the system's read-only folders, the Python
    installation, the runtime (read-only) and the pool's root folder (where the grader puts the
    submissions' copies, each readable by its own workers only), and a /tmp of their own sized to
    ``home_mb`` (their homes); nothing of the kit (``solutions/``, ``grader/``, output folders).
    """
    cmd = [python, "-I", "-B", str(runtime / "zygote.py"), "--control", str(control_fd),
           "--preload", ",".join(preload)]
    env = worker_env(home=str(root), threads=settings.threads)
    if bwrap is None:
        return cmd, env
    return [bwrap, *_bwrap_args(python, binds_ro=[runtime], binds_rw=[root], chdir=root,
                                tmp_mb=settings.limits.home_mb), "--", *cmd], env


def guard_kit() -> list[str]:
    """Where the grader is root without bubblewrap, workers run as other uids on the same file
    system: take away others' access to the kit's private folders (the suites, solutions,
    tests, benchmarks, git history). Returns what was changed."""
    changed = []
    for path in (*(KIT_ROOT / name for name in KIT_PRIVATE), PACKAGE):
        try:
            mode = path.stat().st_mode
        except OSError:
            continue
        if mode & 0o007:
            path.chmod(mode & ~0o007)
            changed.append(str(path))
    return changed


# -- bubblewrap ------------------------------------------------------------------------------
SANDBOX_UID = 65534   # "nobody" inside the sandbox's own user namespace
_SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
_ETC_FILES = ("/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/localtime",
              "/etc/alternatives")


def python_dirs(python: str) -> list[str]:
    """Folders the worker's Python needs: its installation, the venv and its site-packages.

    A venv's ``bin/python`` is often a symlink into another installation (pyenv), so the
    target of the interpreter is followed too.
    """
    import site
    import sys

    found = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix,
             os.path.dirname(os.path.realpath(python))}
    found.update(site.getsitepackages())
    found.update(os.path.realpath(p) for p in list(found))
    return sorted(p for p in found if p and os.path.isdir(p) and p != "/")


def _bwrap_args(python: str, *, binds_ro: list[Path], binds_rw: list[Path],
                chdir: Path, tmp_mb: int | None = None) -> list[str]:
    args = ["--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts",
            "--unshare-cgroup-try", "--die-with-parent", "--new-session", "--cap-drop", "ALL"]
    if os.geteuid() == 0:
        # Run as root, a user namespace would map the sandbox's uid to root outside, and the
        # kernel does not count root's processes against RLIMIT_NPROC. So no user namespace:
        # the zygote keeps only the rights to change uids and to give each worker its home,
        # and every worker drops to a real unprivileged uid of its own (pool.py) before it
        # loads anything of the learner's.
        args += ["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID", "--cap-add", "CAP_CHOWN"]
    else:
        args += ["--unshare-user", "--uid", str(SANDBOX_UID), "--gid", str(SANDBOX_UID)]
    args += ["--hostname", "sandbox", "--proc", "/proc", "--dev", "/dev"]
    args += (["--size", str(tmp_mb << 20)] if tmp_mb else []) + ["--tmpfs", "/tmp"]
    for d in _SYSTEM_DIRS:
        if os.path.islink(d):
            args += ["--symlink", os.readlink(d), d]
        elif os.path.isdir(d):
            args += ["--ro-bind", d, d]
    for f in _ETC_FILES:
        if os.path.exists(f):
            args += ["--ro-bind", f, f]
    extra = [p for p in os.environ.get("LD_LIBRARY_PATH", "").split(":") if os.path.isdir(p)]
    made: set[str] = {"/", "/tmp", "/usr", "/proc", "/dev"}

    def bind(option: str, d: str) -> None:
        # Parent folders bwrap would make are 0700 root: an unprivileged uid could not pass.
        for parent in reversed(Path(d).parents):
            if str(parent) not in made:
                made.add(str(parent))
                args.extend(["--perms", "0755", "--dir", str(parent)])
        args.extend([option, d, d])

    for d in python_dirs(python) + extra:
        if not _kit_private(d):
            bind("--ro-bind", d)
        grader_copy = os.path.join(d, "grader")      # a non-editable install of the grader
        if os.path.isdir(os.path.join(grader_copy, "suites")):
            args += ["--tmpfs", grader_copy]
    for dev in sorted(Path("/dev").glob("nvidia*")):  # CUDA, where a GPU is present
        args += ["--dev-bind", str(dev), str(dev)]
    if any(Path("/dev").glob("nvidia*")) and os.path.isdir("/sys"):
        args += ["--ro-bind", "/sys", "/sys"]
    for d in binds_ro:
        bind("--ro-bind", str(d))
    for d in binds_rw:
        bind("--bind", str(d))
    return args + ["--chdir", str(chdir)]


KIT_PRIVATE = ("solutions", "grader", "tests", "bench", ".git")


def _kit_private(path: str) -> bool:
    """The kit's root or its own folders: never mounted (a venv inside the kit is fine)."""
    try:
        parts = Path(path).resolve().relative_to(KIT_ROOT).parts
    except ValueError:
        return False
    return not parts or parts[0] in KIT_PRIVATE + ("exercises", "notebooks")


class Sandbox(NamedTuple):
    """How learner code is isolated: ``bwrap`` is the bubblewrap to wrap workers in, or None
    (then ``why`` says why not)."""

    bwrap: str | None
    why: str


TURNED_OFF = "the sandbox was turned off (sandbox = false)"
_PROBE_CODE = ("import os\nif os.getuid() == 0:\n    os.setgroups([]); os.setgid({uid}); "
               "os.setuid({uid})\nprint(os.getuid())")


def sandbox_for(settings: Settings) -> Sandbox:
    """The sandbox these settings give: none when turned off, a probe a batch parent already
    made (``settings.sandbox_probe``), else this process's own probe."""
    if not settings.sandbox:
        return Sandbox(None, TURNED_OFF)
    if settings.sandbox_probe is not None:
        return Sandbox(*settings.sandbox_probe)
    return probe_sandbox()


@functools.cache
def probe_sandbox() -> Sandbox:
    """Whether a sandboxed Python starts here: bwrap may be installed but refused user
    namespaces (a container, a hardened kernel), and that must show as "unsandboxed", not as
    a grader error. Probed once per process (it costs one worker start)."""
    import shutil
    import sys
    import tempfile

    bwrap = shutil.which("bwrap")
    if bwrap is None:
        return Sandbox(None, "bwrap not installed")
    with tempfile.TemporaryDirectory(prefix="grader-probe-") as tmp:
        here = Path(tmp)
        cmd = [bwrap, *_bwrap_args(sys.executable, binds_ro=[], binds_rw=[here], chdir=here,
                                   tmp_mb=16),
               "--", sys.executable, "-I", "-S", "-c", _PROBE_CODE.format(uid=SANDBOX_UID)]
        try:
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=30,
                                  stdin=subprocess.DEVNULL)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return Sandbox(None, f"bwrap could not start a sandbox ({exc})")
    if done.returncode != 0 or done.stdout.strip() != str(SANDBOX_UID):
        why = (done.stderr.strip().splitlines() or [f"exit status {done.returncode}"])[-1]
        return Sandbox(None, "bwrap is installed but could not start a sandbox "
                             f"({why[:truncation.PROBE_ERROR_CHARS]})")
    return Sandbox(bwrap, "bubblewrap")


def kill_group(proc, *, wait_s: float) -> None:
    """SIGKILL the process group ``proc`` leads (its own session: a worker, a batch child and
    everything they started), then wait up to ``wait_s`` for ``proc`` to be gone."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        proc.wait(timeout=wait_s)
    except subprocess.TimeoutExpired:
        pass
