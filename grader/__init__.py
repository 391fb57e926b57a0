"""The grader of the linear-algebra kit: runs hidden pytest suites against a learner's code.

Learner code is only ever imported and called in a worker subprocess (see ``learner.py`` and
``worker.py``); this package compares, times and scores on its own side of that boundary.
"""

__version__ = "0.1.0"
