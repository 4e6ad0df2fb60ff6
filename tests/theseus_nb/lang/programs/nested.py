"""Nested structs, structs in arrays, struct constructors with struct arguments, str globals."""
from theseus_nb.lang.prelude import *

@struct
class P:
    x: i32
    y: i32

@struct
class Seg:
    a: P
    b: P
    tags: Array[u8, 3]

segs: Array[Seg, 4] = [Seg() for _ in range(4)]
name: str = "seg"


def _len2(s: Seg) -> i64:
    dx = i64(s.a.x - s.b.x)
    dy = i64(s.a.y - s.b.y)
    return dx * dx + dy * dy


def setup(k: i32) -> i64:
    global name
    for i in range(4):
        segs[i].a.x = k * i32(i)
        segs[i].b.y = -k
        segs[i].tags[i % 3] = u8(i)
    total: i64 = 0
    for s in segs:
        total += _len2(s) + i64(s.tags[0]) + i64(len(s.tags))
    name = "done" if total > 100 else "small"
    return total


def get_name(k: i32) -> str:
    setup(k)
    return name


def local_struct(v: i32) -> i32:
    s = Seg(P(v, 2), P(3, v))
    s.tags[2] = 9
    x: u8
    x = s.tags[2]
    return s.a.x + s.b.y + i32(x)
