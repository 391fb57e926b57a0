"""Instructor tools: batch grading, Gradescope, building the notebooks."""
