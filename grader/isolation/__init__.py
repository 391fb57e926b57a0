"""Isolation: the only code that starts processes for learner code (see client.py)."""
