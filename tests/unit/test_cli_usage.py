"""The command line's usage errors: exit status 2 and a message, before anything is graded."""

from __future__ import annotations

import os

import pytest

from grader.cli import main
from grader.paths import SOLUTIONS_DIR

SOLUTIONS = str(SOLUTIONS_DIR)


@pytest.fixture(autouse=True)
def _no_grader_environment(monkeypatch):
    for name in [n for n in os.environ if n.startswith("GRADER_")]:
        monkeypatch.delenv(name)


def test_unknown_exercise_is_a_usage_error(capsys):
    assert main(["grade", "ex99", "--submission", SOLUTIONS]) == 2
    err = capsys.readouterr().err
    assert "unknown exercise 'ex99'" in err and "ex01_vectors" in err


def test_missing_submission_is_a_usage_error(tmp_path, capsys):
    missing = tmp_path / "no_such_folder"
    assert main(["grade", "ex01", "--submission", str(missing)]) == 2
    assert f"{missing} does not exist" in capsys.readouterr().err


def test_bad_setting_in_the_environment_is_a_usage_error(monkeypatch, capsys):
    monkeypatch.setenv("GRADER_SEED", "many")
    assert main(["grade", "ex01", "--submission", SOLUTIONS]) == 2
    assert "GRADER_SEED" in capsys.readouterr().err


def test_bad_flag_value_is_an_argparse_error(capsys):
    with pytest.raises(SystemExit) as info:
        main(["grade", "--device", "tpu"])
    assert info.value.code == 2
