"""sha256: the SHA-256 hash (FIPS 180-4), so the kernel can compute a signature hash itself.

The compiler's signature hash of a public function is the first 16 hex
digits of SHA-256("NAME:PARAMS->RET"), e.g. "run:u64->u64"
(theseus_nb/lang/interface.py); call_by_name.py computes the one it expects
and compares it with the one the loader recorded.  Feed bytes between
sha_begin() and sha_end(); one message at a time.
"""
from theseus_nb.lang.prelude import *

_K: Array[u32, 64] = [
    0x428A2F98, 0x71374491, 0xB5C0FBCF, 0xE9B5DBA5, 0x3956C25B, 0x59F111F1, 0x923F82A4, 0xAB1C5ED5,
    0xD807AA98, 0x12835B01, 0x243185BE, 0x550C7DC3, 0x72BE5D74, 0x80DEB1FE, 0x9BDC06A7, 0xC19BF174,
    0xE49B69C1, 0xEFBE4786, 0x0FC19DC6, 0x240CA1CC, 0x2DE92C6F, 0x4A7484AA, 0x5CB0A9DC, 0x76F988DA,
    0x983E5152, 0xA831C66D, 0xB00327C8, 0xBF597FC7, 0xC6E00BF3, 0xD5A79147, 0x06CA6351, 0x14292967,
    0x27B70A85, 0x2E1B2138, 0x4D2C6DFC, 0x53380D13, 0x650A7354, 0x766A0ABB, 0x81C2C92E, 0x92722C85,
    0xA2BFE8A1, 0xA81A664B, 0xC24B8B70, 0xC76C51A3, 0xD192E819, 0xD6990624, 0xF40E3585, 0x106AA070,
    0x19A4C116, 0x1E376C08, 0x2748774C, 0x34B0BCB5, 0x391C0CB3, 0x4ED8AA4A, 0x5B9CCA4F, 0x682E6FF3,
    0x748F82EE, 0x78A5636F, 0x84C87814, 0x8CC70208, 0x90BEFFFA, 0xA4506CEB, 0xBEF9A3F7, 0xC67178F2]
_h: Array[u32, 8] = [0] * 8          # the running hash
_w: Array[u32, 64] = [0] * 64        # the message schedule of one block
_block: Array[u8, 64] = [0] * 64     # the block being filled
_fill: u64 = 0                       # bytes in _block
_length: u64 = 0                     # bytes fed so far


def _rotr(x: u32, n: u64) -> u32:
    # In u64, where the left shift cannot lose bits.
    return u32(((u64(x) >> n) | (u64(x) << (32 - n))) & 0xFFFFFFFF)


def _compress() -> None:
    for i in range(16):
        _w[i] = (u32(_block[4 * i]) << 24) | (u32(_block[4 * i + 1]) << 16) \
            | (u32(_block[4 * i + 2]) << 8) | u32(_block[4 * i + 3])
    for i in range(16, 64):
        s0: u32 = _rotr(_w[i - 15], 7) ^ _rotr(_w[i - 15], 18) ^ (_w[i - 15] >> 3)
        s1: u32 = _rotr(_w[i - 2], 17) ^ _rotr(_w[i - 2], 19) ^ (_w[i - 2] >> 10)
        _w[i] = wrapping_add(wrapping_add(_w[i - 16], s0, u32), wrapping_add(_w[i - 7], s1, u32), u32)
    a: u32 = _h[0]
    b: u32 = _h[1]
    c: u32 = _h[2]
    d: u32 = _h[3]
    e: u32 = _h[4]
    f: u32 = _h[5]
    g: u32 = _h[6]
    h: u32 = _h[7]
    for i in range(64):
        big1: u32 = _rotr(e, 6) ^ _rotr(e, 11) ^ _rotr(e, 25)
        choose: u32 = (e & f) ^ ((e ^ 0xFFFFFFFF) & g)
        t1: u32 = wrapping_add(wrapping_add(h, big1, u32), wrapping_add(choose, wrapping_add(_K[i], _w[i], u32), u32), u32)
        big0: u32 = _rotr(a, 2) ^ _rotr(a, 13) ^ _rotr(a, 22)
        major: u32 = (a & b) ^ (a & c) ^ (b & c)
        t2: u32 = wrapping_add(big0, major, u32)
        h = g
        g = f
        f = e
        e = wrapping_add(d, t1, u32)
        d = c
        c = b
        b = a
        a = wrapping_add(t1, t2, u32)
    _h[0] = wrapping_add(_h[0], a, u32)
    _h[1] = wrapping_add(_h[1], b, u32)
    _h[2] = wrapping_add(_h[2], c, u32)
    _h[3] = wrapping_add(_h[3], d, u32)
    _h[4] = wrapping_add(_h[4], e, u32)
    _h[5] = wrapping_add(_h[5], f, u32)
    _h[6] = wrapping_add(_h[6], g, u32)
    _h[7] = wrapping_add(_h[7], h, u32)


def sha_begin() -> None:
    """Start a new message."""
    global _fill, _length
    _h[0] = 0x6A09E667
    _h[1] = 0xBB67AE85
    _h[2] = 0x3C6EF372
    _h[3] = 0xA54FF53A
    _h[4] = 0x510E527F
    _h[5] = 0x9B05688C
    _h[6] = 0x1F83D9AB
    _h[7] = 0x5BE0CD19
    _fill = 0
    _length = 0


def sha_byte(c: u8) -> None:
    """Feed one byte of the message."""
    global _fill, _length
    _block[_fill] = c
    _fill += 1
    _length += 1
    if _fill == 64:
        _compress()
        _fill = 0


def sha_str(s: str) -> None:
    """Feed the bytes of s."""
    for i in range(len(s)):
        sha_byte(u8(ord(s[i])))


def sha_end() -> u64:
    """Finish the message: the first 8 bytes of its digest, big-endian (the
    number the first 16 hex digits of the digest spell)."""
    global _fill
    bits: u64 = _length * 8
    sha_byte(0x80)
    while _fill != 56:
        sha_byte(0)
    for i in range(8):
        sha_byte(u8((bits >> (56 - 8 * i)) & 0xFF))
    return (u64(_h[0]) << 32) | u64(_h[1])
