# frame_pointer.s: the caller's frame pointer, where a backtrace starts.
#
# Every function is compiled with "frame-pointer"="all" (theseus_nb/build.py),
# so rbp always points at the saved rbp of the caller, with the return
# address just above it.  This function sets up no frame of its own: when it
# runs, rbp is still the frame pointer of the function that called it.

    .section .text.frame_pointer.read,"ax",@progbits
    .globl "frame_pointer::read"
"frame_pointer::read":                  # rbp of the caller (its argument is unused)
    movq %rbp, %rax
    ret
