"""The class page in a real browser (headless Chromium, where installed: `apt-get install
chromium`): its own script runs under its Content-Security-Policy and sorts the learners'
table; a script the page did not ship (a learner's, had an escape been missed) does not run."""

from __future__ import annotations

import base64
import hashlib
import re
import shutil
import subprocess

import pytest

from grader.report import summary
from grader.results import Check, CheckKind, CheckStatus, Exercise, Submission

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
pytestmark = [pytest.mark.slow, pytest.mark.skipif(CHROMIUM is None, reason="no headless Chromium")]


def result(name: str, score: float) -> Submission:
    check = Check("dot_lesson_example", CheckKind.CORRECTNESS,
                  CheckStatus.PASSED if score == 3 else CheckStatus.FAILED, 3.0, score)
    return Submission(name, [Exercise("ex01_vectors", "Vectors", [check])], {"seed": 0})


def dom(path) -> str:
    done = subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--dump-dom",
                           path.as_uri()], capture_output=True, text=True, timeout=120)
    return done.stdout


def test_the_page_sorts_under_its_policy_and_runs_no_other_script(tmp_path):
    page = summary.render([result("low", 1.0), result("high", 3.0), result("mid", 2.0)])
    click = 'document.querySelectorAll("table.sortable th")[2].click();'
    digest = "'sha256-" + base64.b64encode(hashlib.sha256(click.encode()).digest()).decode() + "'"
    allowed = page.replace("script-src ", f"script-src {digest} ", 1)
    foreign = 'document.body.setAttribute("data-owned", "yes");'
    for name, text in (("sorted.html", allowed.replace("</body>", f"<script>{click}</script></body>")),
                       ("foreign.html", page.replace("</body>", f"<script>{foreign}</script></body>"))):
        (tmp_path / name).write_text(text)
    order = re.findall(r'<tr id="learner-\d+"><td><a href="feedback/(\w+)\.md"', dom(tmp_path / "sorted.html"))
    assert order == ["low", "mid", "high"]          # ascending by score after one click
    assert '<body data-owned' not in dom(tmp_path / "foreign.html")   # blocked by the policy
