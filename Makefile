# The kit's commands. `make grade` and `make test` create .venv when it is missing;
# PY=/path/to/python uses that interpreter as it is instead (nothing is installed).
PYTHON ?= python3
VENV   := .venv
ifeq ($(strip $(PY)),)
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
else
STAMP  :=
endif
EX     ?=
ARGS   ?=
OUT    ?= out
JOBS   ?=

.PHONY: setup grade hint test test-fast bench bench-gpu batch notebooks watch gradescope predictions svd-digits release course clean help

help:
	@echo "make setup                    create .venv and install the kit (make grade does it too)"
	@echo "make grade [EX=ex03_matmul]   grade your exercises/ (all, or one exercise)"
	@echo "make hint EX=ex03_matmul      one more hint for the first check that does not pass yet"
	@echo "make test                     run the kit's own tests (all tiers, a few minutes)"
	@echo "make test-fast                the unit tier only (no worker processes, seconds)"
	@echo "make batch SUBMISSIONS=DIR [OUT=out] [JOBS=N]   grade a class (instructors)"
	@echo "make course                   show the assignment (course.toml): checks, points, visibility"
	@echo "make release [OUT=DIR]        student kit, autograder.zip and solutions (default build/release)"
	@echo "make gradescope [EX=\"ex01 ex03\"] [VISIBILITY=...] [HIDDEN_VISIBILITY=...]   build autograder.zip"
	@echo "make bench                    benchmarks (timing stability, grading speed)"
	@echo "make bench-gpu [PY=python3]    on a CUDA machine: the [cuda] checks and CUDA speed targets (< 5 min)"
	@echo "make notebooks [FORCE=1]      build notebooks/<exercise>.ipynb from the stubs (instructors;"
	@echo "                              a notebook with edits is kept; FORCE=1 copies it aside first)"
	@echo "make watch [EX=ex03_matmul]   re-grade on every save (Ctrl-C stops)"
	@echo "make predictions [SUBMISSION=PATH]   train your ex04 model, draw build/ex04_predictions.png"
	@echo "make svd-digits [SUBMISSION=PATH]    your ex08 pca rebuilds digits: build/ex08_svd_digits.png"

$(VENV)/.installed: pyproject.toml constraints.txt
	@test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e .
	@touch $@

setup: $(STAMP)
	@echo "the kit is installed in $(VENV): its Python is $(PY)"

grade: $(STAMP)
	$(PY) -m grader grade $(EX) $(ARGS)

hint: $(STAMP)
	@test -n "$(EX)" || { echo "usage: make hint EX=ex03_matmul (the exercise you want a hint for)"; exit 2; }
	$(PY) -m grader hint $(EX) $(ARGS)

test: $(STAMP)
	$(PY) -m pytest -q $(ARGS)

test-fast: $(STAMP)
	$(PY) -m pytest -q tests/unit $(ARGS)

notebooks: $(STAMP)
	$(PY) -m grader.instructor.build_notebooks $(if $(FORCE),--force) $(ARGS)

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

# One assignment's autograder: the exercises of course.toml (or EX), its visibilities (or
# VISIBILITY for the public checks' tests, HIDDEN_VISIBILITY for the hidden ones').
ZIP ?= autograder.zip
gradescope: $(STAMP)
	$(PY) -m grader gradescope --build-zip "$(ZIP)" $(EX) $(if $(VISIBILITY),--visibility $(VISIBILITY)) $(if $(HIDDEN_VISIBILITY),--hidden-visibility $(HIDDEN_VISIBILITY)) $(ARGS)

# A course's release (grader/instructor/release.py): DIR/student/, DIR/autograder.zip, DIR/solutions/.
release: $(STAMP)
	$(PY) -m grader release --out "$(if $(filter command line,$(origin OUT)),$(OUT),build/release)" $(ARGS)

course: $(STAMP)
	$(PY) -m grader course $(ARGS)

# Benchmarks (the goals of the kit, met or missed). First timing stability (bench/timing.py):
# every speed target, solutions vs bench/anti/ loops, RUNS verdicts each with BUSY CPU-burning
# processes beside it -> bench-results/timing.json. Then grading speed (bench/grading.py):
# `import torch, numpy`, the whole kit and each exercise as a learner runs them, a batch of 30
# with 2 jobs, the pool's start, and every goal with its figure, including the timing
# verdicts just written -> bench-results/grading.json. BENCH_ARGS=--quick for a short run.
RUNS ?= 20
BUSY ?= 2
BENCH_ARGS ?=
bench: $(STAMP)
	-$(PY) -m bench.timing --runs $(RUNS) --busy $(BUSY) --json bench-results/timing.json
	$(PY) -m bench.grading --timing-json bench-results/timing.json --json bench-results/grading.json $(BENCH_ARGS)

# The GPU path (bench/gpu.py): the solutions graded with --device cuda (every [cuda] check),
# then every CUDA speed target, solutions vs bench/anti loops, 10 verdicts each; under 5
# minutes. On a machine with a CUDA PyTorch already installed: make bench-gpu PY=python3.
bench-gpu: $(STAMP)
	$(PY) -m bench.gpu $(ARGS)

clean:
	rm -rf $(VENV) build *.egg-info
