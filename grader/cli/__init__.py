"""The command line (``grader ...``, ``python -m grader ...``)."""

from grader.cli.main import main  # noqa: F401
