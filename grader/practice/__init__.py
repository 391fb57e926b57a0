"""Learner tools: watch mode, hints, ex04's predictions picture, the notebooks' check()."""
