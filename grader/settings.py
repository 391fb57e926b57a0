"""One settings object, resolved in a stated order, holding every knob of the grader.

Each setting comes from, first match wins: the command-line flag, a ``GRADER_*`` environment
variable, ``[tool.grader]`` in the kit's ``pyproject.toml``, the default. A bad value's error
names where it came from, so a typo in an environment variable is not blamed on the flag.
Nothing else in the grader reads a ``GRADER_*`` variable.

``Settings.to_dict()`` / ``Settings.from_dict()`` carry resolved settings to a batch's grading
children (JSON on their command line), so a child never resolves them again.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Callable, Mapping

from grader.paths import KIT_ROOT

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: the same parser, as a package
    import tomli as tomllib

ENV_PREFIX = "GRADER_"


class SettingsError(ValueError):
    pass


@dataclass(frozen=True)
class Limits:
    """What a worker may do; every report prints them (``describe``)."""

    call_timeout_s: float = 10.0       # one call into the learner's code
    import_timeout_s: float = 20.0     # importing the learner's module
    start_timeout_s: float = 30.0      # the worker process getting ready
    memory_mb: int = 2048              # data the worker may allocate (RLIMIT_DATA)
    output_kb: int = 1024              # what it may print (RLIMIT_FSIZE on the capture file)
    cpu_s: int = 600                   # CPU time over the worker's whole life
    open_files: int = 256
    processes: int = 256               # tasks (threads too) in a user-namespace sandbox (RLIMIT_NPROC)
    home_mb: int = 256                 # the writable home and /tmp of the workers (a sized tmpfs)
    submission_timeout_s: float = 600.0  # one whole submission in a batch (enforced by the batch)

    def describe(self) -> str:
        return (f"limits: {self.call_timeout_s:g} s per call, {self.memory_mb} MiB memory, "
                f"{self.output_kb} KiB output, {self.cpu_s} s CPU per worker, "
                f"{self.open_files} open files, {self.home_mb} MiB of writable space, "
                f"{self.submission_timeout_s:g} s per submission in a batch")

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Settings:
    seed: int = 0
    device: str = "auto"            # auto | cpu | cuda
    timing: bool = True
    threads: int = 1                # BLAS/OpenMP/torch threads in each worker (and reference)
    jobs: int = 0                   # batch workers; 0 = the number of cores
    sandbox: bool = True            # use bubblewrap where it is installed
    limits: Limits = field(default_factory=Limits)
    # Knobs a batch sets for its grading children, and where the data is:
    timing_lock: str | None = None  # the lock file that makes parallel gradings take turns to time
    sandbox_probe: tuple[str | None, str] | None = None   # a probe already made: (bwrap, why)
    batch_fork: bool = True         # batch children forked from the batch process (else started)
    data_dir: str | None = None     # the folder holding mnist_5k.npz (default: the kit's data/)
    # Where the grader is root, each worker runs as a uid of its own from this range (never one
    # with an account; 0-65535 so that every container maps them).
    uid_first: int = 60000
    uid_count: int = 5000
    course: str | None = None       # the assignment file (default: course.toml at the kit's root)

    def with_limits(self, **changes: Any) -> "Settings":
        return replace(self, limits=replace(self.limits, **changes))

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "Settings":
        d = dict(d)
        probe = d.pop("sandbox_probe", None)
        return cls(**{k: v for k, v in d.items() if k != "limits"},
                   sandbox_probe=tuple(probe) if probe is not None else None,
                   limits=Limits(**d.get("limits", {})))


# -- parsers: each raises ValueError saying what is allowed ------------------------------------
def _int(lo: int, hi: int) -> Callable[[Any], int]:
    def parse(value: Any) -> int:
        number = int(str(value).strip())
        if not lo <= number <= hi:
            raise ValueError(f"must be between {lo} and {hi}")
        return number
    return parse


def _float_pos(value: Any) -> float:
    number = float(str(value).strip())
    if not number > 0:
        raise ValueError("must be a positive number")
    return number


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ValueError("must be true or false")


def _device(value: Any) -> str:
    text = str(value).strip().lower()
    if text not in ("auto", "cpu", "cuda"):
        raise ValueError("must be auto, cpu or cuda")
    return text


def _path(value: Any) -> str:
    text = str(value).strip()
    if not text:
        raise ValueError("must be a path")
    return text


def _probe(value: Any) -> tuple[str | None, str] | None:
    """A batch parent's bubblewrap probe, ``[path or null, why]`` as JSON. Anything malformed,
    or naming a bwrap that cannot run, counts as not given: the child then probes afresh."""
    try:
        path, why = json.loads(value) if isinstance(value, str) else value
    except (ValueError, TypeError):
        return None
    if not isinstance(why, str) or not (path is None or (isinstance(path, str) and os.access(path, os.X_OK))):
        return None
    return path, why


PARSERS: dict[str, Callable[[Any], Any]] = {
    "seed": _int(0, 2**32 - 1), "device": _device, "timing": _bool, "threads": _int(1, 256),
    "jobs": _int(0, 1024), "sandbox": _bool,
    "call_timeout_s": _float_pos, "import_timeout_s": _float_pos, "start_timeout_s": _float_pos,
    "memory_mb": _int(64, 1 << 20), "output_kb": _int(1, 1 << 20), "cpu_s": _int(1, 1 << 20),
    "open_files": _int(16, 1 << 20), "processes": _int(16, 1 << 16), "home_mb": _int(16, 1 << 20),
    "uid_first": _int(1000, 65000), "uid_count": _int(16, 64000),
    "submission_timeout_s": _float_pos,
    "timing_lock": _path, "sandbox_probe": _probe, "batch_fork": _bool, "data_dir": _path,
    "course": _path,
}
LIMIT_NAMES = {f.name for f in fields(Limits)}


def env_name(setting: str) -> str:
    """The environment variable of a setting: ``GRADER_`` and its name in capitals."""
    return ENV_PREFIX + setting.upper()


def resolve(cli: Mapping[str, Any] | None = None, *, env: Mapping[str, str] | None = None,
            pyproject: Path | None = None) -> Settings:
    """Settings from the flags given (None = not given), the environment and pyproject."""
    env = os.environ if env is None else env
    table = _pyproject_table(pyproject or KIT_ROOT / "pyproject.toml")
    values = {name: value for name in PARSERS
              if (value := _resolve_one(name, cli or {}, env, table)) is not None}
    limits = {k: v for k, v in values.items() if k in LIMIT_NAMES}
    plain = {k: v for k, v in values.items() if k not in LIMIT_NAMES}
    return Settings(**plain, limits=Limits(**limits))


def resolve_one(name: str, *, env: Mapping[str, str] | None = None,
                pyproject: Path | None = None) -> Any:
    """One setting from the environment or pyproject, in the same order (None: not set), for
    code that runs without a ``Settings`` in hand (``grader.data.load_mnist()`` in a notebook)."""
    table = _pyproject_table(pyproject or KIT_ROOT / "pyproject.toml")
    return _resolve_one(name, {}, os.environ if env is None else env, table)


def _resolve_one(name: str, cli: Mapping[str, Any], env: Mapping[str, str],
                 table: Mapping[str, Any]) -> Any:
    parse = PARSERS[name]
    for where, raw in (("the command line", cli.get(name)),
                       (f"the environment variable {env_name(name)}", env.get(env_name(name))),
                       (f"[tool.grader] {name} in pyproject.toml", table.get(name))):
        if raw is None or raw == "":
            continue
        try:
            return parse(raw)
        except (TypeError, ValueError) as exc:
            raise SettingsError(f"{name} = {raw!r} from {where}: {exc}") from None
    return None


def _pyproject_table(path: Path) -> dict[str, Any]:
    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except FileNotFoundError:
        return {}
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"{path} is not valid TOML: {exc}") from None
    table = data.get("tool", {}).get("grader", {})
    unknown = sorted(set(table) - set(PARSERS))
    if unknown:
        raise SettingsError(f"[tool.grader] in {path}: unknown setting(s) {', '.join(unknown)}")
    return table
