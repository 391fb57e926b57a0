"""The assignment file (grader/course.py): read, checked with errors naming the file and the
key, written back unchanged, and the kit's own course.toml is valid."""

from __future__ import annotations

import datetime as dt

import pytest

from grader import registry
from grader.course import Course, CourseError, Hidden, load, parse
from grader.results import Visibility
from kit_files import ROOT

KNOWN = {"ex01_vectors", "ex03_matmul", "ex04_simple_mnist"}
FULL = """
[assignment]
name = "Homework 2"
exercises = ["ex01_vectors", "ex03_matmul"]

[checks]
"ex03_matmul/matmul_strided_inputs" = { points = 2, visibility = "public" }
"ex01_vectors/dot_edge_cases" = { visibility = "hidden" }

[thresholds.ex04_simple_mnist]
fit_accuracy = 0.88

[speed]
"ex03_matmul.matmul" = 60

[gradescope]
visibility = "after_published"
hidden_visibility = "hidden"
leaderboard = false

[late]
due = 2025-03-14T23:59:00+01:00
late_penalty_per_day = 0.1
late_cap = 0.5
"""


def _toml(text: str) -> dict:
    try:
        import tomllib
    except ModuleNotFoundError:
        import tomli as tomllib
    return tomllib.loads(text)


def test_every_section_is_read():
    c = parse(_toml(FULL), source="hw2.toml", known=KNOWN)
    assert c.name == "Homework 2" and c.exercises == ("ex01_vectors", "ex03_matmul")
    assert c.override("ex03_matmul", "matmul_strided_inputs").points == 2
    assert c.override("ex01_vectors", "dot_edge_cases").visibility is Visibility.HIDDEN
    assert c.override("ex01_vectors", "dot_lesson_example").points is None
    assert c.threshold("ex04_simple_mnist", "fit_accuracy", 0.85) == 0.88
    assert c.threshold("ex04_simple_mnist", "other", 0.5) == 0.5
    assert c.speed_target("ex03_matmul", "matmul", 5) == 60
    assert c.speed_target("ex06_vectorize", "softmax", 7) == 7
    assert (c.gradescope.visibility, c.gradescope.hidden_visibility, c.gradescope.leaderboard) == (
        "after_published", "hidden", False)
    assert c.late.due == dt.datetime(2025, 3, 14, 23, 59, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    assert (c.late.late_penalty_per_day, c.late.late_cap) == (0.1, 0.5)


def test_written_back_it_reads_the_same():
    c = parse(_toml(FULL), source="hw2.toml", known=KNOWN)
    again = parse(_toml(c.to_toml()), source="hw2.toml", known=KNOWN)
    assert again == c and again.digest() == c.digest()
    student = Course(hidden={"ex01_vectors": Hidden(4, 5.0)})
    assert parse(_toml(student.to_toml())).hidden_for("ex01_vectors") == Hidden(4, 5.0)
    assert parse(_toml(student.to_toml())).hidden_for("ex03_matmul") == Hidden()


def test_the_digest_follows_what_grades():
    base = parse(_toml(FULL), known=KNOWN)
    changed = parse(_toml(FULL.replace("= 60", "= 61")), known=KNOWN)
    assert base.digest() != changed.digest()


def test_a_missing_file_is_the_default_course(tmp_path):
    assert load(tmp_path / "none.toml") == Course(source=str(tmp_path / "none.toml"))


@pytest.mark.parametrize("text, says", [
    ("[assignmnt]\nname = 'x'", "unknown key(s) assignmnt"),
    ("[assignment]\nexercises = 'ex01_vectors'", "[assignment] exercises = 'ex01_vectors'"),
    ("[assignment]\nexercises = ['ex09_nope']", "unknown exercise 'ex09_nope'"),
    ("[checks]\n'matmul_strided_inputs' = { points = 2 }", "a key is \"exercise/check\""),
    ("[checks]\n'ex03_matmul/x' = { point = 2 }", "unknown key(s) point"),
    ("[checks]\n'ex03_matmul/x' = { points = -1 }", "points = -1: a number, 0 or more"),
    ("[checks]\n'ex03_matmul/x' = { visibility = 'secret' }", "\"public\" or \"hidden\""),
    ("[speed]\n'ex03_matmul.matmul' = 0", "a positive ratio"),
    ("[speed]\n'ex03_matmul/matmul' = 5", "a key is \"exercise.function\""),
    ("[thresholds.ex04_simple_mnist]\nfit_accuracy = 'high'", "fit_accuracy = 'high'"),
    ("[gradescope]\nhidden_visibility = 'later'", "one of visible, hidden, after_due_date"),
    ("[late]\ndue = '2025-03-14'", "a TOML date-time"),
])
def test_a_mistake_names_the_file_and_the_key(text, says):
    with pytest.raises(CourseError) as info:
        parse(_toml(text), source="hw2.toml", known=KNOWN)
    assert str(info.value).startswith("hw2.toml: ") and says in str(info.value)


def test_the_kits_course_file_is_valid():
    course = load(ROOT / "course.toml", known=registry.BY_ID)
    assert course.source.endswith("course.toml") and not course.hidden
    assert registry.select(None, course) == registry.select(None)   # every exercise


def test_the_assignment_chooses_the_exercises():
    course = Course(exercises=("ex03_matmul", "ex01_vectors"))
    assert [e.id for e in registry.select(None, course)] == ["ex03_matmul", "ex01_vectors"]
    assert [e.id for e in registry.select(["ex05"], course)] == ["ex05_health_states"]
