"""Random statement programs (loops, branches, break/continue, early return,
array updates) run in CPython and jitted: same result, or an overflow panic
where CPython's integers outgrew i64."""
from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from theseus_nb.lang import CellPanic, jit
from theseus_nb.lang import prelude

VARS = ["a", "b", "c"]
EXPRS = ["a", "b", "c", "1", "2", "3", "a + b", "b - c", "a * 2", "c // 3", "a % 5", "xs[a % 4]",
         "xs[b % 4] + xs[c % 4]", "(a if b > c else c)", "-a", "a ^ b", "min(a, c)", "abs(b)"]
CONDS = ["a < b", "b >= c", "a == c", "a % 2 == 0", "xs[a % 4] > b", "a < b < c", "not a > 3",
         "a > 0 and b > 0", "b < 0 or c > 2"]


@st.composite
def block(draw: st.DrawFn, depth: int, in_loop: bool) -> list:
    lines: list = []
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(
            ["assign", "aug", "array", "if", "for", "while", "ret"]
            + (["break", "continue"] if in_loop else []) if depth < 3 else
            ["assign", "aug", "array"] + (["break"] if in_loop else [])))
        v, e = draw(st.sampled_from(VARS)), draw(st.sampled_from(EXPRS))
        if kind == "assign":
            lines.append(f"{v} = {e}")
        elif kind == "aug":
            lines.append(f"{v} {draw(st.sampled_from(['+=', '-=', '^=', '|=']))} {e}")
        elif kind == "array":
            lines.append(f"xs[{v} % 4] += {e}")
        elif kind == "ret":
            lines.append(f"if {draw(st.sampled_from(CONDS))}:")
            lines.append(f"    return {e}")
        elif kind in ("break", "continue"):
            lines.append(f"if {draw(st.sampled_from(CONDS))}:")
            lines.append(f"    {kind}")
        elif kind == "if":
            lines.append(f"if {draw(st.sampled_from(CONDS))}:")
            lines += ["    " + s for s in draw(block(depth + 1, in_loop))]
            if draw(st.booleans()):
                lines.append(f"elif {draw(st.sampled_from(CONDS))}:")
                lines += ["    " + s for s in draw(block(depth + 1, in_loop))]
            if draw(st.booleans()):
                lines.append("else:")
                lines += ["    " + s for s in draw(block(depth + 1, in_loop))]
        elif kind == "for":
            args = draw(st.sampled_from(["4", "1, 5", "6, -1, -2", "a % 5", "0, b % 6, 2", "c % 4, 0, -1"]))
            lines.append(f"for i in range({args}):")
            lines += ["    " + s for s in draw(block(depth + 1, True))]
        else:
            # One counter per nesting depth: a nested loop must not reset
            # the counter of the loop around it (that would never end).
            lines.append(f"k{depth} = 0")
            lines.append(f"while k{depth} < 5 and ({draw(st.sampled_from(CONDS))}):")
            lines.append(f"    k{depth} += 1")
            lines += ["    " + s for s in draw(block(depth + 1, True))]
    return lines


HEADER = ("from theseus_nb.lang.prelude import *\n\n"
          "def f(a: i64, b: i64, c: i64) -> i64:\n"
          "    xs: Array[i64, 4] = [1, 2, 3, 4]\n    i: i64 = 0\n    k: i64 = 0\n")


@settings(max_examples=40, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(block(0, False), st.lists(st.integers(-20, 20), min_size=3, max_size=3))
def test_random_statements(body: list, args: list) -> None:
    src = HEADER + "".join(f"    {line}\n" for line in body) + "    return a + b * 3 + c * 7 + xs[0] - xs[3]\n"
    namespace: dict = {}
    exec(compile(src, "<random>", "exec"), namespace)
    try:
        expected, raised = namespace["f"](*args), None
    except (ZeroDivisionError, IndexError) as e:
        expected, raised = None, e
    cell = jit(src, name="stmts", opt=0)
    try:
        got = cell.f(*args)
    except CellPanic as p:
        fits = expected is not None and prelude.i64.min <= expected <= prelude.i64.max
        assert raised is not None or "overflow" in p.message or not fits, (src, args, p)
        return
    assert raised is None and got == expected, (src, args, got, expected)
