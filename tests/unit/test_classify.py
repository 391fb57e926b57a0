"""How a check that ended with an exception is reported (``plugin.classify``): the call and its
inputs as the suite names them, the learner's exception and line, a hint chosen from the
cause; a value the learner returned that a suite could not use is the learner's mistake."""

from __future__ import annotations

import importlib.util
import textwrap

import numpy as np
import pytest

from grader.checks import causes
from grader.engine import plugin, raised_call
from grader.errors import LearnerRaised
from grader.isolation.proxies import FunctionProxy
from grader.results import CheckStatus

HINTS = ("the check's first hint, about the idea", "a nearer pointer")


class FakeLearner:
    """Raises what the worker would report, for every call."""

    def __init__(self, type_name: str, message: str) -> None:
        self.type_name, self.message = type_name, message

    def call(self, module, path, args, kwargs, **options):
        raise LearnerRaised(self.type_name, self.message, "", [f"builtins.{self.type_name}"],
                            where="ex01_vectors.py, line 44, in dot")


class FakeModule:
    def __init__(self, learner):
        self.learner = learner

    def __getattr__(self, name):
        return FunctionProxy(self.learner, "ex01_vectors", name)


SUITE = '''
import numpy as np
from grader.checks.expect import expect_number, result_of

A = np.array([1.0, 2.0, 3.0])
B = np.array([4.0, 5.0, 6.0])


def test_named(ex):
    expect_number(ex.dot(A, B), 32.0, call="dot([1, 2, 3], [4, 5, 6])")


def test_with_inputs(ex):
    for n in (3,):
        a, b = np.arange(n) * 1.0, np.ones(n)
        expect_number(ex.dot(a, b), 3.0, call=f"dot(a, b) of length {n}", inputs={"a": a, "b": b})


def test_plain_call(ex):
    x = np.ones((2, 2))
    got = ex.softmax(x, 1)
    return got


def test_suite_uses_none(ex):
    got = None      # as if the learner's function had returned None
    return float(got)
'''


@pytest.fixture
def suite(tmp_path, monkeypatch):
    path = tmp_path / "test_fake_suite.py"
    path.write_text(textwrap.dedent(SUITE))
    monkeypatch.setattr(raised_call, "SUITES_DIR", tmp_path)
    spec = importlib.util.spec_from_file_location("test_fake_suite", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setattr(plugin, "_raised_in_a_suite", lambda exc: _innermost_is(exc, path))
    return module


def _innermost_is(exc, path) -> bool:
    tb = exc.__traceback__
    while tb.tb_next is not None:
        tb = tb.tb_next
    return tb.tb_frame.f_code.co_filename == str(path)


def _run(test, type_name="NameError", message="name 'undefined_name' is not defined", **kw):
    try:
        test(FakeModule(FakeLearner(type_name, message)))
    except BaseException as exc:   # what pytest hands the plugin
        return plugin.classify(exc, function="dot", module="ex01_vectors", hints=HINTS, **kw)
    raise AssertionError("the test did not raise")


def test_the_call_is_named_as_the_suite_names_it(suite):
    status, feedback, not_started = _run(suite.test_named)
    assert status is CheckStatus.FAILED and not not_started
    lines = feedback.splitlines()
    assert lines[0] == "dot([1, 2, 3], [4, 5, 6])"
    assert "raised NameError: name 'undefined_name' is not defined" in lines[1]
    assert "at ex01_vectors.py, line 44, in dot" in feedback
    assert f"hint: {causes.RAISED_NAME}" in feedback


def test_the_inputs_are_shown_as_for_a_wrong_value(suite):
    _, feedback, _ = _run(suite.test_with_inputs)
    assert feedback.startswith("dot(a, b) of length 3 with a: [0., 1., 2.], b: [1., 1., 1.]")


def test_a_call_without_a_description_is_rendered_from_its_source(suite):
    _, feedback, _ = _run(suite.test_plain_call, "ValueError", "something else")
    assert feedback.startswith("softmax(x, 1) with x: [[1., 1.], [1., 1.]]")
    assert f"hint: {HINTS[0]}" in feedback    # nothing in the exception names a cause


@pytest.mark.parametrize("type_name, message, hint", [
    ("RuntimeError", "The size of tensor a (6) must match the size of tensor b (4) at "
                     "non-singleton dimension 1", causes.RAISED_SHAPES),
    ("ValueError", "operands could not be broadcast together with shapes (3,3) (4,)",
     causes.RAISED_SHAPES),
    ("RuntimeError", "expected scalar type Float but found Double", causes.RAISED_DTYPE),
    ("AttributeError", "'NoneType' object has no attribute 'shape'", causes.RAISED_NONE),
    ("IndexError", "tuple index out of range", causes.RAISED_INDEX),
    ("ZeroDivisionError", "float division by zero", causes.RAISED_ZERO),
])
def test_the_hint_follows_the_cause(suite, type_name, message, hint):
    _, feedback, _ = _run(suite.test_named, type_name, message)
    assert feedback.endswith(f"hint: {hint}")


def test_running_out_of_memory_names_the_limit_and_the_likely_cause(suite):
    message = ("[enforce fail at alloc_cpu.cpp:127] err == 0. DefaultCPUAllocator: can't allocate "
               "memory: you tried to allocate 12544000000 bytes. Error code 12 (Cannot allocate memory)")
    _, feedback, _ = _run(suite.test_named, "RuntimeError", message, memory_mb=2048)
    assert "memory limit of 2048 MiB exceeded: the code tried to allocate 11.7 GiB at once" in feedback
    assert "enforce fail" not in feedback
    assert f"hint: {causes.MEMORY_HINT}" in feedback
    numpy_message = ("Unable to allocate 11.7 GiB for an array with shape (1000, 4000, 784) "
                     "and data type float32 (memory limit of 2048 MiB exceeded)")
    _, feedback, _ = _run(suite.test_named, "MemoryError", numpy_message, memory_mb=2048)
    assert "memory limit of 2048 MiB exceeded: the code tried to allocate 11.7 GiB at once" in feedback


def test_a_none_the_suite_could_not_use_is_the_learners_mistake(suite):
    status, feedback, _ = _run(suite.test_suite_uses_none)
    assert status is CheckStatus.FAILED
    assert "dot returned None where the check needed a result" in feedback
    assert causes.RETURNED_NONE in feedback and "internal error" not in feedback


def test_an_error_of_the_graders_own_is_still_an_internal_error():
    def grader_bug(ex):
        return {}["missing key"]
    status, feedback, _ = plugin.classify(_raise(grader_bug), function="dot", module="ex01_vectors")
    assert status is CheckStatus.ERROR and feedback.startswith("internal error in the grader")


def _raise(test):
    try:
        test(None)
    except BaseException as exc:
        return exc
    raise AssertionError("did not raise")


def test_hints_for_wrong_results_follow_the_problem():
    want = np.arange(3)
    assert causes.hint_for_result("wrong dtype: expected int64, got float64", want * 1.0, want,
                                  hint="the axis hint") .startswith("the dtype is float64 where int64")
    assert causes.hint_for_result("wrong dtype: ...", want * 1.0, want, hint="axis",
                                  dtype_hint="keep ints") == "keep ints"
    assert causes.hint_for_result("wrong shape: expected (3,), got (4,)", np.zeros(4), want,
                                  hint="the axis hint") == "the axis hint"
    assert causes.hint_for_result("expected an int64 array (3,), got None", None, want,
                                  hint="the axis hint") == causes.RETURNED_NONE
    assert causes.hint_for_result("values differ ...", want + 1, want, hint="the axis hint") == "the axis hint"
