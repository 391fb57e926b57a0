"""Speed targets: the learner's function timed against a baseline, as a ratio.

The baseline (``baselines/<exercise>.py``) is the library routine the exercise forbids
(``np.matmul``, ``torch.cdist``, ...), never the reference solution: it gives no answer
away, so the student kit ships it and a learner's speed verdict is measured against the
same code on both sides. Below, "reference" is that baseline's side of the measurement.

How one verdict is reached (``measure``):

1. The baseline runs in a worker of its own (``References``: a second ``Learner`` over a
   scratch folder holding copies of ``baselines/``), never in the learner's worker, so
   both sides pay the same process start, limits, thread settings and pipe costs.
2. The grader makes the inputs (seeded ``rng``): every call of a block gets inputs of its own,
   so a cache gains nothing. Each block's argument lists are encoded once and the same bytes
   go to both workers *inside* the timed request (``Learner.time_calls``): nothing can be
   prepared for them beforehand, and both sides pay the same transfer.
3. Warm-up: a few calls on each side. The reference's warm-up time sets how many calls make
   one block (about ``BLOCK_S`` of work), long enough to swamp timer and request overhead.
4. Rounds. Each makes two fresh sets of inputs, A and B, and runs four blocks in the order
   learner A, reference A, reference B, learner B (reference first every other round); each
   block is one request timed with the grader's ``time.perf_counter``. The request returns
   every output (after ``torch.cuda.synchronize`` on a GPU), so no work can hide after the
   clock stops, and a sample of the outputs is then checked against the suite's oracle: a
   submission that patches its clock, caches, or returns early cannot pass. Another process
   can only add time to a block, so a round compares each side's faster block: its ratio is
   min(learner A, B) / min(reference A, B).
5. The verdict is the median of the per-round ratios (the lower middle one: a round that
   happened, whose per-call times the feedback shows, so its figures give its ratio). Three rounds that all land a factor
   ``CLEAR`` from the target decide at once; otherwise five rounds, and more (up to
   ``MAX_ROUNDS``) only while the median is within ``BAND`` of the target. A round over
   ``STOP_FACTOR`` times the target ends the measurement at once (both learner blocks were
   that slow: no load explains it), and so does a learner block still running after
   ``STOP_FACTOR`` times the target's time (or the call time limit, if longer).

``torch.utils.benchmark`` is not used: it times code inside the process that runs it, which
here is the learner's worker, whose clock the learner controls. The decisive figure has to
be taken on the grader's side of the process boundary.
"""

from __future__ import annotations

import math
import shutil
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from grader import registry
from grader.checks import diagnose
from grader.engine.timing_lock import exclusive_timing
from grader.errors import WorkerTimeout
from grader.isolation.client import Encoded, Learner
from grader.isolation.pool import Pool
from grader.paths import BASELINES_DIR
from grader.results import Timing


BLOCK_S = 0.04         # reference time per block: >> timer resolution and one request's overhead
WARMUP_CALLS = 3
MIN_CALLS, MAX_CALLS = 3, 256
FIRST_ROUNDS = 3       # enough when every ratio is a factor CLEAR away from the target
ROUNDS = 5             # otherwise this many ...
MAX_ROUNDS = 15        # ... and up to this many while the median is near the target
BAND = 0.30            # "near": within +-30 % of the target
CLEAR = 2.0
STOP_FACTOR = 10.0     # a round's ratio over this many times the target ends the measurement
SAMPLE = 8             # outputs per block checked against the oracle
# Which outputs are checked is drawn from the operating system's entropy, not from the seeded
# generator that makes the inputs: the seed and the suites are public, so a learner who could
# replay that generator would know which calls to compute and which to skip.
_SAMPLER = np.random.default_rng()

SUMMARY = ("{what}: {learner} per call, {baseline} {reference} per call: ratio {ratio:.2f} "
           "(target: at most {target:g}; the median of {rounds} of {calls} calls each)")
TOO_SLOW = "too slow: {summary}"
STOPPED = ("too slow: {what}: a block of {calls} calls that takes {baseline} {reference} "
           "did not finish within {seconds:.1f} s, over {factor:g}x the target's time")
WRONG_OUTPUT = ("while timing {what}, call {index} of {where} returned a wrong result: {problem}\n"
                "  every timed call gets fresh inputs: compute each result, do not reuse earlier ones")
DEFAULT_HINT = ("say the whole computation as a few operations on whole tensors or arrays "
                "(broadcasting, one matrix product) instead of a Python loop over rows")


@dataclass(frozen=True)
class SpeedCase:
    """One speed target: how to make one call's arguments, what the answer is, and the target.

    ``make_args(rng)`` returns one call's positional arguments on the CPU (NumPy arrays or
    tensors); tensors are moved to the device being timed. ``expected(args)`` is the
    independent oracle's answer for them. ``target`` is the largest ratio learner/baseline
    that passes (``course.toml`` may change it); ``baseline`` names the baseline's routine
    for the feedback (``baselines/<module>.py`` holds its code).
    """

    module: str
    function: str
    make_args: Callable[[np.random.Generator], tuple]
    expected: Callable[[tuple], Any]
    target: float
    inputs: str = ""                  # what the inputs are, for the feedback
    rtol: float = 1e-5
    atol: float = 1e-6
    check_dtype: bool = True
    hint: str = DEFAULT_HINT
    baseline: str = "the baseline"

    def args(self, rng: np.random.Generator, device: str) -> tuple:
        return tuple(_to_device(a, device) for a in self.make_args(rng))


@dataclass
class Verdict:
    case: SpeedCase
    device: str
    calls: int = 0
    learner_times: list[float] = field(default_factory=list)     # per block
    reference_times: list[float] = field(default_factory=list)
    ratios: list[float] = field(default_factory=list)
    problem: str | None = None        # a wrong output, or a block stopped as too slow

    @property
    def target(self) -> float:
        return self.case.target

    @property
    def rounds(self) -> int:
        return len(self.ratios)

    @property
    def median_round(self) -> int | None:
        """The round whose ratio is the verdict's (the lower middle one)."""
        if not self.ratios:
            return None
        order = sorted(range(len(self.ratios)), key=self.ratios.__getitem__)
        return order[(len(order) - 1) // 2]

    @property
    def ratio(self) -> float:
        r = self.median_round
        return self.ratios[r] if r is not None else math.inf

    @property
    def learner_s(self) -> float:
        """Per call, in the round that decides (so learner_s / reference_s is the ratio)."""
        r = self.median_round
        return self.learner_times[r] / self.calls if r is not None else math.inf

    @property
    def reference_s(self) -> float:
        r = self.median_round
        return self.reference_times[r] / self.calls if r is not None else 0.0

    @property
    def passed(self) -> bool:
        return self.problem is None and self.ratio <= self.target

    @property
    def what(self) -> str:
        inputs = f" with {self.case.inputs}" if self.case.inputs else ""
        return f"{self.case.function} on {self.device}{inputs}"

    def timing(self) -> Timing | None:
        if not self.ratios:
            return None
        return Timing(learner_s=self.learner_s, reference_s=self.reference_s, ratio=self.ratio,
                      target_ratio=self.target, rounds=self.rounds, baseline=self.case.baseline)

    def summary(self) -> str:
        return SUMMARY.format(what=self.what, learner=_seconds(self.learner_s),
                              baseline=self.case.baseline,
                              reference=_seconds(self.reference_s), ratio=self.ratio,
                              target=self.target, calls=self.calls,
                              rounds=f"{self.rounds} round" + ("s" if self.rounds != 1 else ""))

    def feedback(self) -> str:
        if self.problem is not None:
            return self.problem
        return TOO_SLOW.format(summary=self.summary()) + f"\n  hint: {self.case.hint}"


class References:
    """The baselines, run in a worker of their own with the learner's settings.

    The worker's folder holds copies of ``baselines/<exercise>.py``: the learner's worker
    never has them on its path. Started on first use; ``close()`` ends it.
    """

    def __init__(self, pool: Pool, solutions: Path = BASELINES_DIR, *, cuda: bool = False) -> None:
        self.pool = pool
        self.solutions = Path(solutions)      # the folder of the modules timed against
        self.cuda = cuda
        self._learner: Learner | None = None
        self._dir: Path | None = None

    def get(self, module: str) -> Learner | None:
        if not (self.solutions / f"{module}.py").exists():
            return None
        if self._learner is None:
            self._dir = self.pool.folder("reference-")
            folder = self._dir / "reference"
            folder.mkdir()
            modules = []
            for info in registry.EXERCISES:
                src = self.solutions / info.filename
                if src.exists():
                    shutil.copyfile(src, folder / info.filename)
                    modules.append(info.id)
            for path in (self._dir, folder, *folder.iterdir()):   # kit code: any worker may read it
                path.chmod(0o755 if path.is_dir() else 0o644)
            self._learner = Learner(folder, pool=self.pool, modules=modules, cuda=self.cuda,
                                    name="reference")
        return self._learner

    def start(self, module: str) -> None:
        """Fork the reference worker now (it gets ready while the learner's checks run)."""
        reference = self.get(module)
        if reference is not None:
            reference.start()

    def close(self) -> None:
        if self._learner is not None:
            self._learner.close()
            self._learner = None
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None


def measure(case: SpeedCase, *, learner: Learner, reference: Learner, device: str = "cpu",
            rng: np.random.Generator, call_timeout: float = 10.0, lock: str | None = None) -> Verdict:
    """Time ``case.function`` of ``learner`` against ``reference``; see the module docstring.

    ``lock`` is a batch's timing lock file (``Settings.timing_lock``): parallel gradings of a
    batch then never measure at the same moment (``timing_lock.py``).
    """
    verdict = Verdict(case, device)
    sync = device != "cpu"

    def run(side: Learner, inputs: Encoded, timeout: float) -> tuple[float, list]:
        result = side.time_calls(case.module, [case.function], inputs, timeout=timeout,
                                 sync_cuda=sync)
        return result.seconds, result.value

    with exclusive_timing(lock):
        warm = [case.args(rng, device) for _ in range(WARMUP_CALLS)]
        warm_sent = learner.encode_inputs(warm)
        run(reference, warm_sent, call_timeout)
        done = _run_learner(lambda t: run(learner, warm_sent, t), call_timeout, verdict, None)
        if done is None or _check_outputs(verdict, warm, done[1], range(WARMUP_CALLS), "the warm-up"):
            return verdict
        ref_seconds, ref_out = run(reference, warm_sent, call_timeout)
        _check_reference(case, warm, ref_out)
        per_call = ref_seconds / WARMUP_CALLS
        verdict.calls = calls = min(MAX_CALLS, max(MIN_CALLS, math.ceil(BLOCK_S / max(per_call, 1e-9))))
        cutoff = max(call_timeout, STOP_FACTOR * case.target * per_call * calls)
        for r in range(MAX_ROUNDS):
            inputs = {key: [case.args(rng, device) for _ in range(calls)] for key in "ab"}
            sent = {key: learner.encode_inputs(block) for key, block in inputs.items()}
            # A-B-B-A: learner, reference, reference, learner (flipped every other round).
            first, second = (learner, reference) if r % 2 == 0 else (reference, learner)
            times: dict[tuple[str, str], float] = {}
            for side, key in ((first, "a"), (second, "a"), (second, "b"), (first, "b")):
                if side is reference:
                    times["reference", key] = run(reference, sent[key], call_timeout)[0]
                    continue
                done = _run_learner(lambda t: run(learner, sent[key], t), cutoff, verdict,
                                    per_call * calls)
                if done is None:
                    return verdict
                times["learner", key] = done[0]
                sample = sorted(_SAMPLER.choice(calls, size=min(SAMPLE, calls), replace=False).tolist())
                if _check_outputs(verdict, inputs[key], done[1], sample, f"round {r + 1}"):
                    return verdict
            # Another process can only add time to a block, so each side's faster block of
            # the two is the better estimate of its cost.
            learner_s = min(times["learner", "a"], times["learner", "b"])
            reference_s = min(times["reference", "a"], times["reference", "b"])
            verdict.learner_times.append(learner_s)
            verdict.reference_times.append(reference_s)
            verdict.ratios.append(learner_s / max(reference_s, 1e-12))
            if decided(verdict.ratios, case.target):
                break
    return verdict


def decided(ratios: list[float], target: float) -> bool:
    """Whether the rounds so far settle the verdict (sequential: more rounds only near the target)."""
    n = len(ratios)
    if ratios[-1] > STOP_FACTOR * target:
        return True
    if n >= FIRST_ROUNDS and (min(ratios) > CLEAR * target or max(ratios) < target / CLEAR):
        return True
    if n >= ROUNDS and abs(statistics.median(ratios) / target - 1) > BAND:
        return True
    return n >= MAX_ROUNDS


def _run_learner(run, timeout: float, verdict: Verdict,
                 reference_block: float | None) -> tuple[float, list] | None:
    """``run(timeout)`` of a learner block; None (the verdict says why) when it was stopped."""
    try:
        return run(timeout)
    except WorkerTimeout:
        reference = _seconds(reference_block) if reference_block else "a fraction of that"
        verdict.problem = STOPPED.format(what=verdict.what, calls=verdict.calls or WARMUP_CALLS,
                                         baseline=verdict.case.baseline,
                                         reference=reference, seconds=timeout,
                                         factor=STOP_FACTOR) + f"\n  hint: {verdict.case.hint}"
        return None


def _check_outputs(verdict: Verdict, inputs: list[tuple], outputs: Any, indices, where: str) -> bool:
    """Record the first wrong output among ``indices`` as the verdict's problem; True if one was."""
    case = verdict.case
    if not isinstance(outputs, list) or len(outputs) != len(inputs):
        verdict.problem = f"while timing {verdict.what}: the worker returned no list of outputs"
        return True
    for i in indices:
        problem = _compare(case, outputs[i], case.expected(inputs[i]))
        if problem is not None:
            verdict.problem = WRONG_OUTPUT.format(what=verdict.what, index=i + 1, where=where,
                                                  problem=problem)
            return True
    return False


def _compare(case: SpeedCase, got: Any, want: Any) -> str | None:
    """What is wrong with one output: an array or tensor, a number, or a tuple or dict of them
    as the oracle gives (``train_step`` returns new parameters and the loss)."""
    if isinstance(want, dict):
        if not isinstance(got, dict) or set(got) != set(want):
            return f"expected a dict with keys {sorted(want)}, got {type(got).__name__}"
        for key in want:
            problem = _compare(case, got[key], want[key])
            if problem is not None:
                return f"{key}: {problem}"
        return None
    if isinstance(want, float):
        if isinstance(got, bool) or not isinstance(got, (int, float)) \
                or not math.isclose(got, want, rel_tol=max(case.rtol, 1e-6), abs_tol=case.atol):
            return f"expected {want:.6g}, got {got!r}"
        return None
    if isinstance(want, tuple):
        if not isinstance(got, (tuple, list)) or len(got) != len(want):
            return f"expected a tuple of {len(want)} values, got {type(got).__name__}"
        for n, (g, w) in enumerate(zip(got, want)):
            problem = _compare(case, g, w)
            if problem is not None:
                return f"value {n} of the tuple: {problem}"
        return None
    return diagnose.compare_arrays(got, want, rtol=case.rtol, atol=case.atol,
                                   check_dtype=case.check_dtype)


def _check_reference(case: SpeedCase, inputs: list[tuple], outputs: list) -> None:
    problem = _compare(case, outputs[0], case.expected(inputs[0]))
    if problem is not None:   # the oracle and the baseline disagree: the kit is wrong
        raise RuntimeError(f"the baseline of {case.function} ({case.baseline}) disagrees with "
                           f"the oracle: {problem}")


def _to_device(value: Any, device: str) -> Any:
    if device == "cpu" or isinstance(value, np.ndarray) or not hasattr(value, "to"):
        return value
    return value.to(device)


def _seconds(s: float) -> str:
    if not math.isfinite(s):
        return "?"
    if s >= 1:
        return f"{s:.2f} s"
    if s >= 1e-3:
        return f"{s * 1e3:.2f} ms"
    return f"{s * 1e6:.0f} us"
