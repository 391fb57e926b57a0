# The kit's commands. `make grade` and `make test` create .venv when it is missing.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
EX     ?=
ARGS   ?=
OUT    ?= out
JOBS   ?=

.PHONY: grade test test-fast bench batch notebooks watch gradescope predictions svd-digits clean help

help:
	@echo "make grade [EX=ex03_matmul]   grade your exercises/ (all, or one exercise)"
	@echo "make test                     run the kit's own tests (all tiers, a few minutes)"
	@echo "make test-fast                the unit tier only (no worker processes, seconds)"
	@echo "make batch SUBMISSIONS=DIR [OUT=out] [JOBS=N]   grade a class (instructors)"
	@echo "make gradescope               build autograder.zip for Gradescope"
	@echo "make bench                    benchmarks (timing stability, grading speed)"
	@echo "make notebooks                build notebooks/<exercise>.ipynb from the stubs"
	@echo "make watch [EX=ex03_matmul]   re-grade on every save (Ctrl-C stops)"
	@echo "make predictions [SUBMISSION=PATH]   train your ex04 model, draw build/ex04_predictions.png"
	@echo "make svd-digits [SUBMISSION=PATH]    your ex08 pca rebuilds digits: build/ex08_svd_digits.png"

$(STAMP): pyproject.toml constraints.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -c constraints.txt -e .
	@touch $(STAMP)

grade: $(STAMP)
	$(PY) -m grader grade $(EX) $(ARGS)

test: $(STAMP)
	$(PY) -m pytest -q $(ARGS)

test-fast: $(STAMP)
	$(PY) -m pytest -q tests/unit $(ARGS)

notebooks: $(STAMP)
	$(PY) -m grader.instructor.build_notebooks

watch: $(STAMP)
	$(PY) -m grader watch $(EX) $(ARGS)

# ex04: the learner's SimpleMnist after one epoch of their fit, on 32 held-out digits.
predictions: $(STAMP)
	$(PY) -m grader show-predictions $(if $(SUBMISSION),--submission "$(SUBMISSION)") $(ARGS)

# ex08: MNIST digits rebuilt from 1, 5, 20 and 50 components of the learner's pca.
svd-digits: $(STAMP)
	$(PY) -m grader svd-digits $(if $(SUBMISSION),--submission "$(SUBMISSION)") $(ARGS)

batch: $(STAMP)
	@test -n "$(SUBMISSIONS)" || { echo "usage: make batch SUBMISSIONS=DIR [OUT=out] [JOBS=N]"; exit 2; }
	$(PY) -m grader batch "$(SUBMISSIONS)" $(EX) $(ARGS) --out "$(OUT)" $(if $(JOBS),--jobs $(JOBS))

gradescope: $(STAMP)
	$(PY) -m grader gradescope --build-zip autograder.zip

# Benchmarks. First grading speed (bench/grading.py: `grader grade` whole kit and per
# exercise, worker starts, batch throughput, otter comparison when /tmp/otter-venv exists;
# BENCH_ARGS=--quick for a short run) -> table + bench-results/grading.json. Then timing
# stability: every speed target, solutions vs bench/anti/ loops, TIMING_REPS times each with
# BUSY CPU-burning processes beside it -> table + bench-results/timing.json.
TIMING_REPS ?= 5
RUNS ?= $(TIMING_REPS)
BUSY ?= 2
BENCH_ARGS ?=
bench: $(STAMP)
	$(PY) -m bench.grading --json bench-results/grading.json $(BENCH_ARGS)
	$(PY) -m bench.timing --runs $(RUNS) --busy $(BUSY) --json bench-results/timing.json

clean:
	rm -rf $(VENV) build *.egg-info
