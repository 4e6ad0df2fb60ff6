/* bench/c/kernels.c timed inside the guest: time_NAME(rounds) runs NAME `rounds` times
   and returns the fewest cycles one run took (the TSC, read through theseus.cycles). */
#include "kernels.c"

__attribute__((import_module("theseus"), import_name("cycles")))
extern uint64_t cycles(void);

static volatile uint64_t sink;    /* so no run is optimised away */

#define TIMED(name, arg)                                              \
    uint64_t time_##name(uint64_t rounds) {                           \
        uint64_t best = ~0ULL;                                        \
        for (uint64_t r = 0; r < rounds; r++) {                       \
            uint64_t t0 = cycles();                                   \
            sink = name(arg);                                         \
            uint64_t t = cycles() - t0;                               \
            if (t < best) best = t;                                   \
        }                                                             \
        return best;                                                  \
    }

TIMED(sieve, 1000000)
TIMED(matmul, 12345)
TIMED(checksum, 7)
TIMED(fib, 27)
