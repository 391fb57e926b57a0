"""ex08's look at the data (`grader svd-digits`, `make svd-digits`): the learner's pca rebuilds
training digits into a PNG; failures are one clean sentence."""

from __future__ import annotations

import pytest

from grader.cli import main
from grader.engine.session import grade_submission
from grader.practice.svd_digits import KS, NOTE, SvdDigitsError, show_svd_digits
from grader.settings import Settings
from kit_files import FIXTURES, ROOT

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def test_svd_digits_draws_the_solution(tmp_path):
    out = tmp_path / "digits.png"
    shown = show_svd_digits(submission=ROOT / "solutions", out=out)
    assert shown.path == out and out.read_bytes()[:8] == PNG_SIGNATURE
    assert out.stat().st_size > 20_000              # 5 rows of 8 digits, not an empty canvas
    assert list(shown.explained) == list(KS)
    shares = list(shown.explained.values())
    assert shares == sorted(shares) and 0.09 < shares[0] < 0.11 and 0.8 < shares[-1] < 0.86
    assert "k=50: 82.9%" in shown.summary()


def test_svd_digits_on_the_stub_says_not_started(tmp_path, capsys, pristine):
    with pytest.raises(SvdDigitsError, match="NotImplementedError"):
        show_svd_digits(submission=pristine / "exercises", out=tmp_path / "x.png")
    assert not (tmp_path / "x.png").exists()
    assert main(["svd-digits", "--submission", str(pristine / "exercises"),
                 "--out", str(tmp_path / "y.png")]) == 1
    assert "pca(train_x, 50)" in capsys.readouterr().err


def test_svd_digits_names_a_wrong_shape(tmp_path):
    with pytest.raises(SvdDigitsError, match=r"components should be an array of shape \(50, 784\), "
                                             r"got \(50, 4000\)"):
        show_svd_digits(submission=FIXTURES / "ex08_pca_u_instead_of_vt", out=tmp_path / "z.png")


def test_a_report_that_graded_a_started_ex08_points_to_svd_digits(pristine):
    started = grade_submission(submission=FIXTURES / "ex08_pca_not_centred", exercises=["ex08"],
                               settings=Settings(timing=False))
    assert NOTE in started.notes
    untouched = grade_submission(submission=pristine / "exercises", exercises=["ex08"],
                                 settings=Settings(timing=False))
    assert NOTE not in untouched.notes
