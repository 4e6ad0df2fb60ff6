"""The host JIT: public functions callable from Python, cells linked together, strings, fnrefs."""
from __future__ import annotations

import pytest

from theseus_nb.lang import CellPanic, JitCell, jit, show_ir
import theseus_nb.lang as lang

MATH = '''\
from theseus_nb.lang.prelude import *

SCALE = 10
NAME: str = "math"


def times(a: u64, b: u64) -> u64:
    return a * b


def _secret() -> u64:
    return 42


def safe_div(a: u64, b: u64) -> u64:
    return a // b
'''

APP = '''\
from theseus_nb.lang.prelude import *
from cells.math import times, SCALE, safe_div
import cells.math
from cells import math as m


def scaled(a: u64) -> u64:
    return times(a, SCALE) + cells.math.times(1, cells.math.SCALE) - 9


def crash(a: u64) -> u64:
    return safe_div(a, 0)


def worker(x: u64) -> u64:
    return x * 3


def _run(entry: fnref, arg: u64) -> u64:
    return entry(arg)


def run_worker(arg: u64) -> u64:
    return _run(worker, arg)


def math_name() -> str:
    return cells.math.NAME if m.times(2, 3) == 6 else "?"


def echo(s: str) -> str:
    return s


def name(i: u8) -> str:
    return "even" if i % 2 == 0 else "odd"
'''


@pytest.fixture(scope="module")
def app() -> JitCell:
    return jit(APP, name="app", others={"math": MATH})


def test_cross_cell_calls_and_constants(app: JitCell) -> None:
    assert app.scaled(4) == 41


def test_panic_in_another_cell_names_that_cell(app: JitCell) -> None:
    with pytest.raises(CellPanic) as info:
        app.crash(1)
    assert (info.value.cell, info.value.function, info.value.message) == ("math", "safe_div", "division by zero")


def test_constants_through_the_module_path(app: JitCell) -> None:
    assert app.math_name() == "math"


def test_function_references(app: JitCell) -> None:
    assert app.run_worker(14) == 42


def test_strings_in_and_out(app: JitCell) -> None:
    assert app.echo("hello") == "hello"
    assert [app.name(i) for i in range(3)] == ["even", "odd", "even"]


def test_only_public_functions_are_exposed(app: JitCell) -> None:
    assert not hasattr(app, "_run")
    assert "app::scaled" in app.ir and "app" in repr(app)


def test_inspection_is_one_call_away() -> None:
    assert 'define i64 @"m::times"' in show_ir(MATH, "m")


def test_all_is_honest() -> None:
    for name in lang.__all__:
        assert hasattr(lang, name), name
    public = {n for n in vars(lang) if not n.startswith("_")} - {"annotations"}
    modules = {n for n in public if type(getattr(lang, n)).__name__ == "module"}
    assert public - modules == set(lang.__all__)


def test_a_cell_named_rt_is_refused_with_a_reason() -> None:
    with pytest.raises(ValueError, match="provides rt::panic itself"):
        jit("def f() -> None:\n    pass\n", name="rt")
    with pytest.raises(ValueError, match="provides console::write and the rest of print"):
        jit("def f() -> None:\n    pass\n", name="console")


def test_calls_from_several_threads_keep_their_own_results() -> None:
    import threading

    cell = jit("def f(a: u64) -> u64:\n    return 100 // a\n", name="threads")
    errors: list = []

    def worker(k: int) -> None:
        for i in range(300):
            a = (i + k) % 4
            try:
                assert cell.f(a) == 100 // a
            except CellPanic as p:
                if a != 0 or p.message != "division by zero":
                    errors.append((a, p))
            except AssertionError as e:
                errors.append((a, e))

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def test_a_str_argument_kept_in_a_global_stays_valid() -> None:
    cell = jit('saved: str = ""\ndef keep(s: str) -> None:\n    global saved\n    saved = s\n'
               "def get() -> str:\n    return saved\n", name="keeper")
    cell.keep("x" * 1000)
    import gc
    gc.collect()
    assert cell.get() == "x" * 1000
