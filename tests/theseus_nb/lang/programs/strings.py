"""Read-only strings: len, ord(s[i]), string parameters and results, checksums."""
from theseus_nb.lang.prelude import *

GREETING = "hello, theseus"


def checksum(s: str) -> u32:
    h: u32 = 2166136261
    for i in range(len(s)):
        h = wrapping_mul(h ^ u32(ord(s[i])), 16777619, u32)
    return h


def greeting_sum() -> u64:
    total: u64 = 0
    for i in range(len(GREETING)):
        total += u64(ord(GREETING[i]))
    return total


def count_char(s: str, c: u8) -> u64:
    n: u64 = 0
    for i in range(len(s)):
        if ord(s[i]) == c:
            n += 1
    return n


def pick(i: u8) -> str:
    if i == 0:
        return "zero"
    return "one" if i == 1 else "many"


def last_char(s: str) -> u8:
    return ord(s[len(s) - 1])


def command(s: str) -> u8:
    if s == "help":
        return 1
    if s != "" and s == GREETING:
        return 2
    return 0
