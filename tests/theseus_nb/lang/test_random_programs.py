"""Random expression programs: hypothesis builds expression trees over three
typed parameters; the jitted result must equal a reference evaluator that
applies the language's rule (Python's value; a panic exactly when Python
raises or an intermediate value does not fit the type)."""
from __future__ import annotations

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from theseus_nb.lang import CellError, CellPanic, jit
from theseus_nb.lang.types import INT_TYPES, IntT

BINOPS = ["+", "-", "*", "//", "%", "&", "|", "^"]
CMPS = ["<", "<=", ">", ">=", "==", "!="]


class Panic(Exception):
    """The reference evaluator's panic."""


def trees(t: IntT) -> st.SearchStrategy:
    leaf = st.one_of(st.sampled_from([("var", "a"), ("var", "b"), ("var", "c")]),
                     st.integers(max(t.min, -300), min(t.max, 300)).map(lambda v: ("lit", v)))

    def extend(inner: st.SearchStrategy) -> st.SearchStrategy:
        return st.one_of(
            st.tuples(st.just("bin"), st.sampled_from(BINOPS), inner, inner),
            st.tuples(st.just("shift"), st.sampled_from(["<<", ">>"]), inner,
                      st.integers(0, t.bits + 2)),
            st.tuples(st.just("neg"), inner),
            st.tuples(st.just("abs"), inner),
            st.tuples(st.just("minmax"), st.sampled_from(["min", "max"]), inner, inner),
            st.tuples(st.just("ifexp"), st.sampled_from(CMPS), inner, inner, inner, inner),
        )

    return st.recursive(leaf, extend, max_leaves=16)


def render(n: tuple) -> str:
    k = n[0]
    if k == "var":
        return n[1]
    if k == "lit":
        return f"({n[1]})"
    if k == "bin":
        return f"({render(n[2])} {n[1]} {render(n[3])})"
    if k == "shift":
        return f"({render(n[2])} {n[1]} {n[3]})"
    if k == "neg":
        return f"(-{render(n[1])})"
    if k == "abs":
        return f"abs({render(n[1])})"
    if k == "minmax":
        return f"{n[1]}({render(n[2])}, {render(n[3])})"
    return f"({render(n[4])} if {render(n[2])} {n[1]} {render(n[3])} else {render(n[5])})"


def literal_only(n: tuple) -> bool:
    """Subtrees the compiler folds as constants (plain Python ints, no checks)."""
    if n[0] == "lit":
        return True
    if n[0] == "bin":
        return literal_only(n[2]) and literal_only(n[3])
    if n[0] == "shift":
        return literal_only(n[2])
    if n[0] == "neg":
        return literal_only(n[1])
    return False


def flexible(n: tuple) -> bool:
    """Expressions typed by literals alone: the compiler gives them the context's type (i64 if none)."""
    k = n[0]
    if k == "lit":
        return True
    if k in ("bin", "minmax"):
        return flexible(n[2]) and flexible(n[3])
    if k == "shift":
        return flexible(n[2])
    if k in ("neg", "abs"):
        return flexible(n[1])
    if k == "ifexp":
        return flexible(n[4]) and flexible(n[5])
    return False


def plain(n: tuple, env: dict) -> int:
    return eval(render(n), {}, dict(env))


def evaluate(n: tuple, env: dict, t: IntT, vt: IntT | None = None) -> int:
    """n's value in context type t; vt is the variables' type (t at the top)."""
    vt = vt or t

    def fit(v: int) -> int:
        if not t.fits(v):
            raise Panic
        return v

    if literal_only(n):
        try:
            return plain(n, env)
        except (ZeroDivisionError, ValueError):
            raise Panic from None
    k = n[0]
    if k == "var":
        return env[n[1]]
    if k == "bin":
        x, y = evaluate(n[2], env, t, vt), evaluate(n[3], env, t, vt)
        if n[1] in ("//", "%") and y == 0:
            raise Panic
        return fit(eval(f"x {n[1]} y", {}, {"x": x, "y": y}))
    if k == "shift":
        x = evaluate(n[2], env, t, vt)
        return fit(x << n[3] if n[1] == "<<" else x >> n[3])
    if k == "neg":
        return fit(-evaluate(n[1], env, t, vt))
    if k == "abs":
        return fit(abs(evaluate(n[1], env, t, vt)))
    if k == "minmax":
        x, y = evaluate(n[2], env, t, vt), evaluate(n[3], env, t, vt)
        return min(x, y) if n[1] == "min" else max(x, y)
    # comparisons have no context: literals alone give i64, else the variables' type
    # (not t: a comparison inside a literal-typed expression still compares variables)
    ct = INT_TYPES["i64"] if flexible(n[2]) and flexible(n[3]) else vt
    x, y = evaluate(n[2], env, ct, vt), evaluate(n[3], env, ct, vt)
    test = eval(f"x {n[1]} y", {}, {"x": x, "y": y})
    return evaluate(n[4] if test else n[5], env, t, vt)


@pytest.mark.parametrize("tname", ["u8", "i8", "u16", "i16", "u32", "i32", "u64", "i64"])
def test_random_expressions(tname: str) -> None:
    t = INT_TYPES[tname]

    @settings(max_examples=30, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(trees(t), st.lists(st.integers(t.min, t.max), min_size=3, max_size=3),
           st.lists(st.sampled_from([t.min, -1, 0, 1, 2, t.max]), min_size=3, max_size=3))
    def check(tree: tuple, args: list, edges: list) -> None:
        src = f"def f(a: {tname}, b: {tname}, c: {tname}) -> {tname}:\n    return {render(tree)}\n"
        try:
            cell = jit(src, name="rand", opt=0)
        except CellError as e:
            assume("does not fit" not in e.message)  # a folded constant outside the type
            raise
        for values in (args, [e if t.fits(e) else 0 for e in edges]):
            env = dict(zip("abc", values))
            try:
                expected = evaluate(tree, env, t)
            except Panic:
                expected = None
            try:
                got = cell.f(*values)
            except CellPanic:
                got = None
            assert got == expected, (src, env, got, expected)

    check()


def test_a_comparison_in_a_literal_typed_expression_compares_in_the_variables_type() -> None:
    # found by the test above: `0 < (0 if a < a - 1 else 0)` compares i64s, but `a - 1`
    # is still u32, so a == 0 panics (the reference evaluator used to compute it in i64)
    u32 = INT_TYPES["u32"]
    inner = ("ifexp", "<", ("var", "a"), ("bin", "-", ("var", "a"), ("lit", 1)), ("lit", 0), ("lit", 0))
    tree = ("ifexp", "<", ("lit", 0), inner, ("var", "a"), ("var", "a"))
    cell = jit(f"def f(a: u32, b: u32, c: u32) -> u32:\n    return {render(tree)}\n", name="cmp")
    with pytest.raises(Panic):
        evaluate(tree, {"a": 0, "b": 0, "c": 0}, u32)
    with pytest.raises(CellPanic, match=r"integer overflow in - \(u32\)"):
        cell.f(0, 0, 0)
    assert cell.f(5, 0, 0) == evaluate(tree, {"a": 5, "b": 0, "c": 0}, u32) == 5
