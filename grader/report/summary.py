"""The class page: one self-contained HTML file that says who needs help.

It has the run's metadata (when, seed, timing, device, grader, isolation), the score
distribution and each exercise's pass rate and mean, a sortable table of every learner (score,
each exercise, flags for errors, hangs, memory, time limits, refused code, late work,
overrides), the learners behind each check failed most often (click a check), the learners
per flag, the speed ratios per speed target, what a regrade changed, the slowest and the
broken submissions. Built from the results alone (``final.py`` views), so a merge of shards
gets the same page as one big batch.

Learner text (names, errors) is escaped (``text.html_text``); links to feedback files are
URL-quoted. The page carries a Content-Security-Policy that allows only its own style and its
own sorting script (by hash) and images from data: URIs: nothing a learner's text could smuggle
in would run, even if an escape were missed.
"""

from __future__ import annotations

import base64
import hashlib
import io
import statistics
from collections import Counter
from pathlib import Path
from urllib.parse import quote

from grader import __version__
from grader.files import write_text
from grader.report import class_data as data
from grader.report.final import Final
from grader.report.gradebook import ERROR, NOT_STARTED, OK, as_finals, maxima, row_status
from grader.report.terminal import points
from grader.report.text import html_text as _e
from grader.results import ExerciseStatus, Submission
from grader.settings import Limits
from grader.truncation import SUMMARY_CHECKS, SUMMARY_SLOWEST

TITLE = "Class summary"
STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 75em; color: #222; padding: 0 1em; }
h1 { margin-bottom: 0.2em; } h2 { margin-top: 1.6em; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; margin: 0.5em 0; } td, th { padding: 0.25em 0.6em; text-align: left;
  border-bottom: 1px solid #eee; vertical-align: top; } th { background: #f4f4f4; }
table.sortable th { cursor: pointer; user-select: none; } table.sortable th:hover { background: #e6e6e6; }
th[data-dir=asc]::after { content: " \\25B2"; } th[data-dir=desc]::after { content: " \\25BC"; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.plots { display: flex; flex-wrap: wrap; gap: 1em; } .plots img { max-width: 100%; border: 1px solid #ddd; }
.muted { color: #777; } .error { color: #a0166b; } .meta td:first-child { color: #555; }
.flag { display: inline-block; padding: 0 0.4em; margin: 0 0.15em 0.1em 0; border-radius: 0.6em;
  font-size: 0.85em; background: #eee; } .flag-error, .flag-time-limit { background: #f6d2e4; }
.flag-hang, .flag-memory { background: #fde2c4; } .flag-refused { background: #e4d4f6; }
.flag-late { background: #fff1b8; } .flag-override { background: #d4e6f6; }
td.passed { color: #1a7f37; } td.failed { color: #b35900; } td.not_started { color: #999; }
details summary { cursor: pointer; } tr:target { background: #fff6d5; }
"""
SCRIPT = """
document.querySelectorAll("table.sortable").forEach(function (table) {
  table.querySelectorAll("th").forEach(function (th, i) {
    th.addEventListener("click", function () {
      var body = table.tBodies[0], asc = th.dataset.dir !== "asc";
      table.querySelectorAll("th").forEach(function (h) { delete h.dataset.dir; });
      th.dataset.dir = asc ? "asc" : "desc";
      var key = function (row) {
        var cell = row.cells[i], v = cell.dataset.v;
        return v !== undefined ? parseFloat(v) : cell.textContent.trim().toLowerCase();
      };
      Array.from(body.rows).sort(function (a, b) {
        var x = key(a), y = key(b), c = (typeof x === "number" && typeof y === "number")
          ? x - y : String(x).localeCompare(String(y));
        return asc ? c : -c;
      }).forEach(function (row) { body.appendChild(row); });
    });
  });
});
"""


def _hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


CSP = (f"default-src 'none'; img-src data:; style-src {_hash(STYLE)}; script-src {_hash(SCRIPT)}; "
       "base-uri 'none'; form-action 'none'")


def _png(fig) -> str:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def score_plot(finals: list[Final]) -> str:
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    fig = Figure(figsize=(5.6, 3.4))
    ax = fig.add_subplot()
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))   # counts of submissions
    percents = [f.percentage for f in finals if f.max_score > 0]
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
    for ex_id in maxima(results):
        statuses = [e.status for r in results for e in r.exercises if e.id == ex_id]
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
    for y, n in enumerate(names):
        ax.text(min(100 * rates[n][0] + 1, 92), y, f"{100 * rates[n][0]:.0f}%", va="center", fontsize=9)
    ax.set_xlim(0, 100)
    ax.set_xlabel("% of submissions")
    ax.set_title("Exercises passed", pad=24)
    ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=len(RATE_STATUSES), fontsize=8,
              frameon=False)
    return _png(fig)


def speed_plot(speeds: list[data.Speed]) -> str:
    """Each learner's ratio per speed target (log scale), the target as a red bar."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7.0, 0.9 + 0.5 * len(speeds)))
    ax = fig.add_subplot()
    for y, s in enumerate(speeds):
        ax.scatter(s.ratios, [y] * len(s.ratios), s=18, alpha=0.6, color="tab:blue")
        ax.plot([s.target_ratio] * 2, [y - 0.35, y + 0.35], color="tab:red", linewidth=2)
    ax.set_yticks(range(len(speeds)), [s.target for s in speeds], fontsize=8)
    ax.set_xscale("log")
    ax.set_xlabel("learner's time / baseline's time (log scale); red: the target")
    ax.set_title("Speed of the learners' code")
    return _png(fig)


def _table(head: list[str], rows: list[list[str]], numeric: set[int] = frozenset(), *,
           sortable: bool = False, ids: list[str] | None = None) -> str:
    if not rows:
        return '<p class="muted">None.</p>'
    cls = ' class="sortable"' if sortable else ""
    out = [f"<table{cls}><thead><tr>" + "".join(f"<th>{_e(h)}</th>" for h in head) + "</tr></thead><tbody>"]
    for n, row in enumerate(rows):
        rid = f' id="{ids[n]}"' if ids else ""
        out.append(f"<tr{rid}>" + "".join(_td(c, i in numeric) for i, c in enumerate(row)) + "</tr>")
    return "\n".join(out + ["</tbody></table>"])


def _td(cell: "str | tuple[str, float | None, str]", numeric: bool) -> str:
    """A cell: HTML already escaped, or (html, sort value, css class)."""
    html, value, cls = cell if isinstance(cell, tuple) else (cell, None, "")
    classes = " ".join(c for c in ("num" if numeric else "", cls) if c)
    attrs = (f' class="{classes}"' if classes else "") + (f' data-v="{value:g}"' if value is not None else "")
    return f"<td{attrs}>{html}</td>"


def _feedback_link(name: str) -> str:
    return f'<a href="feedback/{_e(quote(name + ".md"))}">{_e(name)}</a>'


def _anchor(index: dict[str, str], name: str) -> str:
    return f'<a href="#{index[name]}">{_e(name)}</a>' if name in index else _e(name)


def render(items: "list[Submission | Final]", *, limits: Limits | None = None,
           previous: dict[str, Submission] | None = None) -> str:
    finals = as_finals(items)
    results = [f.result for f in finals]
    index = {f.name: f"learner-{i}" for i, f in enumerate(finals)}
    statuses = {f.name: row_status(f.result) for f in finals}
    counts = Counter(s for s, _ in statuses.values())
    parts = ["<!DOCTYPE html><html><head><meta charset='utf-8'>",
             f'<meta http-equiv="Content-Security-Policy" content="{CSP}">',
             f"<title>{TITLE}</title><style>{STYLE}</style></head><body>", f"<h1>{TITLE}</h1>"]
    meta = data.run_metadata(results)
    if meta:
        parts.append(_table(["run", ""], [[_e(k), _e(v)] for k, v in meta.items()]).replace("<table>", '<table class="meta">', 1))
    parts.append(f"<p>{len(finals)} submissions: {counts[OK]} graded, {counts[NOT_STARTED]} not started, "
                 f"<span class='error'>{counts[ERROR]} with errors</span>.")
    percents = [f.percentage for f in finals if f.max_score > 0]
    if percents:
        parts.append(f" Mean score {statistics.mean(percents):.1f}%, median {statistics.median(percents):.1f}%.")
    parts.append("</p>")
    rates = pass_rates(results)
    speeds = data.speed_figures(results)
    if finals:
        parts.append(f'<div class="plots"><img alt="score distribution" src="{score_plot(finals)}">')
        if rates:
            parts.append(f'<img alt="exercise pass rates" src="{pass_rate_plot(rates)}">')
        parts.append("</div>")
    parts += _learners(finals, statuses, index)
    parts += _exercises(finals, rates)
    parts += _checks(results, index)
    parts += _flagged(finals, statuses, index)
    parts += _speed(speeds)
    parts += _changed(finals, previous or {}, index)
    parts += _slowest_and_broken(finals, statuses, index)
    foot = f"grader {__version__}"
    if limits is None and results and isinstance(results[0].environment.get("limits"), dict):
        try:
            limits = Limits(**results[0].environment["limits"])
        except TypeError:
            limits = None
    if limits is not None:
        foot += "; " + limits.describe()
    parts.append(f"<hr><p class='muted'>{_e(foot)}</p><script>{SCRIPT}</script></body></html>")
    return "\n".join(parts) + "\n"


def _learners(finals: list[Final], statuses: dict, index: dict[str, str]) -> list[str]:
    columns = list(maxima(f.result for f in finals))
    head = ["submission", "student id", "score", "%", *columns, "flags"]
    rows = []
    for f in finals:
        by_id = {e.id: e for e in f.result.exercises}
        cells = [_feedback_link(f.name), _e(f.learner.student_id if f.learner else ""),
                 (f"{points(f.score)} / {points(f.max_score)}", f.score, ""),
                 (f"{f.percentage:.0f}%", f.percentage, "")]
        for c in columns:
            e = by_id.get(c)
            cells.append((points(f.exercise_scores[c]), f.exercise_scores[c], e.status.value)
                         if e else ("", -1.0, ""))
        tags = data.flags(f, statuses[f.name][0])
        cells.append(("".join(f'<span class="flag flag-{t.replace(" ", "-")}">{t}</span>' for t in tags),
                      None, ""))
        rows.append(cells)
    numeric = set(range(2, 4 + len(columns)))
    return [f"<h2>Learners ({len(finals)})</h2><p class='muted'>Click a column to sort; a name "
            "opens the learner's feedback.</p>",
            _table(head, rows, numeric, sortable=True, ids=[index[f.name] for f in finals])]


def _exercises(finals: list[Final], rates: dict) -> list[str]:
    means = data.exercise_means(finals)
    rows = [[_e(k), *(f"{100 * x:.0f}%" for x in v),
             f"{points(round(means[k][0], 2))} / {points(means[k][1])}"] for k, v in rates.items()]
    return ["<h2>Exercises</h2>",
            _table(["exercise", *(label for _, label, _ in RATE_STATUSES), "mean points"], rows,
                   set(range(1, len(RATE_STATUSES) + 2)))]


def _checks(results: list[Submission], index: dict[str, str]) -> list[str]:
    rows = []
    for (ex, check), (names, attempted) in list(data.failed_by_check(results).items())[:SUMMARY_CHECKS]:
        who = ", ".join(_anchor(index, n) for n in names)
        rows.append([_e(ex), f"<details><summary><code>{_e(check)}</code></summary>{who}</details>",
                     str(len(names)), f"{attempted} ({100 * len(names) / attempted:.0f}%)"])
    return ["<h2>Checks failed most often</h2><p class='muted'>Among submissions that attempted "
            "the function (not-started checks and modules that did not load are left out). Click a "
            "check for the learners who failed it.</p>",
            _table(["exercise", "check", "failed", "of attempted"], rows, {2, 3})]


def _flagged(finals: list[Final], statuses: dict, index: dict[str, str]) -> list[str]:
    rows = []
    for flag, meaning in data.FLAGS.items():
        names = [f.name for f in finals if flag in data.flags(f, statuses[f.name][0])]
        if names:
            rows.append([f'<span class="flag flag-{flag.replace(" ", "-")}">{flag}</span>', _e(meaning),
                         str(len(names)), ", ".join(_anchor(index, n) for n in names)])
    return ["<h2>Who needs a look</h2>", _table(["flag", "meaning", "learners", ""], rows, {2})]


def _speed(speeds: list[data.Speed]) -> list[str]:
    if not speeds:
        return ["<h2>Speed</h2><p class='muted'>No speed target was measured in this run "
                "(timing off, or no exercise with one).</p>"]
    rows = [[f"<code>{_e(s.target)}</code>", f"{s.target_ratio:g}", str(len(s.ratios)), str(s.passed),
             f"{s.median:.2f}", f"{min(s.ratios):.2f}", f"{max(s.ratios):.2f}"] for s in speeds]
    return ["<h2>Speed</h2><p class='muted'>The learner's time over the baseline's on the same "
            "inputs; at most the target passes.</p>",
            f'<div class="plots"><img alt="speed ratios" src="{speed_plot(speeds)}"></div>',
            _table(["speed check", "target", "measured", "passed", "median", "best", "worst"], rows,
                   set(range(1, 7)))]


def _changed(finals: list[Final], previous: dict[str, Submission], index: dict[str, str]) -> list[str]:
    rows = [[_anchor(index, n), points(b), points(a), _e(when)] for n, b, a, when in data.changes(finals, previous)]
    if not previous:
        return []
    return [f"<h2>Changed by a regrade ({len(rows)})</h2><p class='muted'>Automatic scores "
            "against each learner's previous result (results/history/).</p>",
            _table(["submission", "before", "now", "graded before"], rows, {1, 2})]


def _slowest_and_broken(finals: list[Final], statuses: dict, index: dict[str, str]) -> list[str]:
    timed = sorted((f for f in finals if isinstance(f.result.environment.get("elapsed_s"), (int, float))),
                   key=lambda f: -f.result.environment["elapsed_s"])[:SUMMARY_SLOWEST]
    broken = [(f, statuses[f.name][1]) for f in finals if statuses[f.name][0] == ERROR]
    return ["<h2>Slowest submissions</h2>",
            _table(["submission", "grading time", "status"],
                   [[_anchor(index, f.name), f"{f.result.environment['elapsed_s']:.1f} s",
                     _e(statuses[f.name][0])] for f in timed], {1}),
            f"<h2>Broken submissions ({len(broken)})</h2>",
            _table(["submission", "score", "reason"],
                   [[_anchor(index, f.name), f"{points(f.score)} / {points(f.max_score)}", _e(why)]
                    for f, why in broken], {1})]


def write(path: Path, items: "list[Submission | Final]", *, limits: Limits | None = None,
          previous: dict[str, Submission] | None = None) -> None:
    write_text(path, render(items, limits=limits, previous=previous))
