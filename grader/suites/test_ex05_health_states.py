"""Hidden suite for ex05_health_states: next_year, after_years, shop_totals, cheapest_shop."""

import numpy as np
import pytest

from grader.checks.diagnose import describe
from grader.checks.expect import expect, expect_array, expect_raises, fail, result_of
from grader.isolation.codec import View

pytestmark = pytest.mark.exercise("ex05_health_states")

# The lesson's values (SPEC "Lesson facts"), written out here rather than read from the learner.
TRANSITIONS = np.array([[0.90, 0.07, 0.02, 0.01],
                        [0.00, 0.93, 0.05, 0.02],
                        [0.00, 0.00, 0.85, 0.15],
                        [0.00, 0.00, 0.00, 1.00]])
STATE = [0.85, 0.10, 0.05, 0.0]
STATE_NEXT_YEAR = np.array([0.765, 0.1525, 0.0645, 0.018])
HEALTHY_TWO_YEARS = np.array([0.81, 0.1281, 0.0385, 0.0234])  # [1, 0, 0, 0] after 2 years, by hand
DEMAND = np.array([[6.0, 5.0, 3.0, 1.0], [3.0, 6.0, 2.0, 2.0], [3.0, 4.0, 3.0, 1.0]])
PRICES = np.array([[1.50, 1.00], [2.00, 2.50], [5.00, 4.50], [16.00, 17.00]])
TOTALS = np.array([[50.0, 49.0], [58.5, 61.0], [43.5, 43.5]])
CHEAPEST = np.array([1, 0, 0])

ROW_VECTOR_HINT = ("the state is a row vector: state @ transitions (entry j sums state[i] * "
                   "transitions[i, j]); transitions @ state mixes up from and to")
FLOAT_RESULT = "the result is a float array, also for integer inputs"

# -- hints, gentlest first (`grader hint` shows them one at a time) ----------------------------
HINTS_NEXT_YEAR = (
    "Next year's share of state j collects, from every state i, the share in i times the "
    "chance of moving from i to j.",
    "That sum over i is a vector-matrix product with the state as a row vector on the left; "
    "mind which side the state goes (row i of transitions is 'from i').",
    ROW_VECTOR_HINT,
)
HINTS_TOTAL = (
    "Everyone ends up somewhere: one year on, the shares still sum to 1 and none is negative.",
    "A sum that is off means the product pairs the wrong axes: entry j must add "
    "state[i] * transitions[i, j] over i.",
)
HINTS_VALIDATE_TRANSITIONS = (
    "A transition matrix is square, never negative, and each row (the chances of leaving one "
    "state) sums to 1.",
    "Check the shape, np.any(t < 0) and the row sums (axis=1, with a tolerance such as "
    "np.isclose) before computing, and raise ValueError saying which check failed.",
)
HINTS_VALIDATE_STATE = (
    "A state is one share per state: 1-D, of the matrix's size, never negative, summing to 1.",
    "Check state.ndim, its length against transitions, np.any(state < 0) and its sum (with a "
    "tolerance), and raise ValueError saying which check failed.",
)
HINTS_AFTER = (
    "After k years is next year's distribution k times over.",
    "Apply next_year `years` times in a loop (or multiply by a power of the matrix); after 1 "
    "year the result equals next_year's.",
)
HINTS_ZERO_YEARS = (
    "After 0 years nothing has moved: the answer is the state you were given.",
    "Return a new float array with the state's values (np.array(state, dtype=...) copies), "
    "never the object passed in, and check the inputs as next_year does.",
)
HINTS_YEARS = (
    "years counts whole years: 0, 1, 2, ... Anything else (negative, 2.5, 2.0, True) is an error.",
    "Refuse a bool first (True is an int in Python), then anything that is not an int "
    "(isinstance(years, int)) or is negative, with a ValueError that shows the value.",
)
HINTS_TOTALS = (
    "Person i's bill at shop j adds up, over the items, how many of each item i buys times "
    "its price at shop j.",
    "That is a matrix product of demand (people, items) and prices (items, shops); the result "
    "has one row per person and one column per shop.",
)
HINTS_TOTALS_ERRORS = (
    "Both inputs are 2-D, and demand has as many items (columns) as prices has rows.",
    "Check ndim and the item counts before multiplying, and raise ValueError naming both shapes.",
)
HINTS_CHEAPEST = (
    "First every person's bills at every shop (shop_totals), then per person the shop where "
    "the bill is lowest.",
    "The index of the smallest entry of each row: argmin along the shops' axis (axis=1), "
    "which also picks the lower index on a tie.",
)
HINTS_TIES = (
    "When two shops give a person the same bill, the shop with the lower index wins.",
    "np.argmin returns the first of equal minima; a hand-written comparison must use < (not "
    "<=) to keep the earlier shop.",
)
HINTS_INDICES = (
    "The result is shop numbers (0, 1, ...) as integers, one per person, not bills.",
    "argmin returns integer indices already; do not convert them to float, and do not return "
    "the minimum itself.",
)
HINTS_CHEAPEST_ERRORS = (
    "Bad shapes are bad here too, and with no shops there is no cheapest one.",
    "Let shop_totals check the shapes (it raises), and raise ValueError when prices has 0 "
    "columns.",
)


# -- inputs -------------------------------------------------------------------------------------
def _chain(rng, n):
    """A random row-stochastic matrix (some entries exactly 0) and a random state of length n."""
    t = rng.dirichlet(np.ones(n), size=n) * (rng.random((n, n)) < 0.7)
    t[np.arange(n), rng.integers(0, n, n)] += 1e-3  # no empty row
    t /= t.sum(axis=1, keepdims=True)
    return t, rng.dirichlet(np.ones(n))


def _transposed_view(matrix):
    """``matrix`` as a non-contiguous (transposed) array in the worker."""
    return View(np.ascontiguousarray(matrix.T), axes=(1, 0))


def _strided_view(vector):
    """``vector`` as every other element of a longer array in the worker."""
    base = np.zeros(2 * len(vector), dtype=np.asarray(vector).dtype)
    base[::2] = vector
    return View(base, (slice(None, None, 2),))


def _local(value):
    return value.array if isinstance(value, View) else np.asarray(value)


def _numeric(value):
    return isinstance(value, np.ndarray) and value.dtype.kind in "biuf"


def _expect_distribution(got, want, *, call, inputs, state, transitions):
    hint = None
    if (_numeric(got) and got.shape == want.shape
            and np.allclose(got, np.asarray(transitions) @ np.asarray(state), atol=1e-12)
            and not np.allclose(want, np.asarray(transitions) @ np.asarray(state), atol=1e-12)):
        hint = ROW_VECTOR_HINT
    expect_array(got, want, call=call, inputs=inputs, rtol=1e-9, atol=1e-12,
                 hint=hint or "entry j of the result adds up state[i] * transitions[i, j] over i")


# -- next_year ----------------------------------------------------------------------------------
@pytest.mark.check(points=2, hints=HINTS_NEXT_YEAR)
def test_next_year_lesson_example(ex):
    call = "next_year([0.85, 0.10, 0.05, 0], TRANSITIONS)"
    got = result_of(ex.next_year, STATE, TRANSITIONS, call=call)
    _expect_distribution(got, STATE_NEXT_YEAR, call=call, inputs=None, state=STATE,
                         transitions=TRANSITIONS)


@pytest.mark.check(points=2, hints=HINTS_NEXT_YEAR, visibility="hidden")
def test_next_year_random_chains(ex, rng):
    for i, n in enumerate((1, 2, 3, 4, 5, 7, 10, 3, 6, 4)):
        t, s = _chain(rng, n)
        # Every third case arrives non-contiguous: a transposed matrix and a strided state.
        t_in, s_in = (_transposed_view(t), _strided_view(s)) if i % 3 == 2 else (t, s)
        call = f"next_year(state, transitions) on a {n}-state chain"
        inputs = {"state": s, "transitions": t}
        got = result_of(ex.next_year, s_in, t_in, call=call, inputs=inputs)
        _expect_distribution(got, np.matmul(s, t), call=call, inputs=inputs, state=s,
                             transitions=t)
    # Integer inputs: a permutation matrix moves everyone from state i to state perm[i].
    perm = rng.permutation(5)
    t = np.eye(5, dtype=np.int64)[perm]
    s = np.array([0, 0, 1, 0, 0])
    call = "next_year(state, transitions) on int64 inputs"
    got = result_of(ex.next_year, s, t, call=call, inputs={"state": s, "transitions": t})
    expect_array(got, s.astype(np.float64) @ t, call=call, inputs={"state": s, "transitions": t},
                 hint=HINTS_NEXT_YEAR[1], dtype_hint=FLOAT_RESULT)


@pytest.mark.check(points=1, hints=HINTS_TOTAL, visibility="hidden")
def test_next_year_preserves_total_probability(ex, rng):
    for n in (2, 5, 12, 30):
        t, s = _chain(rng, n)
        call = f"next_year(state, transitions) on a random {n}-state chain"
        got = result_of(ex.next_year, s, t, call=call)
        expect(_numeric(got) and got.shape == (n,), call,
               f"expected a float array of shape ({n},), got {describe(got)}")
        total = float(np.sum(got))
        expect(abs(total - 1.0) <= 1e-9 and bool(np.all(got >= -1e-12)), call,
               f"the result sums to {total!r} (min entry {float(np.min(got))!r}); a distribution "
               f"one year on still sums to 1 with no negative share", hint=ROW_VECTOR_HINT)


@pytest.mark.check(points=1, hints=HINTS_VALIDATE_TRANSITIONS, role="errors")
def test_next_year_validates_transitions(ex):
    expect_raises(ValueError, ex.next_year, [1 / 3, 1 / 3, 1 / 3], np.full((3, 4), 0.25),
                  call="next_year(state of length 3, transitions of shape (3, 4))",
                  mentions=("(3, 4)",), hint="a transition matrix is square: say which shape you got")
    short_row = TRANSITIONS.copy()
    short_row[1, 3] = 0.0  # row 1 now sums to 0.98
    for t, what, hint in (
            (np.array([[1.2, -0.2], [0.0, 1.0]]), "with a negative entry (rows sum to 1)",
             "probabilities are never negative"),
            (short_row, "whose row 1 sums to 0.98", "every row of transitions must sum to 1"),
            (TRANSITIONS.T, "TRANSITIONS.T (columns sum to 1, rows do not)",
             "row i holds the chances of leaving state i: check the sums along axis=1")):
        state = [0.5, 0.5] if len(t) == 2 else STATE
        expect_raises(ValueError, ex.next_year, state, t, call=f"next_year(state, transitions {what})",
                      inputs={"transitions": t}, hint=hint)


@pytest.mark.check(points=1, hints=HINTS_VALIDATE_STATE, role="errors")
def test_next_year_validates_state(ex):
    for state, what, hint in (
            ([1.1, -0.1, 0.0, 0.0], "with a negative entry", "a share is never negative"),
            ([0.5, 0.4, 0.0, 0.0], "summing to 0.9", "the shares of a state must sum to 1"),
            ([0.5, 0.5, 0.0], "of length 3 (TRANSITIONS has 4 states)",
             "the state needs one share per row of transitions"),
            ([[0.85, 0.10, 0.05, 0.0]], "of shape (1, 4)", "the state must be 1-D")):
        expect_raises(ValueError, ex.next_year, state, TRANSITIONS,
                      call=f"next_year(state {what}, TRANSITIONS)", inputs={"state": np.array(state)},
                      hint=hint)


# -- after_years --------------------------------------------------------------------------------
@pytest.mark.check(points=1, hints=HINTS_AFTER)
def test_after_years_lesson_example(ex):
    for state, years, want in ((STATE, 1, STATE_NEXT_YEAR), ([1.0, 0.0, 0.0, 0.0], 2, HEALTHY_TWO_YEARS)):
        call = f"after_years({state}, TRANSITIONS, {years})"
        got = result_of(ex.after_years, state, TRANSITIONS, years, call=call)
        expect_array(got, want, call=call, rtol=1e-9, atol=1e-12,
                     hint="apply next_year `years` times, no more and no fewer")


@pytest.mark.check(points=1, hints=HINTS_ZERO_YEARS)
def test_after_years_zero_years_returns_the_state(ex, rng):
    t, s = _chain(rng, 6)
    for state, transitions, call in ((STATE, TRANSITIONS, f"after_years({STATE}, TRANSITIONS, 0)"),
                                     (s, t, "after_years(state, transitions, 0) on a 6-state chain")):
        result = result_of(ex.after_years.call, state, transitions, 0, probe=["shares_memory"],
                           call=call)
        expect_array(result.value, np.asarray(state, dtype=np.float64), call=call, rtol=0, atol=0,
                     inputs={"state": np.asarray(state)},
                     hint="after 0 years nothing has moved: return the state's values (as a float array)",
                     dtype_hint=FLOAT_RESULT)
        # The docstring: "a float copy of state (never the object passed in)".
        expect(result.extra.get("shares_memory", [None])[0] is not True, call,
               "the result shares memory with the state passed in: it is that object, not a "
               "copy, so changing one changes the other", inputs={"state": np.asarray(state)},
               hint=HINTS_ZERO_YEARS[1])


@pytest.mark.check(points=1, hints=HINTS_AFTER, visibility="hidden")
def test_after_years_random_chains(ex, rng):
    for i, (n, years) in enumerate(((2, 3), (3, 1), (4, 7), (5, 2), (6, 12), (8, 25), (3, 40))):
        t, s = _chain(rng, n)
        t_in = _transposed_view(t) if i % 2 else t
        call = f"after_years(state, transitions, {years}) on a {n}-state chain"
        inputs = {"state": s, "transitions": t}
        got = result_of(ex.after_years, s, t_in, years, call=call, inputs=inputs)
        expect_array(got, s @ np.linalg.matrix_power(t, years), call=call, inputs=inputs,
                     rtol=1e-8, atol=1e-12, hint="apply next_year `years` times, no more and no fewer")


@pytest.mark.check(points=1, hints=HINTS_AFTER, visibility="hidden")
def test_after_years_matches_repeated_next_year(ex, rng):
    t, s = _chain(rng, 5)
    step = s
    for years in range(1, 6):
        call = f"next_year applied {years} time(s)"
        step = result_of(ex.next_year, step, t, call=call, inputs={"state": s})
        expect(_numeric(step) and step.shape == (5,), call,
               f"expected a float array of shape (5,), got {describe(step)}")
        got = result_of(ex.after_years, s, t, years, call=f"after_years(state, transitions, {years})")
        expect_array(got, step, call=f"after_years(state, transitions, {years}) vs {call}",
                     inputs={"state": s}, rtol=1e-8, atol=1e-12,
                     hint="after_years(s, t, k) must equal next_year applied k times")


@pytest.mark.check(points=1, hints=HINTS_YEARS, role="errors")
def test_after_years_rejects_bad_input(ex):
    expect_raises(ValueError, ex.after_years, STATE, TRANSITIONS, -1,
                  call="after_years(state, TRANSITIONS, -1)", mentions=("-1",),
                  hint="years must be >= 0: raise ValueError saying what you got")
    expect_raises(ValueError, ex.after_years, STATE, TRANSITIONS, 2.5,
                  call="after_years(state, TRANSITIONS, 2.5)",
                  hint="years must be a whole number: raise ValueError")
    # The docstring refuses these two by name: a float that happens to be whole, and a bool.
    for years in (2.0, True):
        expect_raises(ValueError, ex.after_years, STATE, TRANSITIONS, years,
                      call=f"after_years(state, TRANSITIONS, {years!r})", hint=HINTS_YEARS[1])
    for years in (0, 3):
        expect_raises(ValueError, ex.after_years, STATE, TRANSITIONS.T, years,
                      call=f"after_years(state, TRANSITIONS.T, {years})",
                      hint="check the inputs as next_year does, also when years is 0")


# -- shop_totals --------------------------------------------------------------------------------
@pytest.mark.check(points=1, hints=HINTS_TOTALS)
def test_shop_totals_lesson_example(ex):
    call = "shop_totals(DEMAND, PRICES)"
    got = result_of(ex.shop_totals, DEMAND, PRICES, call=call)
    flipped = isinstance(got, np.ndarray) and got.shape == TOTALS.T.shape
    expect_array(got, TOTALS, call=call,
                 hint="rows are people and columns are shops: demand @ prices, not its transpose"
                 if flipped else "entry (i, j) is what person i pays at shop j: demand @ prices")


@pytest.mark.check(points=1, hints=HINTS_TOTALS, visibility="hidden")
def test_shop_totals_random(ex, rng):
    shapes = [(3, 4, 3), (5, 2, 5), (1, 6, 4), (7, 3, 1), (0, 3, 2), (4, 0, 2), (2, 5, 0)]
    for i, (people, items, shops) in enumerate(shapes):
        integer = i % 2 == 1
        demand = rng.integers(0, 10, (people, items))
        prices = rng.integers(1, 20, (items, shops)) if integer else rng.uniform(0.5, 20, (items, shops))
        demand = demand if integer else demand.astype(np.float64)
        d_in = _transposed_view(demand) if i % 3 == 0 else demand
        call = f"shop_totals(demand {demand.shape}, prices {prices.shape})"
        inputs = {"demand": demand, "prices": prices}
        got = result_of(ex.shop_totals, d_in, prices, call=call, inputs=inputs)
        expect_array(got, np.matmul(demand, prices), call=call, inputs=inputs, rtol=1e-9,
                     check_dtype=not integer,
                     hint="entry (i, j) is what person i pays at shop j: demand @ prices")


@pytest.mark.check(points=1, hints=HINTS_TOTALS_ERRORS, role="errors")
def test_shop_totals_rejects_mismatched_items(ex):
    expect_raises(ValueError, ex.shop_totals, np.ones((3, 4)), np.ones((3, 2)),
                  call="shop_totals(demand of shape (3, 4), prices of shape (3, 2))",
                  mentions=("(3, 4)", "(3, 2)"), hint="name both shapes in the message")
    expect_raises(ValueError, ex.shop_totals, np.ones(4), PRICES,
                  call="shop_totals(demand of shape (4,), PRICES)",
                  hint="demand must be 2-D (people, items)")


# -- cheapest_shop ------------------------------------------------------------------------------
@pytest.mark.check(points=1, hints=HINTS_CHEAPEST)
def test_cheapest_shop_lesson_example(ex):
    call = "cheapest_shop(DEMAND, PRICES)"
    got = result_of(ex.cheapest_shop, DEMAND, PRICES, call=call)
    hint = "the cheapest shop is np.argmin of each person's bills (axis=1)"
    if _numeric(got) and got.shape == (3,):
        if np.allclose(got, TOTALS.min(axis=1)):
            hint = "return the index of the cheapest shop (np.argmin), not the lowest bill"
        elif np.array_equal(got, TOTALS.argmax(axis=1)):
            hint = "that is the most expensive shop: use argmin, not argmax"
    expect_array(got, CHEAPEST, call=call, check_dtype=False, hint=hint)


@pytest.mark.check(points=1, hints=HINTS_CHEAPEST, visibility="hidden")
def test_cheapest_shop_random(ex, rng):
    for people, items, shops in ((4, 3, 2), (6, 4, 3), (8, 5, 5), (1, 2, 4), (5, 1, 3), (3, 4, 1)):
        demand = rng.integers(0, 10, (people, items))
        prices = rng.integers(2, 80, (items, shops)) / 4  # quarter prices: totals are exact
        call = f"cheapest_shop(demand {demand.shape}, prices {prices.shape})"
        inputs = {"demand": demand, "prices": prices}
        got = result_of(ex.cheapest_shop, demand, prices, call=call, inputs=inputs)
        expect_array(got, np.argmin(np.matmul(demand, prices), axis=1), call=call, inputs=inputs,
                     check_dtype=False, hint="for each person (row), the index of the lowest bill")


@pytest.mark.check(points=1, hints=HINTS_TIES, visibility="hidden")
def test_cheapest_shop_ties_go_to_lower_index(ex):
    demand = np.array([[1, 0], [0, 1], [1, 1]])
    prices = np.array([[3.0, 2.0, 2.0], [5.0, 5.0, 5.0]])  # person 0: shops 1 and 2 tie; 1: all
    call = "cheapest_shop(demand, prices) (bills tie)"
    got = result_of(ex.cheapest_shop, demand, prices, call=call,
                    inputs={"demand": demand, "prices": prices})
    expect_array(got, np.array([1, 0, 1]), call=call, inputs={"demand": demand, "prices": prices},
                 check_dtype=False, hint="when bills tie, the lower shop index wins (np.argmin does this)")


@pytest.mark.check(points=1, hints=HINTS_INDICES, role="form")
def test_cheapest_shop_returns_integer_indices(ex):
    got = result_of(ex.cheapest_shop, DEMAND, PRICES, call="cheapest_shop(DEMAND, PRICES)")
    if not isinstance(got, np.ndarray) or got.dtype.kind not in "iu" or got.shape != (3,):
        fail("cheapest_shop(DEMAND, PRICES)",
             f"expected an integer array of shape (3,), got {describe(got)}",
             hint=HINTS_INDICES[1])


@pytest.mark.check(points=1, hints=HINTS_CHEAPEST_ERRORS, role="errors")
def test_cheapest_shop_rejects_bad_input(ex):
    expect_raises(ValueError, ex.cheapest_shop, np.ones((3, 4)), np.ones((3, 2)),
                  call="cheapest_shop(demand of shape (3, 4), prices of shape (3, 2))",
                  mentions=("(3, 4)", "(3, 2)"), hint="check the shapes as shop_totals does")
    expect_raises(ValueError, ex.cheapest_shop, DEMAND, np.ones((4, 0)),
                  call="cheapest_shop(DEMAND, prices of shape (4, 0))",
                  hint="with no shops there is no cheapest one: raise ValueError")
