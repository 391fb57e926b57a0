"""One settings object, resolved in a stated order.

Each setting comes from, first match wins: the command-line flag, a ``GRADER_*`` environment
variable, ``[tool.grader]`` in the kit's ``pyproject.toml``, the default. A bad value's error
names where it came from, so a typo in an environment variable is not blamed on the flag.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Callable, Mapping

from grader.isolation.launch import Limits
from grader.paths import KIT_ROOT


class SettingsError(ValueError):
    pass


@dataclass(frozen=True)
class Settings:
    seed: int = 0
    device: str = "auto"            # auto | cpu | cuda
    timing: bool = True
    threads: int = 1                # BLAS/OpenMP/torch threads in each worker (and reference)
    jobs: int = 0                   # batch workers; 0 = the number of cores
    sandbox: bool = True            # use bubblewrap where it is installed
    limits: Limits = field(default_factory=Limits)

    def with_limits(self, **changes: Any) -> "Settings":
        return replace(self, limits=replace(self.limits, **changes))


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


PARSERS: dict[str, Callable[[Any], Any]] = {
    "seed": _int(0, 2**32 - 1), "device": _device, "timing": _bool, "threads": _int(1, 256),
    "jobs": _int(0, 1024), "sandbox": _bool,
    "call_timeout_s": _float_pos, "import_timeout_s": _float_pos, "memory_mb": _int(64, 1 << 20),
    "output_kb": _int(1, 1 << 20), "cpu_s": _int(1, 1 << 20), "submission_timeout_s": _float_pos,
    "processes": _int(16, 1 << 16),
}
LIMIT_NAMES = {f.name for f in fields(Limits)}


def resolve(cli: Mapping[str, Any] | None = None, *, env: Mapping[str, str] | None = None,
            pyproject: Path | None = None) -> Settings:
    """Settings from the flags given (None = not given), the environment and pyproject."""
    env = os.environ if env is None else env
    table = _pyproject_table(pyproject or KIT_ROOT / "pyproject.toml")
    values: dict[str, Any] = {}
    for name, parse in PARSERS.items():
        for where, raw in (("the command line", (cli or {}).get(name)),
                           (f"the environment variable GRADER_{name.upper()}",
                            env.get(f"GRADER_{name.upper()}")),
                           (f"[tool.grader] {name} in pyproject.toml", table.get(name))):
            if raw is None or raw == "":
                continue
            try:
                values[name] = parse(raw)
            except (TypeError, ValueError) as exc:
                raise SettingsError(f"{name} = {raw!r} from {where}: {exc}") from None
            break
    limits = {k: v for k, v in values.items() if k in LIMIT_NAMES}
    plain = {k: v for k, v in values.items() if k not in LIMIT_NAMES}
    return Settings(**plain, limits=Limits(**limits))


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
