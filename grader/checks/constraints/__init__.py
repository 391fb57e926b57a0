"""Static checks for the exercises' "without ..." rules: the rules as data (``rules.py``) and
the scanner that finds them in a learner's source, never importing it (``scanner.py``)."""

from grader.checks.constraints.rules import (BROADCAST_HELPERS, CDIST, DYNAMIC_ATTRIBUTE, DYNAMIC_CODE,
                                             EXPAND_DIMS, LINALG_NORM, LINEAR, MATMUL_FAMILY,
                                             SHAPES_ONLY, SOFTMAX, TILE_REPEAT, Forbidden)
from grader.checks.constraints.scanner import (ALIAS_OF, MESSAGE, VIA_HELPER, ScanError, Violation,
                                               defines, describe, scan)

__all__ = ["ALIAS_OF", "BROADCAST_HELPERS", "CDIST", "DYNAMIC_ATTRIBUTE", "DYNAMIC_CODE",
           "EXPAND_DIMS", "LINALG_NORM", "LINEAR", "MATMUL_FAMILY", "MESSAGE", "SHAPES_ONLY", "SOFTMAX",
           "TILE_REPEAT", "VIA_HELPER", "Forbidden", "ScanError", "Violation", "defines",
           "describe", "scan"]
