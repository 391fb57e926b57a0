"""Every limit on how much text the grader keeps or shows, in one place, each with its reason.

Standard library only and no imports: this file is also copied into the worker's runtime
folder (``grader/isolation/client.py``), where the worker reads the first group.
"""

# -- what a worker sends back ---------------------------------------------------------------
REPR_CHARS = 200              # a handle's repr: enough to recognise the object in feedback
EXCEPTION_MESSAGE_CHARS = 4000  # the learner's exception message: a runaway str() stays small
TRACEBACK_CHARS = 8000        # the end of the learner's traceback, where the error is
REFUSALS_SHOWN = 5            # what the lock refused in one request: the first few say enough

# -- the learner's prints and the worker's own complaints -------------------------------------
OUTPUT_CHARS = 2000           # what a failing check shows of the learner's output
START_OUTPUT_CHARS = 400      # what a worker that could not start printed (its last line is shown)
PROBE_ERROR_CHARS = 200       # why bubblewrap could not start a sandbox

# -- notebooks --------------------------------------------------------------------------------
CELL_NOTE_CHARS = 300         # one cell's failure, as the report names it
CELL_LABEL_CHARS = 40         # a cell's label given by check() ("In [7]")
CELL_NOTES = 20               # cell notes per notebook: a broken notebook does not flood the report
NOTEBOOK_ERROR_CHARS = 200    # why a file is not a readable notebook

# -- reports ----------------------------------------------------------------------------------
FEEDBACK_LINES = 14           # lines of one check's feedback in the terminal report
HINT_FEEDBACK_LINES = 8       # lines of the failing check's feedback above a hint
VIOLATIONS_SHOWN = 5          # forbidden constructs listed per check ("and N more")
LOOPS_SHOWN = 4               # loops named per vectorization check
LOOP_CODE_CHARS = 70          # a loop's header line as quoted in the feedback
GRADEBOOK_REASON_CHARS = 300  # the gradebook's reason column, one line
PROGRESS_LINE_CHARS = 160     # the batch's redrawn progress line (one terminal row)
SUMMARY_CHECKS = 15           # "checks failed most often" in summary.html
SUMMARY_SLOWEST = 10          # "slowest submissions" in summary.html

# -- the grader's own failures ----------------------------------------------------------------
COLLECT_ERROR_CHARS = 2000    # the end of pytest's message when a hidden suite cannot load
CHILD_LOG_CHARS = 300         # the end of a crashed batch child's log, as the error reason
GRADER_STDERR_CHARS = 3000    # the end of the grader's stderr when check() in a notebook fails
