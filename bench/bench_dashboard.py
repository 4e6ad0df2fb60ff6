"""Benchmark: how long a refresh of each dashboard view takes against a live kernel.

A refresh of the task table is a guest round trip (the `tasks` dump), a
parse (tasks.parse_tasks) and an HTML table; a refresh of the graph view
is a round trip (the `graph` dump), a parse (SectionGraph.from_dump) and a
render (graphviz `dot` to SVG); the console view only redraws what the
bridge already recorded.  Each part is timed on its own, beside the whole
view's refresh, so the table shows where a refresh spends its time: the
graph render against the task-table parse, the host's share against the
guest's.  The dashboard's thread refreshes the tasks and the console
every interval, and the graph only after a swap.  While it runs, a few
counter tasks print on the console, so the task table and the transcript
are not empty.  With --baseline DIR the kernel of another checkout is
measured in the same run (see baseline.py): its `tasks` and `graph`
commands are the part a kernel change can move.

    python bench/bench_dashboard.py [--refreshes N] [--kvm] [--baseline DIR]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

from baseline import add_option, boot_kernels, ratio
from theseus_nb.graph import SectionGraph
from theseus_nb.tasks import parse_tasks, task_rows_html
from theseus_nb.widgets import Dashboard

#: Tasks that print while the views are refreshed (each counts forever).
COUNTERS = 4

#: The parts of a refresh, the table's columns in order ("whole": the view's own refresh()).
_PARTS = ("round trip", "parse", "draw", "whole")


def _ms(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return (time.perf_counter() - start) * 1000


def _one_round(board: Dashboard) -> dict[str, dict[str, float]]:
    """Each part of each view once, in ms."""
    vm = board.machine
    got: dict[str, dict[str, float]] = {}
    tasks_text, graph_text = "", ""

    def query_tasks() -> None:
        nonlocal tasks_text
        tasks_text = vm.machine.query("tasks")

    def query_graph() -> None:
        nonlocal graph_text
        graph_text = vm.machine.query("graph", 30.0)

    rows: list = []
    got["tasks"] = {"round trip": _ms(query_tasks),
                    "parse": _ms(lambda: rows.extend(t.row() for t in parse_tasks(tasks_text))),
                    "draw": _ms(lambda: task_rows_html(rows)),
                    "whole": _ms(board.tasks.refresh)}
    got["graph"] = {"round trip": _ms(query_graph),
                    "parse": _ms(lambda: SectionGraph.from_dump(graph_text)),
                    "draw": _ms(board.graph.redraw),
                    "whole": _ms(board.graph.refresh)}
    console = _ms(board.console.refresh)  # all of it is drawing: no guest round trip
    got["console"] = {"draw": console, "whole": console}
    got["dashboard"] = {"whole": _ms(board.refresh)}
    if board.graph.error or board.tasks.error:
        raise SystemExit(f"a refresh failed: {board.graph.error or board.tasks.error}")
    return got


def _measure(boards: dict[str, Dashboard], refreshes: int) -> dict[str, dict[str, dict[str, float]]]:
    """Median ms of each part of each view, for each machine; the machines
    take turns, round by round, so a busy moment of the host falls on both alike."""
    samples: dict[str, dict[str, dict[str, list[float]]]] = {m: {} for m in boards}
    for _ in range(refreshes):
        for label, board in boards.items():
            for view, parts in _one_round(board).items():
                for part, ms in parts.items():
                    samples[label].setdefault(view, {}).setdefault(part, []).append(ms)
    return {m: {v: {p: statistics.median(x) for p, x in parts.items()} for v, parts in views.items()}
            for m, views in samples.items()}


def _cell(parts: dict[str, float], part: str) -> str:
    return f"{parts[part]:>10.2f}" if part in parts else f"{'-':>10}"


def main() -> None:
    """Run the benchmark and print its table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--refreshes", type=int, default=20)
    parser.add_argument("--kvm", action="store_true")
    add_option(parser)
    args = parser.parse_args()
    machines = boot_kernels(args.baseline, args.kvm)
    boards = {}
    try:
        for label, vm in machines.items():
            for _ in range(COUNTERS):
                vm.spawn("counter::run", 0)
            boards[label] = Dashboard(vm, start=False)  # this script drives the refreshes
            boards[label].graph.pending.join(60)
        figures = _measure(boards, args.refreshes)
        sizes = {label: (len(b.tasks.rows), len(b.graph.graph.sections),
                         len(b.console.visible_lines())) for label, b in boards.items()}
    finally:
        for board in boards.values():
            board.close()
        for vm in machines.values():
            vm.shutdown()
    this = figures["this"]
    tasks, sections, lines = sizes["this"]
    print(f"dashboard refresh, median of {args.refreshes} refreshes ({'KVM' if args.kvm else 'TCG'}), "
          f"in ms: {tasks} tasks, {sections} sections, {lines} console lines")
    print(f"{'view':<36} {'round trip':>10} {'parse':>10} {'draw':>10} {'whole':>10} {'host share':>10}")
    print("-" * 91)
    labels = {"tasks": "task table", "graph": "graph view (after a swap)",
              "console": "console", "dashboard": "dashboard.refresh()"}
    for view, label in labels.items():
        parts = this[view]
        host = parts.get("parse", 0.0) + parts.get("draw", 0.0)
        share = f"{host / parts['whole'] * 100:>9.0f}%" if "draw" in parts else f"{'-':>10}"
        print(f"{label:<36} " + " ".join(_cell(parts, p) for p in _PARTS) + f" {share}")
    print(f"graph render / task-table parse: {ratio(this['graph']['draw'], this['tasks']['parse'])}; "
          f"graph refresh / task-table refresh: {ratio(this['graph']['whole'], this['tasks']['whole'])}")
    if args.baseline:
        base = figures["baseline"]
        for view in ("tasks", "graph"):
            b, a = base[view], this[view]
            print(f"{'baseline: ' + labels[view]:<36} {b['round trip']:>10.2f} {'':>21} {b['whole']:>10.2f}")
            print(f"{'  this kernel / baseline':<36} {ratio(a['round trip'], b['round trip']):>10} "
                  f"{'':>21} {ratio(a['whole'], b['whole']):>10}")


if __name__ == "__main__":
    main()
