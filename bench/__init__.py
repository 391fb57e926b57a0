"""The benchmarks behind `make bench` (not part of the grader package)."""
