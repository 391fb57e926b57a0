"""The exercises the kit teaches, in teaching order: ids, titles, graded functions, suites."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

SUITES_DIR = Path(__file__).resolve().parent / "suites"


@dataclass(frozen=True)
class ExerciseInfo:
    id: str
    title: str
    functions: tuple[str, ...]
    uses_torch: bool = False

    @property
    def suite(self) -> Path:
        return SUITES_DIR / f"test_{self.id}.py"

    @property
    def filename(self) -> str:
        return f"{self.id}.py"


EXERCISES: tuple[ExerciseInfo, ...] = (
    ExerciseInfo("ex01_vectors", "Vectors: dot product, norm, cosine similarity",
                 ("dot", "norm", "unit", "cosine_similarity")),
    ExerciseInfo("ex02_broadcasting", "Broadcasting: the rule, expand_dims, broadcast_to",
                 ("broadcast_shape", "expand_dims", "broadcast_to")),
    ExerciseInfo("ex03_matmul", "Matrix multiplication from broadcasting",
                 ("matvec", "matmul", "matmul_loops", "batched_matmul")),
    ExerciseInfo("ex04_simple_mnist", "SimpleMnist: a two-layer network on real digits",
                 ("get_weights", "SimpleMnist", "predict", "accuracy", "fit"), uses_torch=True),
    ExerciseInfo("ex05_health_states", "Markov health states and shop totals",
                 ("next_year", "after_years", "shop_totals", "cheapest_shop")),
    ExerciseInfo("ex06_vectorize", "Vectorize for speed on CPU and GPU",
                 ("pairwise_sq_dists", "softmax", "normalize_channels", "knn_predict"),
                 uses_torch=True),
)

BY_ID = {e.id: e for e in EXERCISES}


class UnknownExercise(ValueError):
    pass


def select(ids: list[str] | tuple[str, ...] | None) -> list[ExerciseInfo]:
    """The exercises named (by id or by number, e.g. ``ex03`` or ``3``), or all of them."""
    if not ids:
        return [e for e in EXERCISES if e.suite.exists()]
    chosen = []
    for raw in ids:
        key = raw.strip()
        match = [e for e in EXERCISES if e.id == key or e.id.split("_")[0] == key
                 or (key.isdigit() and e.id.startswith(f"ex{int(key):02d}_"))]
        if not match:
            known = ", ".join(e.id for e in EXERCISES)
            raise UnknownExercise(f"unknown exercise {raw!r}; the exercises are: {known}")
        if match[0] not in chosen:
            chosen.append(match[0])
    return chosen


def preload_for(selected: list[ExerciseInfo], present: set[str] | tuple[str, ...] | list[str]
                ) -> list[str]:
    """The libraries a worker for these exercises imports ahead of time: NumPy always, PyTorch
    when one of the ``present`` exercises uses it."""
    torch = any(e.uses_torch and e.id in present for e in selected)
    return ["numpy", "torch"] if torch else ["numpy"]
