# interrupts.s: interrupt entry stubs and the context switch.
#
# Design note.  Every interrupt, exception and voluntary yield (vector 0x81,
# see yield_now) enters through one path: the stub pushes a vector number (and a zero where
# the CPU pushes no error code), isr_common saves the 15 general registers on
# the current stack and calls idt::dispatch(frame).  dispatch returns the
# frame to resume: the same one, or the saved frame of another task.  So a
# context switch is only "load another rsp" between the pushes and the pops;
# a task that is not running is exactly one such frame on its own stack.
# The kernel is built without SSE, so the frame holds the general registers
# only; a task's SSE registers are switched apart from it, by
# kernel_src/fpu.py (fx_save/fx_restore below), when the switcher changes task.
#
# Frame layout, in 8-byte words from the frame pointer (named in kernel_src/frame.py):
#   0 r15  1 r14  2 r13  3 r12  4 r11  5 r10  6 r9  7 r8  8 rbp  9 rdi
#  10 rsi 11 rdx 12 rcx 13 rbx 14 rax 15 vector 16 error
#  17 rip 18 cs 19 rflags 20 rsp 21 ss          (pushed by the CPU)

    .section .text.interrupts.isr_common,"ax",@progbits
    .globl "interrupts::isr_common"
"interrupts::isr_common":
isr_common:
    pushq %rax
    pushq %rbx
    pushq %rcx
    pushq %rdx
    pushq %rsi
    pushq %rdi
    pushq %rbp
    pushq %r8
    pushq %r9
    pushq %r10
    pushq %r11
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    cld                              # the cell code assumes the ABI's direction flag
    pushq $2                         # and AC off: ring 3 may have set it (popf), and with
    popfq                            # AC on SMAP would not stop the handler touching user pages
    movq %rsp, %rdi                  # 22 words pushed since the CPU aligned rsp: aligned
    call "idt::dispatch"
    movq %rax, %rsp                  # the context switch: maybe another task's frame
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %r11
    popq %r10
    popq %r9
    popq %r8
    popq %rbp
    popq %rdi
    popq %rsi
    popq %rdx
    popq %rcx
    popq %rbx
    popq %rax
    addq $16, %rsp                   # vector and error code
    iretq

# One stub per vector: 0-31 CPU exceptions, 32-47 the PIC's IRQs, 0x81 yield.
    .section .text.interrupts.stubs,"ax",@progbits
    .globl "interrupts::stubs"
"interrupts::stubs":
isr_0:
    pushq $0                         # no error code: keep one frame shape
    pushq $0
    jmp isr_common

isr_1:
    pushq $0                         # no error code: keep one frame shape
    pushq $1
    jmp isr_common

isr_2:
    pushq $0                         # no error code: keep one frame shape
    pushq $2
    jmp isr_common

isr_3:
    pushq $0                         # no error code: keep one frame shape
    pushq $3
    jmp isr_common

isr_4:
    pushq $0                         # no error code: keep one frame shape
    pushq $4
    jmp isr_common

isr_5:
    pushq $0                         # no error code: keep one frame shape
    pushq $5
    jmp isr_common

isr_6:
    pushq $0                         # no error code: keep one frame shape
    pushq $6
    jmp isr_common

isr_7:
    pushq $0                         # no error code: keep one frame shape
    pushq $7
    jmp isr_common

isr_8:
    pushq $8
    jmp isr_common

isr_9:
    pushq $0                         # no error code: keep one frame shape
    pushq $9
    jmp isr_common

isr_10:
    pushq $10
    jmp isr_common

isr_11:
    pushq $11
    jmp isr_common

isr_12:
    pushq $12
    jmp isr_common

isr_13:
    pushq $13
    jmp isr_common

isr_14:
    pushq $14
    jmp isr_common

isr_15:
    pushq $0                         # no error code: keep one frame shape
    pushq $15
    jmp isr_common

isr_16:
    pushq $0                         # no error code: keep one frame shape
    pushq $16
    jmp isr_common

isr_17:
    pushq $17
    jmp isr_common

isr_18:
    pushq $0                         # no error code: keep one frame shape
    pushq $18
    jmp isr_common

isr_19:
    pushq $0                         # no error code: keep one frame shape
    pushq $19
    jmp isr_common

isr_20:
    pushq $0                         # no error code: keep one frame shape
    pushq $20
    jmp isr_common

isr_21:
    pushq $21
    jmp isr_common

isr_22:
    pushq $0                         # no error code: keep one frame shape
    pushq $22
    jmp isr_common

isr_23:
    pushq $0                         # no error code: keep one frame shape
    pushq $23
    jmp isr_common

isr_24:
    pushq $0                         # no error code: keep one frame shape
    pushq $24
    jmp isr_common

isr_25:
    pushq $0                         # no error code: keep one frame shape
    pushq $25
    jmp isr_common

isr_26:
    pushq $0                         # no error code: keep one frame shape
    pushq $26
    jmp isr_common

isr_27:
    pushq $0                         # no error code: keep one frame shape
    pushq $27
    jmp isr_common

isr_28:
    pushq $0                         # no error code: keep one frame shape
    pushq $28
    jmp isr_common

isr_29:
    pushq $29
    jmp isr_common

isr_30:
    pushq $30
    jmp isr_common

isr_31:
    pushq $0                         # no error code: keep one frame shape
    pushq $31
    jmp isr_common

isr_32:
    pushq $0                         # no error code: keep one frame shape
    pushq $32
    jmp isr_common

isr_33:
    pushq $0                         # no error code: keep one frame shape
    pushq $33
    jmp isr_common

isr_34:
    pushq $0                         # no error code: keep one frame shape
    pushq $34
    jmp isr_common

isr_35:
    pushq $0                         # no error code: keep one frame shape
    pushq $35
    jmp isr_common

isr_36:
    pushq $0                         # no error code: keep one frame shape
    pushq $36
    jmp isr_common

isr_37:
    pushq $0                         # no error code: keep one frame shape
    pushq $37
    jmp isr_common

isr_38:
    pushq $0                         # no error code: keep one frame shape
    pushq $38
    jmp isr_common

isr_39:
    pushq $0                         # no error code: keep one frame shape
    pushq $39
    jmp isr_common

isr_40:
    pushq $0                         # no error code: keep one frame shape
    pushq $40
    jmp isr_common

isr_41:
    pushq $0                         # no error code: keep one frame shape
    pushq $41
    jmp isr_common

isr_42:
    pushq $0                         # no error code: keep one frame shape
    pushq $42
    jmp isr_common

isr_43:
    pushq $0                         # no error code: keep one frame shape
    pushq $43
    jmp isr_common

isr_44:
    pushq $0                         # no error code: keep one frame shape
    pushq $44
    jmp isr_common

isr_45:
    pushq $0                         # no error code: keep one frame shape
    pushq $45
    jmp isr_common

isr_46:
    pushq $0                         # no error code: keep one frame shape
    pushq $46
    jmp isr_common

isr_47:
    pushq $0                         # no error code: keep one frame shape
    pushq $47
    jmp isr_common

isr_129:
    pushq $0                         # no error code: keep one frame shape
    pushq $129
    jmp isr_common

    .section .rodata.interrupts.stub_table,"a",@progbits
    .p2align 3
    .globl "interrupts::stub_table"
"interrupts::stub_table":             # address of the stub of vector i, i < 48
    .quad isr_0
    .quad isr_1
    .quad isr_2
    .quad isr_3
    .quad isr_4
    .quad isr_5
    .quad isr_6
    .quad isr_7
    .quad isr_8
    .quad isr_9
    .quad isr_10
    .quad isr_11
    .quad isr_12
    .quad isr_13
    .quad isr_14
    .quad isr_15
    .quad isr_16
    .quad isr_17
    .quad isr_18
    .quad isr_19
    .quad isr_20
    .quad isr_21
    .quad isr_22
    .quad isr_23
    .quad isr_24
    .quad isr_25
    .quad isr_26
    .quad isr_27
    .quad isr_28
    .quad isr_29
    .quad isr_30
    .quad isr_31
    .quad isr_32
    .quad isr_33
    .quad isr_34
    .quad isr_35
    .quad isr_36
    .quad isr_37
    .quad isr_38
    .quad isr_39
    .quad isr_40
    .quad isr_41
    .quad isr_42
    .quad isr_43
    .quad isr_44
    .quad isr_45
    .quad isr_46
    .quad isr_47
    .globl "interrupts::yield_stub"
"interrupts::yield_stub":
    .quad isr_129

# Small helpers, each a (u64) -> u64 function so cells reach them with
# call_addr (the cell language has no inline assembly).

    .section .text.interrupts.yield_now,"ax",@progbits
    .globl "interrupts::yield_now"
"interrupts::yield_now":                # give up the CPU: the scheduler picks who runs
    # The frame `int $0x81` would push, built by hand: rsp aligned down to
    # 16, then ss, the old rsp, rflags, cs and the resume address; interrupts
    # off as the gate would turn them.  Not `int` itself: under KVM on a
    # host that runs its guests deprivileged (Linux's PVM, as on the
    # project's machine), a software interrupt traps to the host's
    # instruction emulator, which handles `int` in real mode only and stops
    # the guest ("KVM internal error. Suberror: 1").  The stub and the
    # frame are the same either way (vector 0x81), and it is cheaper: no
    # IDT lookup.  The gate of vector 0x81 stays, for code that uses `int`.
    movq %rsp, %rax
    andq $-16, %rsp
    pushq $0x10                      # ss: frame.KERNEL_DATA
    pushq %rax                       # rsp as it was at the yield
    pushfq
    cli
    pushq $0x08                      # cs: frame.KERNEL_CODE
    leaq 1f(%rip), %rax
    pushq %rax                       # rip: where iretq resumes
    pushq $0                         # no error code
    pushq $0x81                      # the yield vector
    jmp isr_common
1:  xorl %eax, %eax
    ret

    .section .text.interrupts.load_tables,"ax",@progbits
    .globl "interrupts::load_tables"
"interrupts::load_tables":              # rdi: [gdtr(10 bytes) pad idtr(10 bytes)], 16 apart
    lgdt (%rdi)
    movw $0x10, %ax                  # same selectors as boot.s: reload to be explicit
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %ss
    movw $0x18, %ax                  # the TSS (its IST1 holds the double-fault stack)
    ltr %ax
    lidt 16(%rdi)
    xorl %eax, %eax
    ret

    .section .text.interrupts.read_cr2,"ax",@progbits
    .globl "interrupts::read_cr2"
"interrupts::read_cr2":                 # the address a page fault tried to reach
    movq %cr2, %rax
    ret

    .section .text.interrupts.read_flags,"ax",@progbits
    .globl "interrupts::read_flags"
"interrupts::read_flags":
    pushfq
    popq %rax
    ret

    .section .text.interrupts.fx_save,"ax",@progbits
    .globl "interrupts::fx_save"
"interrupts::fx_save":                  # rdi: 512 bytes, 16-aligned: x87, MXCSR, xmm0-15 go there
    fxsave64 (%rdi)
    xorl %eax, %eax
    ret

    .section .text.interrupts.fx_restore,"ax",@progbits
    .globl "interrupts::fx_restore"
"interrupts::fx_restore":               # rdi: an area fx_save wrote (or fpu.py built)
    fxrstor64 (%rdi)
    xorl %eax, %eax
    ret

    .section .text.interrupts.read_mxcsr,"ax",@progbits
    .globl "interrupts::read_mxcsr"
"interrupts::read_mxcsr":               # SSE control and status: which exception #XM was
    pushq $0
    stmxcsr (%rsp)
    popq %rax
    ret

    .section .text.interrupts.read_cr0,"ax",@progbits
    .globl "interrupts::read_cr0"
"interrupts::read_cr0":                 # CR0, to tell why #NM came (TS or EM set)
    movq %cr0, %rax
    ret

    .section .text.interrupts.sse_on,"ax",@progbits
    .globl "interrupts::sse_on"
"interrupts::sse_on":                   # CR0.EM and TS off again, as boot.s left them
    movq %cr0, %rax                  # (only an unsafe cell can have set them)
    andq $~0xC, %rax
    movq %rax, %cr0
    xorl %eax, %eax
    ret

    .section .text.interrupts.task_return,"ax",@progbits
    .globl "interrupts::task_return"
"interrupts::task_return":              # a task's entry returned: its value is in rax
    movq %rax, %rdi
    andq $-16, %rsp
    call "task::exit_current"
1:  ud2                              # exit_current never returns
    jmp 1b
