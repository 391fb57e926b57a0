"""Views of results for people: the terminal report, Markdown feedback, gradebook, summary."""

from grader.report.terminal import LABELS, markdown, print_report, render  # noqa: F401
