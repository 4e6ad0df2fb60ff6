"""strutil: small string utilities (comparison, prefixes, numbers in text)."""
from theseus_nb.lang.prelude import *


def equal(a: str, b: str) -> bool:
    """Are a and b the same text?"""
    if len(a) != len(b):
        return False
    for i in range(len(a)):
        if ord(a[i]) != ord(b[i]):
            return False
    return True


def starts_with(s: str, prefix: str) -> bool:
    """Does s start with prefix?"""
    if len(prefix) > len(s):
        return False
    for i in range(len(prefix)):
        if ord(s[i]) != ord(prefix[i]):
            return False
    return True


def is_digit(c: u8) -> bool:
    """Is c an ASCII decimal digit?"""
    return 48 <= c and c <= 57


def parse_u64(s: str) -> u64:
    """The decimal number in s, or 0 if s is empty or not a number."""
    v: u64 = 0
    for i in range(len(s)):
        c: u8 = u8(ord(s[i]))
        if not is_digit(c) or v > 1844674407370955160:
            return 0
        v = v * 10 + u64(c - 48)
    return v


def count_char(s: str, c: u8) -> u64:
    """How many times byte c occurs in s."""
    n: u64 = 0
    for i in range(len(s)):
        if u8(ord(s[i])) == c:
            n += 1
    return n
