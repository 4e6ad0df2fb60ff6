# stack_switch.s: call a function on another stack, and abandon it.
#
# kernel_src/command.py runs every shell command this way, on a guarded
# stack of its own, so that a command which faults can be abandoned: the
# fault handler makes the shell resume as if run() had returned, and the
# command's stack is simply left behind.  Both take rdi = a block of
# words (see command.py): 0 entry, 1 the stack's top (16-aligned),
# 2..7 rbx rbp r12 r13 r14 r15 of the caller, 8 the caller's rsp,
# 9 the status abandon() returns.

    .section .text.stack_switch.run,"ax",@progbits
    .globl "stack_switch::run"
"stack_switch::run":                    # entry(0) on the block's stack; its result
    movq %rbx, 16(%rdi)
    movq %rbp, 24(%rdi)
    movq %r12, 32(%rdi)
    movq %r13, 40(%rdi)
    movq %r14, 48(%rdi)
    movq %r15, 56(%rdi)
    movq %rsp, 64(%rdi)              # pointing at our return address
    movq 8(%rdi), %rsp
    pushq %rdi                       # the block, for the way back
    pushq $0                         # rsp 16-aligned at the call, as the ABI wants
    movq (%rdi), %rax
    xorl %edi, %edi
    xorl %ebp, %ebp                  # a backtrace stops here
    call *%rax
    addq $8, %rsp
    popq %rdi
    movq 64(%rdi), %rsp
    ret

    .section .text.stack_switch.abandon,"ax",@progbits
    .globl "stack_switch::abandon"
"stack_switch::abandon":                # leave the other stack: run() returns block[9]
    movq 16(%rdi), %rbx
    movq 24(%rdi), %rbp
    movq 32(%rdi), %r12
    movq 40(%rdi), %r13
    movq 48(%rdi), %r14
    movq 56(%rdi), %r15
    movq 64(%rdi), %rsp
    movq 72(%rdi), %rax
    sti                              # the shell runs with interrupts on
    ret
