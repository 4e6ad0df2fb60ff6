"""Benchmark of WebAssembly cells: the same C kernels native, through our translator, and
through wasmtime.

bench/c/kernels.c (sieve, matrix multiply, FNV checksum, recursive fib; the file
bench_lang.py uses) is compiled twice: by gcc -O2 into a shared library, and by clang
-O2 to wasm32. The module then runs on the host JIT (theseus_nb.wasm.instantiate, with
explicit bounds checks and with guard regions) and on wasmtime (the PyPI package, the peer) with its default
guard regions and with explicit checks forced (no reservation, no guard). Each is called
from Python through ctypes or the runtime's own binding; best of N rounds, taking turns.

Then the same kernels run in the kernel, under QEMU (TCG: emulated, so only the ratio
between the two schemes means anything): bench/c/kernel_timing.c, loaded twice as a wasm
cell, once with guard regions and once with explicit checks, each kernel timed inside
the guest with the TSC (fewest cycles of N runs).
Usage: python bench/bench_wasm.py [--quick] [--no-kernel]   (needs `pip install wasmtime==50.0.1`)
"""
from __future__ import annotations

import ctypes
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from theseus_nb.wasm import instantiate  # noqa: E402
from theseus_nb.wasm.clang import CLANG_FLAGS  # noqa: E402

C_SRC = HERE / "c" / "kernels.c"
KERNELS = [("sieve", 1000000, ctypes.c_uint64, 64), ("matmul", 12345, ctypes.c_uint64, 64),
           ("checksum", 7, ctypes.c_uint32, 32), ("fib", 27, ctypes.c_uint64, 64)]


def best_of(fns: list, arg: int, repeat: int) -> list:
    """(best seconds per call, result) of each of ``fns``, taking turns within each round."""
    best = [float("inf")] * len(fns)
    results: list = [None] * len(fns)
    for _ in range(repeat):
        for k, fn in enumerate(fns):
            t0 = time.perf_counter()
            results[k] = fn(arg)
            best[k] = min(best[k], time.perf_counter() - t0)
    return list(zip(best, results))


def _wasmtime(wasm: bytes, explicit: bool):
    import wasmtime

    cfg = wasmtime.Config()
    if explicit:
        # no reserved address space and no guard: every access is bounds-checked
        cfg.memory_reservation = 0
        cfg.memory_guard_size = 0
    engine = wasmtime.Engine(cfg)
    store = wasmtime.Store(engine)
    inst = wasmtime.Instance(store, wasmtime.Module(engine, wasm), [])
    ex = inst.exports(store)
    return {name: (lambda f: lambda a: f(store, a))(ex[name]) for name, *_ in KERNELS}


def main() -> None:
    quick = "--quick" in sys.argv
    repeat = 3 if quick else 11
    with tempfile.TemporaryDirectory() as tmp:
        lib = Path(tmp) / "kernels.so"
        subprocess.run(["gcc", "-O2", "-shared", "-fPIC", "-o", str(lib), str(C_SRC)], check=True)
        native = ctypes.CDLL(str(lib))
        out = Path(tmp) / "kernels.wasm"
        subprocess.run(["clang", *CLANG_FLAGS["functions"], str(C_SRC), "-o", str(out)],
                       check=True)
        wasm = out.read_bytes()
    t0 = time.perf_counter()
    ours = instantiate(wasm, bounds="checks")
    translate_s = time.perf_counter() - t0
    guarded = instantiate(wasm, bounds="guard")
    try:
        peers = {"wasmtime": _wasmtime(wasm, False), "wasmtime-chk": _wasmtime(wasm, True)}
    except ImportError:
        peers = {}
        print("wasmtime is not installed (pip install wasmtime==50.0.1): its columns are empty")
    cols = ["gcc -O2", "ours checks", "ours guard"] + list(peers)
    print(f"translation + JIT of the module: {translate_s * 1000:.0f} ms "
          f"({len(wasm)} bytes of wasm); best of {repeat} rounds, ms per call")
    head = f"{'kernel':<10}" + "".join(f"{c:>13}" for c in cols)
    head += "".join(f"{c + '/gcc':>18}" for c in cols[1:])
    print(head)
    for name, arg, restype, bits in KERNELS:
        cf = getattr(native, name)
        cf.restype, cf.argtypes = restype, [restype]
        fns = [cf, getattr(ours, name), getattr(guarded, name)] + [p[name] for p in peers.values()]
        timed = best_of(fns, arg, repeat)
        values = {r & ((1 << bits) - 1) for _, r in timed}
        assert len(values) == 1, f"{name}: the runs disagree: {[r for _, r in timed]}"
        base = timed[0][0]
        row = f"{name:<10}" + "".join(f"{t * 1000:>13.2f}" for t, _ in timed)
        row += "".join(f"{t / base:>17.2f}x" for t, _ in timed[1:])
        print(row)
    if "--no-kernel" not in sys.argv:
        in_the_kernel(max(repeat, 7))   # emulated time is noisier: more runs


def in_the_kernel(repeat: int) -> None:
    """The kernels as wasm cells in a booted kernel: guard regions against explicit checks."""
    from theseus_nb import Kernel, LiveKernel

    source = (HERE / "c" / "kernel_timing.c").read_text().replace(
        '#include "kernels.c"', C_SRC.read_text())
    with tempfile.TemporaryDirectory() as tmp:
        live: LiveKernel = Kernel.default().build(Path(tmp)).boot()
        try:
            for bounds in ("guard", "checks"):
                live.load(f"k{bounds}", c=source, bounds=bounds)
            print(f"\nin the kernel (QEMU TCG, emulated: compare the columns, not with the "
                  f"host), fewest cycles of {repeat} runs")
            print(f"{'kernel':<10}{'guard':>16}{'checks':>16}{'guard/checks':>16}")
            for name, *_ in KERNELS:
                got = [_timed(live, f"k{b}::time_{name}", repeat) for b in ("guard", "checks")]
                print(f"{name:<10}{got[0]:>16,}{got[1]:>16,}{got[0] / got[1]:>15.2f}x")
        finally:
            live.shutdown()


def _timed(live, entry: str, rounds: int) -> int:
    task = live.spawn(entry, rounds)
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        rec = next(t for t in live.tasks() if t.id == task)
        if not rec.alive:
            if rec.state != "exited":
                raise RuntimeError(f"{entry}: {rec.state} ({rec.cause})")
            return int(rec.value)
        time.sleep(0.2)
    raise RuntimeError(f"{entry} did not finish in 10 minutes")


if __name__ == "__main__":
    main()
