"""Stripping a suite of its hidden checks (grader/instructor/strip.py): the hidden tests go,
then whatever only they used, and the rest stays as written."""

from __future__ import annotations

import pytest

from grader.course import CheckOverride, Course
from grader.instructor.strip import StripError, hidden_tests, strip, undefined_names
from grader.results import Visibility

SUITE = '''"""A suite."""

import numpy as np
import pytest

from grader.checks.expect import expect, expect_array, expect_raises

pytestmark = pytest.mark.exercise("ex01_vectors")

SHARED = np.array([1.0, 2.0])
SHAPES = ((1, 2, 3), (4, 5, 6))   # only the hidden check's inputs


def _only_hidden(rng):
    return [rng.standard_normal(s) for s in SHAPES]


def _shared(x):
    return 2 * x


# -- dot -------------------------------------------------------------------------------
@pytest.mark.check(points=1)
def test_dot_lesson_example(ex):
    expect_array(ex.dot(SHARED, SHARED), _shared(2.5), call="dot(a, a)")


# The random cases: a comment that belongs to the hidden check.
@pytest.mark.check(points=2, visibility="hidden")
def test_dot_random_vectors(ex, rng):
    for a in _only_hidden(rng):
        expect(ex.dot(a, a) == _shared(a), "dot of a random vector with itself")


@pytest.mark.check(points=1)
def test_dot_rejects(ex):
    expect_raises(ValueError, ex.dot, SHARED, np.ones(3), call="dot(a, b)")
'''


def test_the_hidden_tests_are_read_from_the_markers_and_the_course():
    assert hidden_tests(SUITE, "ex01_vectors", Course()) == {"test_dot_random_vectors"}
    course = Course(checks={"ex01_vectors/dot_random_vectors": CheckOverride(visibility=Visibility.PUBLIC),
                            "ex01_vectors/dot_rejects": CheckOverride(visibility=Visibility.HIDDEN)})
    assert hidden_tests(SUITE, "ex01_vectors", course) == {"test_dot_rejects"}


def test_the_hidden_test_and_what_only_it_used_go_the_rest_stays_as_written():
    done = strip(SUITE, {"test_dot_random_vectors"})
    assert done.removed_tests == {"test_dot_random_vectors"}
    assert done.removed_names == {"_only_hidden", "SHAPES", "expect"}
    for gone in ("test_dot_random_vectors", "_only_hidden", "SHAPES", "(1, 2, 3)", "belongs to the hidden"):
        assert gone not in done.text
    for kept in ('@pytest.mark.check(points=1)\ndef test_dot_lesson_example(ex):\n',
                 "SHARED = np.array([1.0, 2.0])", "def _shared(x):", "# -- dot ----",
                 "from grader.checks.expect import expect_array, expect_raises\n",
                 'pytestmark = pytest.mark.exercise("ex01_vectors")'):
        assert kept in done.text
    assert "\n\n\n\n" not in done.text and undefined_names(done.text) == set()
    compile(done.text, "suite", "exec")


def test_nothing_hidden_changes_nothing():
    assert strip(SUITE, set()).text == SUITE


def test_a_visibility_that_is_not_a_literal_cannot_be_read():
    with pytest.raises(StripError, match="literal"):
        hidden_tests(SUITE.replace('visibility="hidden"', "visibility=HIDDEN"), "ex01_vectors", Course())


def test_an_unknown_test_is_an_error():
    with pytest.raises(StripError, match="no test function test_nope"):
        strip(SUITE, {"test_nope"})


def test_undefined_names_are_found():
    assert undefined_names("def f(a):\n    return a + b\n") == {"b"}
    assert undefined_names("import numpy as np\nx = [np.abs(i) for i in range(3)]\n") == set()
