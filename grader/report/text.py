"""Learner text is data: one way to put it into each kind of output.

Exception messages, printed output, notebook content and submission names come from the
learner and reach the terminal, Markdown feedback, CSV gradebooks, HTML pages and Gradescope.
Every view passes such text through the function for its medium here, so that it is shown, never
interpreted: no escape sequence reaches a terminal, no Markdown leaves its fence, no cell
becomes a spreadsheet formula, no markup reaches a page.
"""

from __future__ import annotations

import html
import re
import unicodedata

# C0 and C1 controls (ESC starts every ANSI sequence), DEL, and the format characters that
# reorder or hide text (bidirectional overrides, zero-width joiners): shown as escapes.
_KEEP = {"\n", "\t"}


def _escape_char(c: str) -> str:
    code = ord(c)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def _unsafe(c: str) -> bool:
    return c not in _KEEP and unicodedata.category(c) in ("Cc", "Cf", "Cs", "Co", "Zl", "Zp")


def plain(text: str) -> str:
    """``text`` with every control or format character shown as an escape (``\\x1b``)."""
    text = str(text)
    if not any(_unsafe(c) for c in text):
        return text
    return "".join(_escape_char(c) if _unsafe(c) else c for c in text)


def markdown_block(text: str, info: str = "text") -> str:
    """A fenced code block holding ``text``: the fence is longer than any backtick run inside,
    so nothing the text contains can close it."""
    text = plain(text)
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{info}\n{text}\n{fence}"


def markdown_inline(text: str) -> str:
    """``text`` as inline code that cannot break out (used for names in headings and tables)."""
    text = plain(text).replace("\n", " ")
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    ticks = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") or not text else ""
    return f"{ticks}{pad}{text}{pad}{ticks}"


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(text: str) -> str:
    """A CSV cell that no spreadsheet evaluates: text starting with ``= + - @``, a tab or a
    carriage return gets a leading apostrophe (OWASP's advice on CSV injection)."""
    text = plain(str(text)).replace("\t", "\\t")
    return "'" + text if text.startswith(_FORMULA_START) else text


def html_text(text: str) -> str:
    """``text`` escaped for HTML element content and attribute values."""
    return html.escape(plain(str(text)), quote=True)
