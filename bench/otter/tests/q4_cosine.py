"""ex01_vectors, cosine_similarity."""
import numpy as np
from otter.test_files import test_case

OK_FORMAT = False
name = "q4_cosine_similarity"
points = 3


@test_case(points=1)
def test_cosine_same_opposite_perpendicular(cosine_similarity):
    assert np.isclose(cosine_similarity([1.0, 2.0], [2.0, 4.0]), 1.0)
    assert np.isclose(cosine_similarity([1.0, 2.0], [-1.0, -2.0]), -1.0)
    assert np.isclose(cosine_similarity([1.0, 0.0], [0.0, 3.0]), 0.0)


@test_case(points=1)
def test_cosine_random(cosine_similarity):
    rng = np.random.default_rng(3)
    a, b = rng.standard_normal(20), rng.standard_normal(20)
    want = float(np.sum(a * b) / np.sqrt(np.sum(a * a) * np.sum(b * b)))
    assert np.isclose(cosine_similarity(a, b), want, rtol=1e-10)


@test_case(points=1)
def test_cosine_rejects_zero_vector(cosine_similarity):
    try:
        cosine_similarity([0.0, 0.0], [1.0, 2.0])
    except ValueError:
        return
    raise AssertionError("cosine_similarity accepted the zero vector")
