"""Loops: range with 1-3 arguments (negative steps too), while, break, continue, early return."""
from theseus_nb.lang.prelude import *


def sum_to(n: u32) -> u64:
    total: u64 = 0
    for i in range(n):
        total += u64(i)
    return total


def sum_range(a: i32, b: i32) -> i64:
    total: i64 = 0
    for i in range(a, b):
        total += i64(i)
    return total


def sum_step(a: i32, b: i32, step: i32) -> i64:
    total: i64 = 0
    count: i64 = 0
    for i in range(a, b, step):
        total += i64(i) * count
        count += 1
    return total


def countdown(n: i16) -> i64:
    acc: i64 = 0
    for i in range(n, -1, -3):
        acc = acc * 3 + i64(i)
        if acc > 1000000:
            acc = acc % 1000
    return acc


def last_loop_value(n: u8) -> u8:
    i: u8 = 77
    for i in range(n):
        pass
    return i


def first_multiple(n: u32, k: u32) -> u32:
    i: u32 = 1
    while True:
        if i * k >= n:
            return i
        i += 1


def skip_and_stop(n: u32) -> u32:
    total: u32 = 0
    for i in range(n):
        if i % 3 == 0:
            continue
        if i > 50:
            break
        total += i
    return total


def collatz(n: u64) -> u32:
    steps: u32 = 0
    while n != 1:
        n = n // 2 if n % 2 == 0 else 3 * n + 1
        steps += 1
    return steps


def nested(n: u8) -> u32:
    count: u32 = 0
    for i in range(n):
        for j in range(i, n):
            if (i + j) % 4 == 1:
                count += 1
            elif i == j:
                continue
            else:
                count += 2
    return count


def triangle(a: i64, b: i64, c: i64) -> u8:
    if a <= 0 or b <= 0 or c <= 0:
        return 0
    if a + b <= c or a + c <= b or b + c <= a:
        return 0
    if a == b == c:
        return 3
    if a == b or b == c or a == c:
        return 2
    return 1


def between(a: i32, b: i32, c: i32) -> bool:
    return a < b <= c != a
