"""Integer arithmetic where Python and C differ: floor division, modulo, shifts, conversions."""
from theseus_nb.lang.prelude import *


def floordiv(a: i64, b: i64) -> i64:
    return a // b


def mod(a: i64, b: i64) -> i64:
    return a % b


def floordiv8(a: i8, b: i8) -> i8:
    return a // b


def mod16(a: i16, b: i16) -> i16:
    return a % b


def udivmod(a: u32, b: u32) -> u32:
    return a // b * 1000 + a % b % 1000


def add8(a: u8, b: u8) -> u8:
    return a + b


def sub_signed(a: i32, b: i32) -> i32:
    return a - b


def mul64(a: i64, b: i64) -> i64:
    return a * b


def shl(a: u32, n: u8) -> u32:
    return a << n


def shr_signed(a: i32, n: u8) -> i32:
    return a >> n


def shr_unsigned(a: u16, n: u8) -> u16:
    return a >> n


def neg(a: i16) -> i16:
    return -a


def invert(a: i32) -> i32:
    return ~a


def narrow(a: i64) -> u8:
    return u8(a)


def widen(a: i8) -> i64:
    return i64(a) * 1000


def to_signed(a: u64) -> i32:
    return i32(a)


def mixed(a: u16, b: u16) -> u64:
    return u64(a) * u64(b) + 7


def clamp(a: i64, lo: i64, hi: i64) -> i64:
    return max(lo, min(a, hi))


def absdiff(a: i32, b: i32) -> i32:
    return abs(a - b)


def as_bool(a: i64) -> bool:
    return bool(a) and not a == 3


def literal_fold(a: u8) -> u8:
    return a % (300 - 100) + (1 << 3) - 8
