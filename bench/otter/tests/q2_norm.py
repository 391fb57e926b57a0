"""ex01_vectors, norm."""
import numpy as np
from otter.test_files import test_case

OK_FORMAT = False
name = "q2_norm"
points = 3


@test_case(points=1)
def test_norm_lesson_example(norm):
    got = norm([3.0, 4.0])
    assert type(got) is float and got == 5.0, f"norm([3, 4]) gave {got!r}, expected 5.0"


@test_case(points=1)
def test_norm_random_and_empty(norm):
    v = np.random.default_rng(1).standard_normal(40)
    assert np.isclose(norm(v), float(np.sqrt(np.sum(v * v))), rtol=1e-12)
    assert norm([]) == 0.0


@test_case(points=1)
def test_norm_rejects_2d(norm):
    try:
        norm(np.ones((2, 2)))
    except ValueError:
        return
    raise AssertionError("norm accepted a (2, 2) array")
