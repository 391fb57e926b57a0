"""The grading engine: load a submission, run the hidden suites under pytest, time, collect."""
