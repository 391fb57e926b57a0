"""Views of results for people: the terminal report, Markdown feedback, the gradebook, the
class summary, Gradescope's results.json, the prediction grid, the batch's progress line.
Each reads ``results`` only (and ``settings.Limits`` for its wording)."""
