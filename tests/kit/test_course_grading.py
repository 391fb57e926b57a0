"""The assignment file changes what grading does, without grader code: points, visibility,
thresholds, speed targets and the exercises; a key that names nothing stops the run."""

from __future__ import annotations

import pytest

from grader.course import Course, CheckOverride
from grader.results import Hidden
from grader.engine.session import GraderError, grade_submission
from grader.paths import SOLUTIONS_DIR
from grader.results import Visibility
from grader.settings import Settings
from kit_files import FIXTURES

NO_TIMING = Settings(timing=False)


def _checks(result, ex_id):
    return {c.id: c for e in result.exercises if e.id == ex_id for c in e.checks}


def test_points_and_visibility_come_from_the_course():
    course = Course(checks={"ex01_vectors/dot_lesson_example": CheckOverride(points=4),
                            "ex01_vectors/dot_random_vectors": CheckOverride(visibility=Visibility.PUBLIC),
                            "ex01_vectors/norm_lesson_example": CheckOverride(visibility=Visibility.HIDDEN)})
    plain = grade_submission(submission=SOLUTIONS_DIR, exercises=["ex01"], settings=NO_TIMING)
    changed = grade_submission(submission=SOLUTIONS_DIR, exercises=["ex01"], settings=NO_TIMING,
                               course=course)
    before, after = _checks(plain, "ex01_vectors"), _checks(changed, "ex01_vectors")
    assert before["dot_lesson_example"].max_points == 1 and after["dot_lesson_example"].max_points == 4
    assert after["dot_lesson_example"].points == 4
    assert changed.max_score == plain.max_score + 3
    assert before["dot_random_vectors"].visibility is Visibility.HIDDEN          # the marker's
    assert after["dot_random_vectors"].visibility is Visibility.PUBLIC           # the course's
    assert after["norm_lesson_example"].visibility is Visibility.HIDDEN


def test_a_threshold_comes_from_the_course():
    # knn on the embedded digits reaches about 0.94: a threshold of 0.99 fails the solution.
    course = Course(thresholds={"ex06_vectorize": {"knn_accuracy": 0.99}})
    result = grade_submission(submission=SOLUTIONS_DIR, exercises=["ex06"], settings=NO_TIMING,
                              course=course)
    check = _checks(result, "ex06_vectorize")["knn_predict_mnist_accuracy"]
    assert check.status.value == "failed" and "expected at least 0.99" in check.feedback


def test_a_speed_target_comes_from_the_course():
    # bench/anti's matmul loops over entries; a target of 1e6 lets even that meet it. The
    # point still goes only to code that keeps to the rules (loops break "vectorized").
    course = Course(speed={"ex03_matmul.matmul": 1e6})
    result = grade_submission(submission=FIXTURES.parent.parent / "bench" / "anti",
                              exercises=["ex03"], settings=Settings(), course=course)
    check = _checks(result, "ex03_matmul")["matmul_speed"]
    assert check.timing.target_ratio == 1e6 and 1 < check.timing.ratio < 1e6
    assert check.gated and check.points == 0 and "keeps to the exercise's rules" in check.feedback


def test_the_course_chooses_the_exercises():
    course = Course(exercises=("ex05_health_states", "ex01_vectors"))
    result = grade_submission(submission=SOLUTIONS_DIR, settings=NO_TIMING, course=course)
    assert [e.id for e in result.exercises] == ["ex05_health_states", "ex01_vectors"]


@pytest.mark.parametrize("course, says", [
    (Course(checks={"ex01_vectors/dot_lesson_exampel": CheckOverride(points=2)}),
     "'ex01_vectors/dot_lesson_exampel' names no check of ex01_vectors"),
    (Course(thresholds={"ex04_simple_mnist": {"fit_acuracy": 0.9}}),
     "[thresholds.ex04_simple_mnist] fit_acuracy: the suite declares fit_accuracy"),
    (Course(speed={"ex03_matmul.matvec": 3}), "ex03_matmul's speed targets are matmul"),
    (Course(hidden={"ex01_vectors": Hidden(4, 5)}), "the [hidden] table belongs in a student kit"),
])
def test_a_course_key_that_names_nothing_stops_the_run(course, says):
    with pytest.raises(GraderError) as info:
        grade_submission(submission=SOLUTIONS_DIR, exercises=["ex01", "ex03", "ex04"],
                         settings=NO_TIMING, course=course)
    assert says in str(info.value)
