"""sync: wait/notify on a key, and channels of u64 built on it.

A task waits for a key (any u64: an address, a channel number); notify
makes every task waiting on it runnable again.  Each waiter re-checks its
condition with interrupts off before blocking, so a notify can never slip
in between "the queue is empty" and "I sleep" (no lost wake-ups).
A channel is a ring of CHANNEL_SLOTS values: send blocks while it is full,
recv while it is empty; values arrive in the order they were sent.
Call them from task context, never from a handler: each puts the
interrupt flag back as it found it (irq_off/irq_restore), so a caller that
holds interrupts off keeps them off.
"""
# cell: unsafe
from theseus_nb.lang.prelude import *
from kernel_src.params import MAX_CHANNELS, CHANNEL_SLOTS
from kernel_src.task import block_on, wake_key
from kernel_src.irq import irq_off, irq_restore

CHAN_KEY: u64 = 0x4300000000000000     # wait key of channel c: CHAN_KEY | c
NO_CHANNEL: u64 = 0xFFFFFFFFFFFFFFFF


@struct
class Channel:
    used: bool
    name: u64                  # key given to channel(); 0 for an anonymous one
    head: u64                  # next value to receive
    count: u64
    sent: u64
    ring: Array[u64, 16]       # params.CHANNEL_SLOTS


chans: Array[Channel, 32] = [Channel() for _ in range(32)]   # params.MAX_CHANNELS


def wait(key: u64) -> None:
    """Block until notify(key).  Interrupts must be off (re-check after waking)."""
    block_on(key)


def notify(key: u64) -> u64:
    """Wake every task waiting on key; how many woke."""
    return wake_key(key)


@safe_interface
def channel(name: u64) -> u64:
    """The channel called name (created on first use), or NO_CHANNEL if all are taken."""
    flags: u64 = irq_off()
    free: u64 = NO_CHANNEL
    for c in range(MAX_CHANNELS):
        if chans[c].used and chans[c].name == name:
            irq_restore(flags)
            return c
        if not chans[c].used and free == NO_CHANNEL:
            free = c
    if free != NO_CHANNEL:
        chans[free].used = True
        chans[free].name = name
        chans[free].head = 0
        chans[free].count = 0
        chans[free].sent = 0
    irq_restore(flags)
    return free


def close(c: u64) -> None:
    """Give channel c back (its waiters stay blocked: close it when none is left)."""
    chans[c].used = False


@safe_interface
def send(c: u64, v: u64) -> None:
    """Put v on channel c, waiting while it is full."""
    flags: u64 = irq_off()
    while chans[c].count == CHANNEL_SLOTS:
        wait(CHAN_KEY | c)
    chans[c].ring[(chans[c].head + chans[c].count) % CHANNEL_SLOTS] = v
    chans[c].count += 1
    chans[c].sent += 1
    notify(CHAN_KEY | c)
    irq_restore(flags)


@safe_interface
def recv(c: u64) -> u64:
    """Take the oldest value from channel c, waiting while it is empty."""
    flags: u64 = irq_off()
    while chans[c].count == 0:
        wait(CHAN_KEY | c)
    v: u64 = chans[c].ring[chans[c].head]
    chans[c].head = (chans[c].head + 1) % CHANNEL_SLOTS
    chans[c].count -= 1
    notify(CHAN_KEY | c)
    irq_restore(flags)
    return v


