"""The spec test runner: ``python -m theseus_nb.wasm.spec DIR [FILE...]``.

Each ``.wast`` script is converted by wabt's ``wast2json`` (whose ``error:``
lines count as failures: it prints them but still exits 0) and every command
runs on the host JIT. One line per file gives pass/total for each kind of
assertion, then a total line. Scripts in the 1.0 dialect that today's
wast2json refuses (``assert_return_canonical_nan``, ``elem.wast``'s table
naming) are rewritten to today's syntax first (``rewrite_1_0``).
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any, Optional

from .errors import LinkError, WasmError, WasmTrap
from .host import Instance, instantiate
from .host_objects import Function, Global, Memory, Table
from .module import Limits

__all__ = ["run_file", "run_dir", "rewrite_1_0", "KINDS", "main"]

KINDS = ("return", "trap", "invalid", "malformed", "other")
#: what wast2json accepts for WebAssembly 1.0: every post-MVP feature off but mutable globals
MVP_FLAGS = ["--disable-saturating-float-to-int", "--disable-sign-extension",
             "--disable-simd", "--disable-multi-value", "--disable-bulk-memory",
             "--disable-reference-types"]


def _spectest(guard: bool = True) -> dict:
    """The ``spectest`` host module the scripts import from."""
    def printer(*args: Any) -> None:
        return None

    return {
        "print": printer, "print_i32": printer, "print_i64": printer, "print_f32": printer,
        "print_f64": printer, "print_i32_f32": printer, "print_f64_f64": printer,
        "global_i32": Global("i32", False, 666), "global_i64": Global("i64", False, 666),
        "global_f32": Global("f32", False, 666.6), "global_f64": Global("f64", False, 666.6),
        "table": Table(Limits(10, 20)), "memory": _spectest_memory(guard),
    }


def _spectest_memory(guard: bool) -> Memory:
    # (instantiate tells the runtime about a guarded memory when a module imports it)
    return Memory(Limits(1, 2), guard=guard)


def _matching(src: str, start: int) -> int:
    """The index just past the parenthesised form that opens at ``src[start]``."""
    depth, i = 0, start
    while i < len(src):
        c = src[i]
        if c == '"':
            i += 1
            while src[i] != '"':
                i += 2 if src[i] == "\\" else 1
        elif c == ";" and src[i:i + 2] == ";;":
            i = src.index("\n", i)
        elif c == "(" and src[i:i + 2] == "(;":
            i = src.index(";)", i) + 1
        elif c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    raise ValueError("unbalanced parentheses")


def rewrite_1_0(src: str) -> str:
    """Rewrite the two 1.0 forms that today's wast2json refuses into today's syntax:
    ``assert_return_*_nan`` become ``assert_return`` of ``nan:canonical``/``nan:arithmetic``
    (of the type the invoked function's name or first argument says), and ``(elem $t ...)``,
    which names the module's one table, becomes ``(elem 0 ...)``."""
    for old in ("assert_return_canonical_nan", "assert_return_arithmetic_nan"):
        kind = old.rsplit("_", 2)[1]
        while f"({old}" in src:
            at = src.index(f"({old}")
            end = _matching(src, at)
            inner = src[at + 1 + len(old):end - 1].strip()
            name = inner.split('"')[1] if '"' in inner else ""
            ty = name[:3] if name[:4] in ("f32.", "f64.") else (
                "f64" if "(f64.const" in inner and ("(f32.const" not in inner or
                                                    inner.index("(f64.const") <
                                                    inner.index("(f32.const")) else "f32")
            src = src[:at] + f"(assert_return {inner} ({ty}.const nan:{kind}))" + src[end:]
    # only where an offset expression follows: "(elem $f $g)" inside a table lists functions
    return re.sub(r"\(elem \$[^\s()]+(?=\s*\()", "(elem 0", src)


def _value(v: dict) -> Any:
    """An expected value: its bits, or "nan:canonical"/"nan:arithmetic"."""
    if v["type"] not in ("i32", "i64", "f32", "f64"):
        raise WasmError(f"value type {v['type']} is not supported")
    return v["value"] if v["value"].startswith("nan:") else int(v["value"])


def _same(t: str, want: Any, got: int) -> bool:
    if isinstance(want, str):
        if t not in ("f32", "f64"):
            return False
        exp_mask, quiet = (0x7F800000, 0x400000) if t == "f32" else (0x7FF << 52, 1 << 51)
        mag = got & (0x7FFFFFFF if t == "f32" else (1 << 63) - 1)
        if want == "nan:canonical":
            return mag == exp_mask | quiet
        return mag & (exp_mask | quiet) == exp_mask | quiet
    return want == got


class _Script:
    def __init__(self, folder: Path, one_zero: bool, bounds: str = "guard") -> None:
        self.folder, self.one_zero, self.bounds = folder, one_zero, bounds
        self.instances: dict[str, Instance] = {}
        self.last: Optional[Instance] = None
        self.registered: dict[str, dict] = {"spectest": _spectest(bounds == "guard")}

    def load(self, filename: str, module_type: str = "binary") -> Instance:
        data = (self.folder / filename).read_bytes()
        if module_type == "text":
            raise WasmError("text module")  # only appears in assert_malformed/invalid
        return instantiate(data, self.registered, semantics="1.0" if self.one_zero else "2.0",
                           bounds=self.bounds)

    def instance(self, name: Optional[str]) -> Instance:
        inst = self.instances[name] if name else self.last
        if inst is None:
            raise WasmError("no module instantiated yet")
        return inst

    def act(self, action: dict) -> tuple[list, list[str]]:
        inst = self.instance(action.get("module"))
        target = inst.exports[action["field"]]
        if action["type"] == "get":
            return [target.bits], [target.type]
        fn: Function = target
        args = [int(a["value"]) for a in action["args"]]
        return fn.call_bits(*args), list(fn.type.results)

    def run(self, c: dict) -> tuple[str, bool]:
        t = c["type"]
        if t == "module":
            inst = self.load(c["filename"])
            self.last = inst
            if c.get("name"):
                self.instances[c["name"]] = inst
            return "other", True
        if t == "register":
            self.registered[c["as"]] = dict(self.instance(c.get("name")).exports)
            return "other", True
        if t == "action":
            self.act(c["action"])
            return "other", True
        if t == "assert_return":
            got, types = self.act(c["action"])
            want = [_value(v) for v in c["expected"]]
            return "return", len(got) == len(want) and all(
                _same(ty, w, g) for ty, w, g in zip(types, want, got))
        if t in ("assert_trap", "assert_exhaustion"):
            try:
                self.act(c["action"]) if "action" in c else self.load(c["filename"])
            except WasmTrap as trap:
                text = c["text"]
                return ("trap" if t == "assert_trap" else "other"), (
                    text.startswith(trap.kind) or trap.kind.startswith(text))
            return ("trap" if t == "assert_trap" else "other"), False
        if t in ("assert_invalid", "assert_malformed"):
            kind = t.split("_")[1]
            if c.get("module_type") == "text":
                return kind, not _wat_ok(self.folder / c["filename"])
            try:
                self.load(c["filename"])
            except LinkError:
                return kind, False
            except WasmError:
                return kind, True
            return kind, False
        if t in ("assert_unlinkable", "assert_uninstantiable"):
            try:
                self.load(c["filename"])
            except (LinkError, WasmTrap):
                return "other", True
            return "other", False
        raise WasmError(f"unknown command {t}")


def _wat_ok(path: Path) -> bool:
    r = subprocess.run(["wat2wasm", str(path), "-o", "/dev/null"], capture_output=True)
    return r.returncode == 0


def run_file(path: Path, one_zero: Optional[bool] = None,
             bounds: str = "guard") -> tuple[Counter, Counter, list]:
    """Run one script: (passed, total) by kind, and the failures (line, text); ``bounds`` is
    instantiate's (explicit checks, or guard regions)."""
    one_zero = "wasm-1.0" in str(path) if one_zero is None else one_zero
    passed, total, failures = Counter(), Counter(), []
    with tempfile.TemporaryDirectory(prefix="wast-") as tmp:
        src = path.read_text()
        if one_zero:
            src = rewrite_1_0(src)
        wast = Path(tmp) / path.name
        wast.write_text(src)
        out = Path(tmp) / (path.stem + ".json")
        flags = MVP_FLAGS if one_zero else []
        r = subprocess.run(["wast2json", *flags, str(wast), "-o", str(out)], capture_output=True,
                           text=True)
        errors = [ln for ln in r.stderr.splitlines() if "error:" in ln]
        if errors or r.returncode or not out.exists():
            total["other"] += 1
            failures.append((0, f"wast2json: {(errors or [r.stderr.strip()])[0][:200]}"))
            if not out.exists():
                return passed, total, failures
        script = _Script(Path(tmp), one_zero, bounds)
        for c in json.loads(out.read_text())["commands"]:
            try:
                kind, ok = script.run(c)
            except Exception as e:  # noqa: BLE001 (a failed command is counted, the script goes on)
                kind = {"assert_return": "return", "assert_trap": "trap",
                        "assert_invalid": "invalid",
                        "assert_malformed": "malformed"}.get(c["type"], "other")
                ok, err = False, e
            else:
                err = None
            total[kind] += 1
            if ok:
                passed[kind] += 1
            else:
                act = c.get("action", {})
                what = f" {act.get('field')!r}{[a.get('value') for a in act.get('args', [])]}" \
                    if act else ""
                failures.append((c.get("line", 0), f"{c['type']}{what}: {err or 'wrong result'}"))
    return passed, total, failures


def _line(name: str, passed: Counter, total: Counter) -> str:
    cols = " ".join(f"{k} {passed[k]}/{total[k]}" for k in KINDS if total[k])
    return f"{name:32} {sum(passed.values()):6}/{sum(total.values()):<6} {cols}"


def run_dir(folder: Path, files: tuple[str, ...] = (), verbose: bool = False,
            out: Any = None, bounds: str = "guard") -> tuple[Counter, Counter]:
    """Run every script of ``folder`` (or the named ones); print a line each and a total."""
    out = out or sys.stdout
    paths = [folder / f for f in files] if files else sorted(folder.glob("*.wast"))
    all_p, all_t = Counter(), Counter()
    for p in paths:
        passed, total, failures = run_file(p, bounds=bounds)
        all_p.update(passed)
        all_t.update(total)
        print(_line(p.name, passed, total), file=out, flush=True)
        if verbose:
            for line, text in failures[:20]:
                print(f"    line {line}: {text}", file=out)
    print(_line("total", all_p, all_t), file=out)
    return all_p, all_t


def main(argv: Optional[list[str]] = None) -> int:
    """Command line: run a folder of .wast scripts and print the tally."""
    ap = argparse.ArgumentParser(prog="python -m theseus_nb.wasm.spec", description=__doc__)
    ap.add_argument("dir", type=Path)
    ap.add_argument("files", nargs="*")
    ap.add_argument("-v", "--verbose", action="store_true", help="print the failures")
    ap.add_argument("--bounds", choices=("checks", "guard"), default="guard",
                    help="explicit bounds checks (default) or guard regions")
    args = ap.parse_args(argv)
    passed, total = run_dir(args.dir, args.files, args.verbose, bounds=args.bounds)
    return 0 if passed == total else 1


if __name__ == "__main__":
    sys.exit(main())
