"""A submission that computes nothing scores 0, whatever form its answers take.

The null attacks (``tests/fixtures/attack_a01`` to ``a03``: ``return None``, raising
everywhere) are the crude form. The subtle form answers with the right type, dtype and shape
and no content: every function of the reference solutions is wrapped so that it computes its
answer and then returns an answer of the same form filled with 0 (or with 1), and a model's
``forward`` likewise. Every check of every exercise must then fail: one that passes pays for
the form of an answer (it needs ``role="form"``) or cannot tell a model that computes from
one that does not (ex04's degenerate weights).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from grader.engine.session import grade_submission
from grader.paths import SOLUTIONS_DIR
from grader.settings import Settings

FILL = '''

def _filled(r):
    import numpy as _np
    import torch as _t
    if isinstance(r, _t.nn.Parameter):
        return _t.nn.Parameter(_t.full_like(r, {fill}))
    if isinstance(r, _t.Tensor):
        return _t.full_like(r, {fill})
    if isinstance(r, _np.ndarray):
        return _np.full_like(r, {fill})
    if isinstance(r, bool):
        return bool({fill})
    if isinstance(r, (int, float, _np.generic)):
        return type(r)({fill})
    if isinstance(r, (tuple, list)):
        return type(r)(_filled(x) for x in r)
    if isinstance(r, dict):
        return {{k: _filled(v) for k, v in r.items()}}
    return r
'''


def hollow(source: str, fill: int) -> str:
    """``source`` with every public function, and every class's ``forward``, answering with
    the form of its real answer filled with ``fill``."""
    tree = ast.parse(source)
    text = source + FILL.format(fill=fill)
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and not node.name.startswith("_"):
            text += (f"\n_real_{node.name} = {node.name}\n\n\ndef {node.name}(*args, **kwargs):\n"
                     f"    return _filled(_real_{node.name}(*args, **kwargs))\n")
        if isinstance(node, ast.ClassDef) and any(isinstance(m, ast.FunctionDef) and m.name == "forward"
                                                  for m in node.body):
            text += (f"\n_real_{node.name}_forward = {node.name}.forward\n\n\n"
                     f"def _forward_{node.name}(self, *args, **kwargs):\n"
                     f"    return _filled(_real_{node.name}_forward(self, *args, **kwargs))\n\n\n"
                     f"{node.name}.forward = _forward_{node.name}\n")
    return text


@pytest.mark.slow
@pytest.mark.parametrize("fill", [0, 1])
def test_answers_of_the_right_form_and_no_content_score_nothing(tmp_path: Path, fill: int) -> None:
    for path in sorted(SOLUTIONS_DIR.glob("ex*.py")):
        (tmp_path / path.name).write_text(hollow(path.read_text(), fill))
    result = grade_submission(submission=tmp_path, settings=Settings(timing=False))
    paid = [f"{e.id}/{c.id} ({c.points:g})" for e in result.exercises for c in e.checks if c.points]
    assert not paid and result.score == 0, paid
    assert all(e.error is None for e in result.exercises), [e.error for e in result.exercises]
