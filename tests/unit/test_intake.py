"""The intake: exercise modules found wherever they sit, LMS names, links never followed, reading
capped, and every decision said (grader/engine/intake.py, engine/submission.py)."""

from __future__ import annotations

import io
import os
import stat
import time
import zipfile
from pathlib import Path

import pytest

from grader.engine import intake, sources
from grader.engine.submission import load_submission
from grader.errors import SubmissionError
from grader.instructor.discovery import discover, stage
from grader.instructor.fingerprint import raw_digest, submission_fingerprint
from kit_files import ROOT, pristine_text

SOLUTION = (ROOT / "solutions" / "ex01_vectors.py").read_text()
STUB = pristine_text("exercises/ex01_vectors.py")
NOTEBOOK = (ROOT / "notebooks" / "ex01_vectors.ipynb").read_text()
IDS = ["ex01_vectors", "ex03_matmul"]


def write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def load(path: Path, tmp_path: Path, ids=IDS):
    return load_submission(path, tmp_path / "graded", exercise_ids=ids)


@pytest.mark.parametrize("name, expected", [
    ("ex01_vectors.py", ("ex01_vectors", "named")),
    ("smithjohn_1234_5678_ex01_vectors.py", ("ex01_vectors", "named")),
    ("smithjohn_LATE_1234_5678_ex01_vectors-1.py", ("ex01_vectors", "named")),
    ("Jane Doe_4321_assignsubmission_file_ex03_matmul.py", ("ex03_matmul", "named")),
    ("ex01_vectors (2).py", ("ex01_vectors", "named")),
    ("my_ex03_matmul_final.py", ("ex03_matmul", "contains")),
    ("ex3.py", ("ex03_matmul", "numbered")),
    ("index1.py", None), ("scratch.py", None),
])
def test_a_file_name_says_its_exercise(name, expected):
    assert intake.exercise_by_name(name, IDS) == expected


def test_lms_names_give_the_learner_and_the_original_file():
    assert intake.lms_parts("smithjohn_LATE_1234_5678_ex01_vectors.py") == ("smithjohn_1234", "ex01_vectors.py")
    assert intake.lms_parts("Jane Doe_4321_assignsubmission_file_hw.ipynb") == ("Jane Doe_4321", "hw.ipynb")
    assert intake.lms_parts("alice") == (None, "alice")


def test_a_notebook_in_a_folder_beside_a_stray_py_is_graded_and_said(tmp_path):
    sub = write(tmp_path / "s", {"notebooks/ex01_vectors.ipynb": NOTEBOOK, "scratch.py": "x = 1\n"})
    loaded = load(sub, tmp_path)
    assert loaded.modules == {"ex01_vectors"} and loaded.notebooks == {"ex01_vectors": "notebooks/ex01_vectors.ipynb"}
    assert loaded.cells["ex01_vectors"]
    assert any(n.startswith("took notebooks/ex01_vectors.ipynb for ex01_vectors") for n in loaded.notes)
    assert intake.IGNORED.format(what="scratch.py") in loaded.notes
    missing = [n for n in loaded.notes if n.startswith("no file for ex03_matmul")]
    assert missing and "notebooks/ex01_vectors.ipynb" in missing[0] and "scratch.py" in missing[0]


def test_a_started_file_wins_over_an_untouched_one_and_the_choice_is_explained(tmp_path):
    sub = write(tmp_path / "s", {"ex01_vectors.ipynb": NOTEBOOK, "work/ex01_vectors.py": SOLUTION})
    loaded = load(sub, tmp_path)
    assert (loaded.directory / "ex01_vectors.py").read_text() == SOLUTION
    took = next(n for n in loaded.notes if n.startswith("took"))
    assert "also found ex01_vectors.ipynb" in took and "it is started and the other is still the untouched stub" in took


def test_a_copy_of_the_kit_is_read_from_exercises_never_from_solutions(tmp_path):
    kit = write(tmp_path / "s", {"linalg-kit-main/pyproject.toml": "", "linalg-kit-main/grader/__init__.py": "",
                                 "linalg-kit-main/exercises/ex01_vectors.py": STUB,
                                 "linalg-kit-main/solutions/ex01_vectors.py": SOLUTION,
                                 "linalg-kit-main/tests/fixtures/a/ex01_vectors.py": SOLUTION})
    loaded = load(kit, tmp_path)
    assert (loaded.directory / "ex01_vectors.py").read_text() == STUB
    assert intake.KIT_COPY.format(root="linalg-kit-main/") in loaded.notes


def test_a_renamed_module_is_found_by_the_functions_it_defines(tmp_path):
    loaded = load(write(tmp_path / "s", {"homework.py": SOLUTION}), tmp_path)
    assert loaded.modules == {"ex01_vectors"}
    assert any("(it defines dot, norm, unit, cosine_similarity)" in n for n in loaded.notes)


def test_a_canvas_named_file_alone_is_its_exercise(tmp_path):
    path = tmp_path / "smithjohn_1234_5678_ex01_vectors.py"
    path.write_text(SOLUTION)
    assert load(path, tmp_path).modules == {"ex01_vectors"}


def test_nothing_to_grade_names_what_was_found(tmp_path):
    with pytest.raises(SubmissionError, match="found no exercise module in s: it holds notes.py, scratch.py"):
        load(write(tmp_path / "s", {"notes.py": "x = 1\n", "scratch.py": "y = 2\n"}), tmp_path)
    with pytest.raises(SubmissionError, match="holds no Python files"):
        load(write(tmp_path / "t", {"report.pdf": "%PDF"}), tmp_path)


def test_links_are_never_followed_anywhere(tmp_path):
    secret = write(tmp_path / "kit", {"ex01_vectors.py": SOLUTION})
    sub = tmp_path / "s"
    sub.mkdir()
    (sub / "ex01_vectors.py").symlink_to(secret / "ex01_vectors.py")
    (sub / "zero.py").symlink_to("/dev/zero")
    (sub / "solutions").symlink_to(secret)
    with pytest.raises(SubmissionError, match="holds no Python files.*ex01_vectors.py is a link"):
        load(sub, tmp_path)
    entry = tmp_path / "entry"
    entry.symlink_to(secret)
    with pytest.raises(SubmissionError, match="entry is a link"):
        load(entry, tmp_path)
    start = time.monotonic()
    assert submission_fingerprint(sub, IDS).startswith("raw:")      # nothing opened, nothing read
    assert raw_digest(entry) != raw_digest(sub) and time.monotonic() - start < 5


def test_a_link_or_an_oversized_member_in_a_zip_is_left_out(tmp_path):
    path = tmp_path / "s.zip"
    with zipfile.ZipFile(path, "w") as zf:
        link = zipfile.ZipInfo("ex01_vectors.py")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        zf.writestr(link, "/work/solutions/ex01_vectors.py")
        zf.writestr("deep/down/ex03_matmul.py", "x = 1\n" * (intake.MAX_FILE_BYTES // 6 + 10))
        zf.writestr("other/homework.py", SOLUTION)
    loaded = load(path, tmp_path)
    assert loaded.modules == {"ex01_vectors"}          # found by its functions, not the link
    assert (loaded.directory / "ex01_vectors.py").read_text() == SOLUTION
    assert intake.NOT_A_FILE.format(name="ex01_vectors.py") in loaded.notes
    assert any("deep/down/ex03_matmul.py is larger than" in n for n in loaded.notes)


def test_a_zip_that_lies_about_its_sizes_is_read_only_to_the_cap(tmp_path, monkeypatch):
    monkeypatch.setattr(sources, "MAX_FILE_BYTES", 1000)
    path = tmp_path / "s.zip"
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("ex01_vectors.py", "#" * 50_000)
    path.write_bytes(buf.getvalue())
    source = intake.Archive(path)
    items, _ = source.items()
    items[0].size = 10        # the central directory claims 10 bytes
    with pytest.raises(SubmissionError, match="larger than"):
        source.read(items[0], 1000)
    source.close()


def test_reading_is_capped_in_files_and_bytes(tmp_path, monkeypatch):
    monkeypatch.setattr(sources, "MAX_READS", 3)
    sub = write(tmp_path / "s", {f"ex01_vectors_{i}.py": SOLUTION for i in range(5)})
    with pytest.raises(SubmissionError, match="stopped reading after"):
        load(sub, tmp_path)
    monkeypatch.setattr(sources, "MAX_ENTRIES", 4)
    sub = write(tmp_path / "t", {**{f"z{i}/x.txt": "" for i in range(6)}, "ex01_vectors.py": SOLUTION})
    loaded = load(sub, tmp_path)
    assert intake.TOO_MANY_ENTRIES.format(limit=4) in loaded.notes


def test_a_fifo_is_never_opened(tmp_path):
    sub = write(tmp_path / "s", {"ex01_vectors.py": SOLUTION})
    os.mkfifo(sub / "helper.py")
    loaded = load(sub, tmp_path)
    assert loaded.modules == {"ex01_vectors"}
    assert intake.NOT_A_FILE.format(name="helper.py") in loaded.notes


def test_canvas_and_moodle_downloads_are_grouped_by_learner(tmp_path):
    write(tmp_path, {"smithjohn_1234_5678_ex01_vectors.py": SOLUTION,
                     "smithjohn_1234_5679_ex03_matmul.py": "x = 1\n",
                     "doejane_LATE_77_5680_ex01_vectors.py": STUB,
                     "Ann Lee_4321_assignsubmission_file_/ex01_vectors.py": SOLUTION,
                     "bob/ex01_vectors.py": SOLUTION})
    entries = {e.name: e for e in discover(tmp_path)}
    assert sorted(entries) == ["Ann Lee_4321", "bob", "doejane_77", "smithjohn_1234"]
    assert len(entries["smithjohn_1234"].sources) == 2
    staged = {e.name: e for e in stage(list(entries.values()), tmp_path / "scratch")}
    loaded = load(staged["smithjohn_1234"].path, tmp_path)
    assert loaded.modules == {"ex01_vectors", "ex03_matmul"}


def test_only_modules_the_graded_ones_import_are_kept(tmp_path):
    """Grading ex01 from a folder that also holds ex04 neither checks nor copies ex04 (whose
    libraries the policy would import), but keeps what ex01 imports, through a helper too."""
    from grader.engine.submission import reachable

    (tmp_path / "ex01_vectors.py").write_text("import helpers\nfrom . import shared\n")
    (tmp_path / "helpers.py").write_text("from ex02_broadcasting import broadcast_shape\n")
    (tmp_path / "shared.py").write_text("X = 1\n")
    (tmp_path / "ex02_broadcasting.py").write_text("def broadcast_shape(a, b): ...\n")
    (tmp_path / "ex04_simple_mnist.py").write_text("import torch\n")
    (tmp_path / "broken.py").write_text("def (:\n")
    assert reachable(tmp_path, ["ex01_vectors"]) == {"ex01_vectors", "helpers", "shared",
                                                     "ex02_broadcasting"}
    assert reachable(tmp_path, ["broken"]) == {"broken"}
