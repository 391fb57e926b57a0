"""The grader of the linear-algebra kit: runs hidden pytest suites against a learner's code.

Learner code is only ever imported and called in a worker subprocess (``isolation/``); this
package compares, times and scores on its own side of that boundary. The README's "How the
grader works" draws its layers.
"""

__version__ = "0.1.0"
