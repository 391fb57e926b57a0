"""ex01_vectors, dot: the same cases as the kit's hidden suite (lesson example, ints, empty, shape errors)."""
import numpy as np
from otter.test_files import test_case

OK_FORMAT = False
name = "q1_dot"
points = 4


@test_case(points=1)
def test_dot_lesson_example(dot):
    got = dot(np.array([1.0, 2.0, 3.0]), np.array([4.0, 5.0, 6.0]))
    assert type(got) is float and got == 32.0, f"dot([1,2,3],[4,5,6]) gave {got!r}, expected 32.0"


@test_case(points=1)
def test_dot_ints_and_lists(dot):
    got = dot([1, 2, 3], [10, 20, 30])
    assert type(got) is float and got == 140.0, f"got {got!r}, expected 140.0"


@test_case(points=1)
def test_dot_random(dot):
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal(50), rng.standard_normal(50)
    assert np.isclose(dot(a, b), float(np.sum(a * b)), rtol=1e-12, atol=1e-12)


@test_case(points=1)
def test_dot_rejects_bad_shapes(dot):
    for a, b in (([1.0, 2.0], [1.0, 2.0, 3.0]), (np.ones((2, 2)), np.ones((2, 2)))):
        try:
            dot(a, b)
        except ValueError:
            continue
        raise AssertionError(f"dot accepted shapes {np.shape(a)} and {np.shape(b)}")
