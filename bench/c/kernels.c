/* The same algorithms as bench/cells/kernels.py, for gcc -O2. */
#include <stdint.h>
#include <stdbool.h>

#define N_MAT 96
#define N_BYTES 1000000

static bool sieve_buf[1000000];
static uint64_t ma[N_MAT][N_MAT], mb[N_MAT][N_MAT], mc[N_MAT][N_MAT];
static uint8_t data[N_BYTES];

uint64_t sieve(uint64_t n) {
    for (uint64_t i = 0; i < n; i++) sieve_buf[i] = true;
    uint64_t count = 0;
    for (uint64_t i = 2; i < n; i++) {
        if (sieve_buf[i]) {
            count++;
            if (i * i < n)
                for (uint64_t j = i * i; j < n; j += i) sieve_buf[j] = false;
        }
    }
    return count;
}

uint64_t matmul(uint64_t seed) {
    uint64_t x = seed;
    for (int i = 0; i < N_MAT; i++)
        for (int j = 0; j < N_MAT; j++) {
            x = x * 6364136223846793005ULL + 1442695040888963407ULL;
            ma[i][j] = x >> 54;
            mb[i][j] = (x >> 44) & 1023;
        }
    for (int i = 0; i < N_MAT; i++)
        for (int j = 0; j < N_MAT; j++) {
            uint64_t acc = 0;
            for (int k = 0; k < N_MAT; k++) acc += ma[i][k] * mb[k][j];
            mc[i][j] = acc;
        }
    uint64_t total = 0;
    for (int i = 0; i < N_MAT; i++) total += mc[i][(i * 7) % N_MAT];
    return total;
}

uint32_t checksum(uint32_t seed) {
    uint32_t x = seed;
    for (int i = 0; i < N_BYTES; i++) {
        x = x * 1103515245u + 12345u;
        data[i] = (uint8_t)(x >> 24);
    }
    uint32_t h = 2166136261u;
    for (int i = 0; i < N_BYTES; i++) h = (h ^ data[i]) * 16777619u;
    return h;
}

uint64_t fib(uint64_t n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }
