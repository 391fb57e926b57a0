"""`make bench` measures the pool the way grading uses it: a submission folder under the pool's
root, shared with its workers' group, a worker forked for each learner (bench/grading.py)."""

from __future__ import annotations

from bench.grading import worker_starts


def test_the_pool_benchmark_forks_workers_that_import_a_submission():
    out = worker_starts(2)
    assert out["isolation"].startswith("isolation: ")
    assert out["pool_start_and_first_worker_s"] > 0 and out["forked_worker_s"] > 0
