"""Grade a notebook's exercise from inside it: ``from grader.notebook_check import check``.

The generated notebooks (and every notebook a learner already has) import ``check`` from
here; the code lives in ``grader.practice.notebook_check``.
"""

from grader.practice.notebook_check import check  # noqa: F401
