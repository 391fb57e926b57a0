"""The class overview: one self-contained HTML page (plots embedded as base64 PNG data URIs).

It shows the score distribution, each exercise's pass rate, the checks failed most often,
the slowest submissions and the broken ones. Built from the result documents alone, so a
merged set of shards gets the same page as one big batch.
"""

from __future__ import annotations

import base64
import html
import io
import statistics
from collections import Counter
from pathlib import Path

from grader import __version__
from grader.files import write_text
from grader.report.gradebook import ERROR, NOT_STARTED, OK, exercise_columns, row_status
from grader.results import CheckStatus, ExerciseStatus, Submission
from grader.settings import Limits
from grader.truncation import SUMMARY_CHECKS, SUMMARY_SLOWEST

FAILING = (CheckStatus.FAILED, CheckStatus.ERROR, CheckStatus.TIMEOUT)
TITLE = "Class summary"

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 62em; color: #222; }
h1 { margin-bottom: 0.2em; } h2 { margin-top: 1.6em; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; margin: 0.5em 0; } td, th { padding: 0.25em 0.7em; text-align: left;
  border-bottom: 1px solid #eee; vertical-align: top; } th { background: #f4f4f4; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.plots { display: flex; flex-wrap: wrap; gap: 1em; } .plots img { max-width: 100%; border: 1px solid #ddd; }
.muted { color: #777; } .error { color: #a0166b; }
"""


def _png(fig) -> str:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def score_plot(results: list[Submission]) -> str:
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    fig = Figure(figsize=(5.6, 3.4))
    ax = fig.add_subplot()
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))   # counts of submissions
    percents = [100 * r.score / r.max_score for r in results if r.max_score > 0]
    ax.hist(percents, bins=[i * 10 for i in range(11)], color="tab:blue", edgecolor="white")
    ax.set_xlim(0, 100)
    ax.set_xlabel("score (% of the maximum)")
    ax.set_ylabel("submissions")
    ax.set_title(f"Score distribution ({len(percents)} submissions)")
    return _png(fig)


# The order of the stacked bars and of the table's columns, with their colours.
RATE_STATUSES = ((ExerciseStatus.PASSED, "passed", "tab:green"),
                 (ExerciseStatus.FAILED, "failed", "tab:orange"),
                 (ExerciseStatus.ERROR, "error", "#a0166b"),
                 (ExerciseStatus.NOT_STARTED, "not started", "#cccccc"))


def pass_rates(results: list[Submission]) -> dict[str, tuple[float, ...]]:
    """Per exercise: the shares of submissions that passed it, failed it, could not be graded
    on it (error), and did not start it, in the order of ``RATE_STATUSES``."""
    rates = {}
    for ex_id in exercise_columns(results):
        statuses = [e.status for r in results for e in r.exercises if e.id == ex_id]
        if statuses:
            rates[ex_id] = tuple(statuses.count(s) / len(statuses) for s, _, _ in RATE_STATUSES)
    return rates


def pass_rate_plot(rates: dict[str, tuple[float, ...]]) -> str:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(5.6, 0.8 + 0.45 * max(1, len(rates))))
    ax = fig.add_subplot()
    names = list(rates)[::-1]
    left = [0.0] * len(names)
    for i, (_, label, colour) in enumerate(RATE_STATUSES):
        share = [100 * rates[n][i] for n in names]
        ax.barh(names, share, left=left, color=colour, label=label)
        left = [a + b for a, b in zip(left, share)]
    passed = [100 * rates[n][0] for n in names]
    for y, p in enumerate(passed):
        ax.text(min(p + 1, 92), y, f"{p:.0f}%", va="center", fontsize=9)
    ax.set_xlim(0, 100)
    ax.set_xlabel("% of submissions")
    ax.set_title("Exercises passed", pad=24)
    ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=len(RATE_STATUSES), fontsize=8,
              frameon=False)
    return _png(fig)


def failed_checks(results: list[Submission]) -> list[tuple[str, str, int, int]]:
    """(exercise, check, failed, attempted), most failed first; not-started checks do not count."""
    failed: Counter[tuple[str, str]] = Counter()
    attempted: Counter[tuple[str, str]] = Counter()
    for r in results:
        if r.error:
            continue
        for ex in r.exercises:
            if ex.status is ExerciseStatus.ERROR:      # never loaded: not a check's failure
                continue
            for c in ex.checks:
                if c.not_started or c.status is CheckStatus.SKIPPED:
                    continue
                key = (ex.id, c.id)
                attempted[key] += 1
                failed[key] += c.status in FAILING
    ranked = sorted((k for k in failed if failed[k]), key=lambda k: (-failed[k], k))
    return [(k[0], k[1], failed[k], attempted[k]) for k in ranked[:SUMMARY_CHECKS]]


def _e(text: object) -> str:
    return html.escape(str(text))


def _table(head: list[str], rows: list[list[str]], numeric: set[int] = frozenset()) -> str:
    if not rows:
        return '<p class="muted">None.</p>'
    out = ["<table><tr>" + "".join(f"<th>{_e(h)}</th>" for h in head) + "</tr>"]
    for row in rows:
        out.append("<tr>" + "".join(f'<td class="num">{c}</td>' if i in numeric else f"<td>{c}</td>"
                                    for i, c in enumerate(row)) + "</tr>")
    return "\n".join(out + ["</table>"])


def render(results: list[Submission], *, limits: Limits | None = None) -> str:
    results = sorted(results, key=lambda r: r.submission)
    statuses = Counter(row_status(r)[0] for r in results)
    percents = [100 * r.score / r.max_score for r in results if r.max_score > 0]
    rates = pass_rates(results)
    parts = [f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{TITLE}</title>",
             f"<style>{STYLE}</style></head><body>", f"<h1>{TITLE}</h1>"]
    parts.append(f"<p>{len(results)} submissions: {statuses[OK]} graded, "
                 f"{statuses[NOT_STARTED]} not started, "
                 f"<span class='error'>{statuses[ERROR]} with errors</span>.")
    if percents:
        parts.append(f" Mean score {statistics.mean(percents):.1f}%, "
                     f"median {statistics.median(percents):.1f}%.")
    parts.append("</p>")
    if results:
        parts.append(f'<div class="plots"><img alt="score distribution" src="{score_plot(results)}">')
        if rates:
            parts.append(f'<img alt="exercise pass rates" src="{pass_rate_plot(rates)}">')
        parts.append("</div>")

    parts.append("<h2>Exercises</h2>")
    parts.append(_table(["exercise", *(label for _, label, _ in RATE_STATUSES)],
                        [[_e(k), *(f"{100 * x:.0f}%" for x in v)] for k, v in rates.items()],
                        set(range(1, len(RATE_STATUSES) + 1))))
    parts.append("<h2>Checks failed most often</h2><p class='muted'>Among submissions that "
                 "attempted the function (not-started checks and modules that did not load are "
                 "left out).</p>")
    parts.append(_table(["exercise", "check", "failed", "of attempted"],
                        [[_e(ex), f"<code>{_e(c)}</code>", str(f), f"{a} ({100 * f / a:.0f}%)"]
                         for ex, c, f, a in failed_checks(results)], {2, 3}))
    timed = sorted((r for r in results if isinstance(r.environment.get("elapsed_s"), (int, float))),
                   key=lambda r: -r.environment["elapsed_s"])[:SUMMARY_SLOWEST]
    parts.append("<h2>Slowest submissions</h2>")
    parts.append(_table(["submission", "grading time", "status"],
                        [[_e(r.submission), f"{r.environment['elapsed_s']:.1f} s", _e(row_status(r)[0])]
                         for r in timed], {1}))
    broken = [(r, row_status(r)[1]) for r in results if row_status(r)[0] == ERROR]
    parts.append(f"<h2>Broken submissions ({len(broken)})</h2>")
    parts.append(_table(["submission", "score", "reason"],
                        [[_e(r.submission), f"{r.score:g} / {r.max_score:g}", _e(why)]
                         for r, why in broken], {1}))
    foot = f"grader {__version__}"
    if limits is None and results and isinstance(results[0].environment.get("limits"), dict):
        try:
            limits = Limits(**results[0].environment["limits"])
        except TypeError:
            limits = None
    if limits is not None:
        foot += "; " + limits.describe()
    parts.append(f"<hr><p class='muted'>{_e(foot)}</p></body></html>")
    return "\n".join(parts) + "\n"


def write(path: Path, results: list[Submission], *, limits: Limits | None = None) -> None:
    write_text(path, render(results, limits=limits))
