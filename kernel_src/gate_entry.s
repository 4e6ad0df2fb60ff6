# gate_entry.s: the way into the kernel from ring 3, and the few privileged
# instructions ring 3 needs set up (each a (u64) -> u64 function that cells
# reach with call_addr; the cell language has no inline assembly).
#
# Design note.  An isolated cell (kernel_src/gates.py) runs in ring 3 and
# reaches another cell's function only through a stub the loader wrote into
# its own code: `mov %rcx,%r10; mov $INDEX,%eax; syscall; ret`.  syscall
# jumps here in ring 0 with interrupts off (FMASK clears IF, AC, DF, TF),
# the user's rip in rcx and rflags in r11, and the user's rsp untouched,
# so the first thing is to move to the task's kernel stack (ring.py keeps
# its top in gate_entry::kernel_rsp and in the TSS's rsp0, the stack an interrupt
# from ring 3 lands on: a task is either in ring 3, and its kernel stack is
# empty, or in a gate call on it).  The arguments are saved in a block on
# that stack; gates::resolve(index, block, user rip) checks the index against
# the calling cell's own imports and every str argument against its pages,
# and returns the function to call, or 0 (then gates::refuse ends the task).
# The call runs on the kernel stack with interrupts on, like any kernel
# code, so a gate call may sleep, block or be preempted.  With SMAP on the
# kernel cannot read user pages; resolve sets the block's flag word when a
# str argument must be read, and the call runs between stac and clac.
#
# Argument block, in 8-byte words from its start (named in gates.py):
#   0 rdi  1 rsi  2 rdx  3 r10 (the fourth argument: syscall took rcx)
#   4 r8   5 r9   6 flag (1: call with user access)  7 user rflags
#   8 user rip  9 user rsp

    .section .text.gate_entry.entry,"ax",@progbits
    .globl "gate_entry::entry"
"gate_entry::entry":
    movq %rsp, gate_user_rsp(%rip)   # interrupts are off: nothing else runs here
    movq "gate_entry::kernel_rsp"(%rip), %rsp
    pushq gate_user_rsp(%rip)
    pushq %rcx                       # user rip
    pushq %r11                       # user rflags
    pushq $0                         # flag
    pushq %r9
    pushq %r8
    pushq %r10
    pushq %rdx
    pushq %rsi
    pushq %rdi                       # 10 words: rsp stays 16-aligned
    sti
    cld
    movl %eax, %edi                  # the import index
    movq %rsp, %rsi                  # the block
    movq 64(%rsp), %rdx              # the user rip: which stub called
    call "gates::resolve"
    testq %rax, %rax
    jz 3f
    movq %rax, %r11
    cmpq $0, 48(%rsp)
    je 1f
    stac                             # only when SMAP is on (resolve knows)
1:  movq 0(%rsp), %rdi
    movq 8(%rsp), %rsi
    movq 16(%rsp), %rdx
    movq 24(%rsp), %rcx
    movq 32(%rsp), %r8
    movq 40(%rsp), %r9
    call *%r11
    cmpq $0, 48(%rsp)
    je 2f
    clac
2:  cli
    xorl %edi, %edi                  # no kernel values leak back in scratch registers
    xorl %esi, %esi
    xorl %edx, %edx
    xorl %r8d, %r8d
    xorl %r9d, %r9d
    xorl %r10d, %r10d
    movq 56(%rsp), %r11
    movq 64(%rsp), %rcx
    movq 72(%rsp), %rsp              # the user's stack, last: interrupts are off
    sysretq
3:  movq %rsp, %rdi
    call "gates::refuse"             # ends the task: never returns
4:  ud2
    jmp 4b

    .section .data.gate_entry.kernel_rsp,"aw",@progbits
    .p2align 3
    .globl "gate_entry::kernel_rsp"
"gate_entry::kernel_rsp":                 # the running task's kernel stack top (ring.py sets it)
    .quad 0
gate_user_rsp:
    .quad 0

    .section .text.gate_entry.set_msrs,"ax",@progbits
    .globl "gate_entry::set_msrs"
"gate_entry::set_msrs":                   # rdi: gate_entry::entry.  syscall on, and where it goes
    movq %rdi, %r8
    movl $0xC0000080, %ecx           # EFER: SCE (bit 0) turns syscall/sysret on
    rdmsr
    orl $1, %eax
    wrmsr
    movl $0xC0000081, %ecx           # STAR: kernel CS 0x08 (SS 0x10); sysret base 0x20:
    xorl %eax, %eax                  #   user SS 0x28|3, user CS 0x30|3 (idt.py's GDT)
    movl $0x00200008, %edx
    wrmsr
    movl $0xC0000082, %ecx           # LSTAR: the 64-bit entry
    movl %r8d, %eax
    movq %r8, %rdx
    shrq $32, %rdx
    wrmsr
    movl $0xC0000084, %ecx           # FMASK: IF, TF, DF and AC are cleared on entry
    movl $0x40700, %eax
    xorl %edx, %edx
    wrmsr
    xorl %eax, %eax
    ret

    .section .text.gate_entry.cpu_features,"ax",@progbits
    .globl "gate_entry::cpu_features"
"gate_entry::cpu_features":               # CPUID leaf 7, subleaf 0: EBX (bit 7 SMEP, bit 20 SMAP)
    pushq %rbx
    movl $7, %eax
    xorl %ecx, %ecx
    cpuid
    movl %ebx, %eax
    popq %rbx
    ret

    .section .text.gate_entry.set_cr4,"ax",@progbits
    .globl "gate_entry::set_cr4"
"gate_entry::set_cr4":                    # rdi: CR4 bits to turn on (SMEP 1<<20, SMAP 1<<21)
    movq %cr4, %rax
    orq %rdi, %rax
    movq %rax, %cr4
    xorl %eax, %eax
    ret

    .section .text.gate_entry.user_access_on,"ax",@progbits
    .globl "gate_entry::user_access_on"
"gate_entry::user_access_on":             # stac: the kernel may touch user pages (SMAP on only)
    stac
    xorl %eax, %eax
    ret

    .section .text.gate_entry.user_access_off,"ax",@progbits
    .globl "gate_entry::user_access_off"
"gate_entry::user_access_off":            # clac: SMAP protects again
    clac
    xorl %eax, %eax
    ret

    .section .text.gate_entry.rdtsc,"ax",@progbits
    .globl "gate_entry::rdtsc"
"gate_entry::rdtsc":                      # the cycle counter (bench/bench_isolation.py)
    rdtsc
    shlq $32, %rdx
    orq %rdx, %rax
    ret
