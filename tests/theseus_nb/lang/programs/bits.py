"""Bit tricks: population count, power-of-two tests, rotations, bit reversal."""
from theseus_nb.lang.prelude import *

MASK32 = (1 << 32) - 1


def popcount(x: u64) -> u64:
    n: u64 = 0
    while x != 0:
        x = x & (x - 1)
        n += 1
    return n


def is_pow2(x: u64) -> bool:
    return x != 0 and x & (x - 1) == 0


def lowest_bit(x: i64) -> i64:
    return x & -x


def rotl32(x: u32, r: u8) -> u32:
    r = r % 32
    if r == 0:
        return x
    return u32((u64(x) << r) & MASK32) | (x >> (32 - r))


def reverse8(x: u8) -> u8:
    out: u8 = 0
    for i in range(8):
        if x & (1 << i) != 0:
            out |= 1 << (7 - i)
    return out


def parity(x: u32) -> u32:
    x ^= x >> 16
    x ^= x >> 8
    x ^= x >> 4
    x ^= x >> 2
    x ^= x >> 1
    return x & 1


def sign_extend12(x: u16) -> i16:
    v = i16(x & 0xFFF)
    if v & 0x800 != 0:
        v -= 0x1000
    return v


def xorshift(seed: u64, rounds: u8) -> u64:
    x = seed | 1
    for _ in range(rounds):
        x ^= (x << 13) & 0xFFFFFFFFFFFFFFFF if x < (1 << 51) else (x & 0x7FFFF) << 13
        x ^= x >> 7
        x ^= (x & 0xFFFFFFFFFFFFF) << 11
    return x
