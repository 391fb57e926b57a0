"""A batch's class-wide outputs: the gradebook and the summary, written whole from the result
files, and ``grader merge`` of several batches' (shards') outputs."""

from __future__ import annotations

from pathlib import Path

from grader.files import write_json, write_text
from grader.report import gradebook
from grader.report.markdown import markdown
from grader.results import Submission
from grader.settings import Settings


def write_outputs(out: Path, results: list[Submission], *, settings: Settings | None = None) -> None:
    """The gradebook and the class summary, each written whole or not at all."""
    from grader.report import summary   # matplotlib loads only here

    gradebook.write(out / "gradebook.csv", results)
    summary.write(out / "summary.html", results, limits=(settings.limits if settings else None))


def merge_outputs(dirs: list[Path], out: Path) -> tuple[list[Submission], list[str]]:
    """Copy every shard's results and feedback into ``out`` and write the combined gradebook and
    summary. Returns the results and the names found in more than one folder (last one wins)."""

    merged: dict[str, tuple[Path, Submission]] = {}
    clashes = []
    for folder in dirs:
        for path in sorted((folder / "results").glob("*.json")):
            result = gradebook.read_result(path)
            if result is None:
                continue
            if path.stem in merged and merged[path.stem][0].resolve() != path.resolve():
                clashes.append(path.stem)
            merged[path.stem] = (path, result)
    for name, (path, result) in merged.items():
        target = out / "results" / f"{name}.json"
        if path.resolve() == target.resolve():
            continue
        feedback = path.parent.parent / "feedback" / f"{name}.md"
        text = feedback.read_text(encoding="utf-8") if feedback.exists() else markdown(result)
        write_text(out / "feedback" / f"{name}.md", text)
        write_json(target, result.to_dict())
    results = [r for _, r in merged.values()]
    write_outputs(out, results)
    return results, sorted(set(clashes))
