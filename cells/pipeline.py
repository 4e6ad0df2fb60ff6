"""pipeline: a producer and a consumer task over a channel (pipeline N starts both).

The producer sends 1..N, the consumer checks they arrive in order and exits
with how many it received; the channel holds few values, so both block in
turn.  Spawn them by hand too: spawn pipeline::consumer N, spawn pipeline::producer N.
"""
from theseus_nb.lang.prelude import *
from kernel_src.shell import arg_u64
from kernel_src.sync import channel, send, recv
from kernel_src.task import spawn, spawn_error
from kernel_src.serial import write, write_u64, newline

PIPE: u64 = 0x70697065          # the channel's name, "pipe"

_received: u64 = 0
_last: u64 = 0


def producer(n: u64) -> u64:
    """Send 1..n on the pipe; returns n."""
    c: u64 = channel(PIPE)
    for i in range(1, n + 1):
        send(c, i)
    return n


def consumer(n: u64) -> u64:
    """Receive n values, which must be 1..n in order; returns how many arrived."""
    global _received, _last
    c: u64 = channel(PIPE)
    _received = 0
    for i in range(1, n + 1):
        v: u64 = recv(c)
        if v != i:
            panic("pipeline: message out of order")
        _received += 1
        _last = v
    return _received


def main(a: u64) -> u64:
    """pipeline N: start consumer and producer for N messages; print their ids.
    pipeline: print how many messages arrived so far."""
    n: u64 = arg_u64(1)
    if n == 0:
        write("received ")
        write_u64(_received)
        newline()
        return 0
    c: u64 = spawn("pipeline::consumer", n)
    p: u64 = spawn("pipeline::producer", n)
    if c == 0 or p == 0:
        write("pipeline: ")
        write(spawn_error())
        newline()
        return 1
    write("consumer ")
    write_u64(c)
    write(" producer ")
    write_u64(p)
    newline()
    return 0
