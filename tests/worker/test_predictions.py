"""ex04's look at the data (`grader show-predictions`) and the worker seams its suite relies on."""

from __future__ import annotations

import pytest

from grader.cli import main
from learner_pool import open_learner
from grader.practice.predictions import PredictionsError, show_predictions
from kit_files import ROOT

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def test_show_predictions_draws_the_solution(tmp_path):
    out = tmp_path / "grid.png"
    shown = show_predictions(submission=ROOT / "solutions", out=out, n=16)
    assert shown.path == out and out.read_bytes()[:8] == PNG_SIGNATURE
    assert out.stat().st_size > 10_000          # 16 digits drawn, not an empty canvas
    assert shown.shown == 16 and 0 <= shown.wrong_shown <= 16
    assert shown.accuracy > 0.85                # one epoch of the reference: 0.89 at worst
    assert "16 held-out digits" in shown.summary()


def test_show_predictions_on_the_stub_says_not_started(tmp_path, capsys, pristine):
    with pytest.raises(PredictionsError, match="NotImplementedError"):
        show_predictions(submission=pristine / "exercises", out=tmp_path / "x.png")
    assert not (tmp_path / "x.png").exists()
    assert main(["show-predictions", "--submission", str(pristine / "exercises"),
                 "--out", str(tmp_path / "y.png")]) == 1
    assert "SimpleMnist()" in capsys.readouterr().err


def test_named_parameters_and_grads_cross_as_data(tmp_path):
    (tmp_path / "tiny.py").write_text(
        "import torch\n"
        "class Tiny(torch.nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.w = torch.nn.Parameter(torch.ones(2, 3))\n"
        "        self.b = torch.zeros(3, requires_grad=True)\n"
        "    def forward(self, x):\n"
        "        return x @ self.w + self.b\n")
    with open_learner(tmp_path, ["tiny"], preload=("numpy", "torch")) as learner:
        model = learner.module("tiny").Tiny()
        pairs = model.method_list("named_parameters")
        assert [name for name, _ in pairs] == ["w"]            # the plain tensor is not listed
        import torch

        assert isinstance(pairs[0][1], torch.nn.Parameter) and pairs[0][1].shape == (2, 3)
        assert model.b.requires_grad and not isinstance(model.b, torch.nn.Parameter)
        assert model.grad_of("w") is None                # no backward yet
        assert model.method("forward", torch.ones(4, 2)).shape == (4, 3)
