"""ex01_vectors, unit."""
import numpy as np
from otter.test_files import test_case

OK_FORMAT = False
name = "q3_unit"
points = 3


@test_case(points=1)
def test_unit_lesson_example(unit):
    got = unit([3.0, 4.0])
    assert isinstance(got, np.ndarray) and np.allclose(got, [0.6, 0.8], rtol=1e-12)


@test_case(points=1)
def test_unit_has_length_one(unit):
    v = np.random.default_rng(2).standard_normal(30)
    assert np.isclose(np.sqrt(np.sum(unit(v) ** 2)), 1.0, rtol=1e-12)


@test_case(points=1)
def test_unit_rejects_zero_vector(unit):
    try:
        unit([0.0, 0.0])
    except ValueError:
        return
    raise AssertionError("unit accepted the zero vector")
