"""Settings: flag > GRADER_* environment > [tool.grader] in pyproject > default, and errors
that name where a bad value came from."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from grader.settings import Limits, Settings, SettingsError, resolve, resolve_one


def _pyproject(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "pyproject.toml"
    path.write_text("[project]\nname = 'x'\n\n[tool.grader]\n" + body)
    return path


def test_defaults_without_any_source(tmp_path):
    got = resolve({}, env={}, pyproject=tmp_path / "missing.toml")
    assert got == Settings()
    assert got.limits == Limits()


def test_pyproject_beats_the_default(tmp_path):
    got = resolve({}, env={}, pyproject=_pyproject(tmp_path, "seed = 11\ncall_timeout_s = 3.5\n"))
    assert got.seed == 11 and got.limits.call_timeout_s == 3.5
    assert got.device == "auto" and got.limits.memory_mb == Limits().memory_mb


def test_environment_beats_pyproject(tmp_path):
    py = _pyproject(tmp_path, "seed = 11\ntiming = true\n")
    got = resolve({}, env={"GRADER_SEED": "22", "GRADER_TIMING": "off"}, pyproject=py)
    assert got.seed == 22 and got.timing is False


def test_flag_beats_environment(tmp_path):
    py = _pyproject(tmp_path, "seed = 11\ndevice = 'cuda'\n")
    env = {"GRADER_SEED": "22", "GRADER_DEVICE": "auto", "GRADER_MEMORY_MB": "512"}
    got = resolve({"seed": 33, "device": None, "timing": None}, env=env, pyproject=py)
    assert got.seed == 33                      # flag
    assert got.device == "auto"                # env, over pyproject's cuda
    assert got.limits.memory_mb == 512         # env, a limit
    assert got.timing is True                  # default: None means "flag not given"


def test_empty_environment_variable_counts_as_unset(tmp_path):
    got = resolve({}, env={"GRADER_SEED": ""}, pyproject=_pyproject(tmp_path, "seed = 5\n"))
    assert got.seed == 5


def test_flag_zero_and_false_are_values_not_absence(tmp_path):
    got = resolve({"seed": 0, "timing": False}, env={"GRADER_SEED": "9", "GRADER_TIMING": "1"},
                  pyproject=tmp_path / "missing.toml")
    assert got.seed == 0 and got.timing is False


@pytest.mark.parametrize("cli, env, body, where", [
    ({"seed": -1}, {}, "", "seed = -1 from the command line"),
    ({}, {"GRADER_SEED": "abc"}, "seed = 1\n", "seed = 'abc' from the environment variable GRADER_SEED"),
    ({}, {}, "seed = 'abc'\n", "seed = 'abc' from [tool.grader] seed in pyproject.toml"),
    ({}, {"GRADER_DEVICE": "tpu"}, "", "device = 'tpu' from the environment variable GRADER_DEVICE"),
    ({}, {}, "timing = 'maybe'\n", "timing = 'maybe' from [tool.grader] timing in pyproject.toml"),
    ({}, {"GRADER_CALL_TIMEOUT_S": "0"}, "", "GRADER_CALL_TIMEOUT_S"),
    ({}, {}, "memory_mb = 1\n", "memory_mb = 1 from [tool.grader] memory_mb"),
])
def test_bad_values_name_their_source(tmp_path, cli, env, body, where):
    with pytest.raises(SettingsError) as info:
        resolve(cli, env=env, pyproject=_pyproject(tmp_path, body))
    assert where in str(info.value)


def test_a_bad_value_lower_in_the_order_is_not_reached(tmp_path):
    # The flag decides, so pyproject's bad seed is never parsed.
    got = resolve({"seed": 4}, env={}, pyproject=_pyproject(tmp_path, "seed = 'abc'\n"))
    assert got.seed == 4


def test_bad_value_message_says_what_is_allowed(tmp_path):
    with pytest.raises(SettingsError, match="must be auto, cpu or cuda"):
        resolve({}, env={"GRADER_DEVICE": "gpu"}, pyproject=tmp_path / "missing.toml")
    with pytest.raises(SettingsError, match="must be true or false"):
        resolve({}, env={"GRADER_SANDBOX": "perhaps"}, pyproject=tmp_path / "missing.toml")


def test_unknown_pyproject_setting_is_an_error(tmp_path):
    with pytest.raises(SettingsError, match="unknown setting.*colour"):
        resolve({}, env={}, pyproject=_pyproject(tmp_path, "colour = 'red'\n"))


def test_invalid_toml_is_an_error_naming_the_file(tmp_path):
    path = tmp_path / "pyproject.toml"
    path.write_text("[tool.grader\nseed = 1\n")
    with pytest.raises(SettingsError, match="pyproject.toml is not valid TOML"):
        resolve({}, env={}, pyproject=path)


def test_the_kits_own_pyproject_resolves():
    from grader.paths import KIT_ROOT
    from grader.settings import tomllib      # tomli on Python 3.10

    table = tomllib.loads((KIT_ROOT / "pyproject.toml").read_text())["tool"]["grader"]
    got = resolve({}, env={})
    assert got.seed == table.get("seed", Settings().seed)


def test_with_limits_changes_only_the_limits():
    base = Settings(seed=3)
    changed = base.with_limits(call_timeout_s=1)
    assert changed.seed == 3 and changed.limits.call_timeout_s == 1
    assert base.limits.call_timeout_s == Limits().call_timeout_s


def test_every_knob_is_a_setting_with_its_variable(tmp_path):
    env = {"GRADER_START_TIMEOUT_S": "5", "GRADER_OPEN_FILES": "64", "GRADER_TIMING_LOCK": "/tmp/l",
           "GRADER_BATCH_FORK": "0", "GRADER_DATA_DIR": str(tmp_path),
           "GRADER_SANDBOX_PROBE": '[null, "bwrap not installed"]'}
    got = resolve({}, env=env, pyproject=tmp_path / "missing.toml")
    assert got.limits.start_timeout_s == 5 and got.limits.open_files == 64
    assert got.timing_lock == "/tmp/l" and got.batch_fork is False and got.data_dir == str(tmp_path)
    assert got.sandbox_probe == (None, "bwrap not installed")
    assert resolve_one("data_dir", env=env, pyproject=tmp_path / "missing.toml") == str(tmp_path)
    with pytest.raises(SettingsError, match="GRADER_BATCH_FORK"):
        resolve({}, env={"GRADER_BATCH_FORK": "sometimes"}, pyproject=tmp_path / "missing.toml")


def test_settings_cross_to_a_batch_child_as_json():
    made = Settings(seed=4, timing=False, timing_lock="/tmp/l", sandbox_probe=(None, "why"),
                    batch_fork=False).with_limits(call_timeout_s=1.5)
    assert Settings.from_dict(json.loads(json.dumps(made.to_dict()))) == made
