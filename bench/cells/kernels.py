"""Loop-heavy kernels for bench_lang.py: the same source runs jitted and in CPython."""
from theseus_nb.lang.prelude import *

N_SIEVE = 1000000
N_MAT = 96
N_BYTES = 1000000

sieve_buf: Array[bool, 1000000] = [False] * 1000000
ma: Array[Array[u64, 96], 96] = [[0] * 96 for _ in range(96)]
mb: Array[Array[u64, 96], 96] = [[0] * 96 for _ in range(96)]
mc: Array[Array[u64, 96], 96] = [[0] * 96 for _ in range(96)]
data: Array[u8, 1000000] = [0] * 1000000


def sieve(n: u64) -> u64:
    for i in range(n):
        sieve_buf[i] = True
    count: u64 = 0
    for i in range(2, n):
        if sieve_buf[i]:
            count += 1
            if i * i < n:
                for j in range(i * i, n, i):
                    sieve_buf[j] = False
    return count


def matmul(seed: u64) -> u64:
    x = seed
    for i in range(N_MAT):
        for j in range(N_MAT):
            x = wrapping_add(wrapping_mul(x, 6364136223846793005, u64), 1442695040888963407, u64)
            ma[i][j] = x >> 54
            mb[i][j] = (x >> 44) & 1023
    for i in range(N_MAT):
        for j in range(N_MAT):
            acc: u64 = 0
            for k in range(N_MAT):
                acc += ma[i][k] * mb[k][j]
            mc[i][j] = acc
    total: u64 = 0
    for i in range(N_MAT):
        total = wrapping_add(total, mc[i][(i * 7) % N_MAT], u64)
    return total


def checksum(seed: u32) -> u32:
    x = seed
    for i in range(N_BYTES):
        x = wrapping_add(wrapping_mul(x, 1103515245, u32), 12345, u32)
        data[i] = u8(x >> 24)
    h: u32 = 2166136261
    for b in data:
        h = wrapping_mul(h ^ u32(b), 16777619, u32)
    return h


def fib(n: u64) -> u64:
    if n < 2:
        return n
    return fib(n - 1) + fib(n - 2)
