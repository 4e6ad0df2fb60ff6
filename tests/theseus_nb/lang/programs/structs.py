"""Structs: a task table (array of structs), structs holding arrays, in-place assignment."""
from theseus_nb.lang.prelude import *

EMPTY = 0
RUNNABLE = 1
RUNNING = 2
EXITED = 3


@struct
class Task:
    state: u8
    ticks: u32
    prio: u8


@struct
class Ring:
    buf: Array[u16, 8]
    head: u32
    tail: u32


@struct
class Point:
    x: i32
    y: i32


tasks: Array[Task, 16] = [Task() for _ in range(16)]


def _run_one() -> i32:
    best: i32 = -1
    for i in range(16):
        if tasks[i].state == RUNNABLE and (best < 0 or tasks[i].prio > tasks[best].prio):
            best = i32(i)
    if best >= 0:
        tasks[best].state = RUNNING
        tasks[best].ticks += 1
        tasks[best].state = EXITED if tasks[best].ticks >= u32(tasks[best].prio) else RUNNABLE
    return best


def schedule(seed: u32, rounds: u8) -> u64:
    for i in range(16):
        tasks[i].state = RUNNABLE if (seed >> (i % 32)) & 1 == 1 else EMPTY
        tasks[i].ticks = 0
        tasks[i].prio = u8((seed >> 3) % 7 + u32(i) % 5)
    trace: u64 = 0
    for _ in range(rounds):
        r = _run_one()
        trace = (trace * 17 + u64(r + 1)) % 1000000007
    for t in tasks:
        trace += u64(t.ticks)
    return trace


def _push(r: Ring, v: u16) -> bool:
    if r.tail - r.head == 8:
        return False
    r.buf[r.tail % 8] = v
    r.tail += 1
    return True


def _pop(r: Ring) -> u16:
    assert r.tail != r.head, "ring is empty"
    v = r.buf[r.head % 8]
    r.head += 1
    return v


def ring(ops: u64) -> u64:
    r = Ring()
    out: u64 = 0
    for i in range(40):
        if (ops >> i) & 1 == 1:
            if not _push(r, u16(i * 3)):
                out += 1000
        elif r.tail != r.head:
            out = out * 3 + u64(_pop(r))
    return out % 1000000007 + u64(r.tail - r.head)


def manhattan(ax: i32, ay: i32, bx: i32, by: i32) -> i32:
    a = Point(ax, ay)
    b = Point(bx, by)
    return abs(a.x - b.x) + abs(a.y - b.y)
