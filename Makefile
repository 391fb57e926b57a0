# The kit's commands. `make grade` and `make test` create .venv when it is missing.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
EX     ?=
ARGS   ?=

.PHONY: grade test bench batch notebooks gradescope clean help

help:
	@echo "make grade [EX=ex03_matmul]   grade your exercises/ (all, or one exercise)"
	@echo "make test                     run the kit's own tests"
	@echo "make batch SUBMISSIONS=DIR    grade a class (instructors)"
	@echo "make bench                    benchmarks (timing stability, grading speed)"

$(STAMP): pyproject.toml constraints.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -c constraints.txt -e .
	@touch $(STAMP)

grade: $(STAMP)
	$(PY) -m grader grade $(EX) $(ARGS)

test: $(STAMP)
	$(PY) -m pytest -q $(ARGS)

clean:
	rm -rf $(VENV) build *.egg-info
