"""Static checks for the exercises' "without ..." rules; see ``scanner.py``."""

from grader.checks.constraints.scanner import *  # noqa: F401,F403
from grader.checks.constraints.scanner import (BROADCAST_HELPERS, CDIST, DYNAMIC_ATTRIBUTE,  # noqa: F401
                                               EXPAND_DIMS, LINALG_NORM, LINEAR, MATMUL_FAMILY,
                                               SOFTMAX, TILE_REPEAT, Forbidden, ScanError,
                                               Violation, defines, describe, scan)
