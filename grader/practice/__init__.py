"""Learner tools: watch mode, hints, ex04's predictions picture, ex08's rebuilt digits, the
notebooks' check()."""
