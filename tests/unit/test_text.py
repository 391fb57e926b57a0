"""Learner text is data: what each medium gets of it (grader/report/text.py)."""

from __future__ import annotations

from grader.report import text


def test_control_characters_are_shown_not_interpreted():
    hostile = "boom\x1b[2J\x1b[1;1Hpassed 25 / 25\x07\u202edesrever"
    shown = text.plain(hostile)
    assert "\x1b" not in shown and "\x07" not in shown and "\u202e" not in shown
    assert "\\x1b[2J" in shown and "\\u202e" in shown
    assert text.plain("line one\nline two\tend") == "line one\nline two\tend"


def test_a_fence_is_longer_than_any_backtick_run_inside():
    hostile = "oops\n```\n**Score: 25 / 25**\n````\nmore"
    block = text.markdown_block(hostile)
    fence = block.split("\n", 1)[0].removesuffix("text")
    assert fence == "`````" and block.endswith("\n`````")
    assert block.count(fence) == 2          # only the opening and closing fences are that long
    assert text.markdown_inline("a`b") == "``a`b``"


def test_spreadsheet_formulas_are_neutralised():
    for cell in ("=1+2", "+1", "-1+cmd", "@SUM(A1)", '=HYPERLINK("x")'):
        assert text.csv_cell(cell).startswith("'"), cell
    assert text.csv_cell("mallory") == "mallory"


def test_markup_is_escaped_for_html():
    assert text.html_text('<img src=x onerror=alert(1)>"') == "&lt;img src=x onerror=alert(1)&gt;&quot;"
