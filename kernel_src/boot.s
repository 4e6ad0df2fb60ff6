# boot.s: the only code that runs before the cell language can.
#
# GRUB-style Multiboot loaders (here QEMU's -kernel) enter in 32-bit protected
# mode with paging off, EAX = 0x2BADB002 and EBX = the Multiboot information.
# This stub builds identity page tables for the first 4 GiB with 2 MiB pages,
# all writable and executable (kernel_src/paging.py replaces them with its
# own, with permissions), turns on long mode and SSE, and calls nano_core::main.  The Multiboot
# header itself is written by the host linker (theseus_nb.image), which
# knows the load addresses.  It also provides memcpy/memset/memmove/memcmp,
# which LLVM may call for large copies, to the whole kernel.

    .section .text.boot._start,"ax",@progbits
    .code32
    .globl _start
_start:
    cli
    movl %eax, %ebp                  # Multiboot magic, kept for main
    movl %ebx, %esi                  # Multiboot information address
    rdtsc                            # the TSC at entry (kernel_src/boot_steps.py)
    movl %eax, boot_tsc
    movl %edx, boot_tsc+4
    movl $boot_stack_top, %esp

    # Zero .bss (the linker defines its bounds): the kernel's tables, some
    # 3.5 MiB.  Four bytes a step, then the last few: a hypervisor that
    # emulates this code (paging is off) pays for every step.
    cld
    movl $__bss_start, %edi
    movl $__bss_end, %ecx
    subl %edi, %ecx
    movl %ecx, %edx
    shrl $2, %ecx
    xorl %eax, %eax
    rep stosl
    movl %edx, %ecx
    andl $3, %ecx
    rep stosb
    movl %ebp, %edi                  # main's first argument: the magic
    # PML4[0] -> PDPT; PDPT[0..3] -> four page directories of 2 MiB pages.
    movl $boot_pdpt, %eax
    orl $3, %eax                     # present | writable
    movl %eax, boot_pml4
    movl $boot_pd, %eax
    orl $3, %eax
    xorl %ecx, %ecx
3:  movl %eax, boot_pdpt(,%ecx,8)
    addl $4096, %eax
    incl %ecx
    cmpl $4, %ecx
    jne 3b
    xorl %ecx, %ecx                  # entry index 0..2047 covers 4 GiB
4:  movl %ecx, %eax
    shll $21, %eax                   # physical address of the 2 MiB page
    orl $0x83, %eax                  # present | writable | huge
    movl %eax, boot_pd(,%ecx,8)
    movl %ecx, %eax
    shrl $11, %eax                   # bits 32..: pages above 4 GiB never occur
    movl %eax, boot_pd+4(,%ecx,8)
    incl %ecx
    cmpl $2048, %ecx
    jne 4b

    # PAE, and SSE: OSFXSR (fxsave/fxrstor keep the xmm registers, SSE
    # instructions run) and OSXMMEXCPT (an unmasked SSE exception is #XM,
    # vector 19, which fault.py names, not #UD).  The kernel itself is built
    # without SSE; only cells compiled with it (build.SSE_FEATURES) use it,
    # and kernel_src/fpu.py switches each task's registers.
    movl %cr4, %eax
    orl $0x620, %eax                 # PAE | OSFXSR | OSXMMEXCPT
    movl %eax, %cr4
    movl $boot_pml4, %eax
    movl %eax, %cr3
    movl $0xC0000080, %ecx           # EFER
    rdmsr
    orl $0x100, %eax                 # long mode enable
    wrmsr
    movl %cr0, %eax
    andl $~0xC, %eax                 # EM off (x87/SSE run, not trap), TS off (no lazy switching)
    orl $0x80000003, %eax            # paging | MP (fwait obeys TS) | protected mode
    movl %eax, %cr0
    lgdt boot_gdt_ptr
    ljmp $0x08, $boot_long_mode

    .code64
boot_long_mode:
    movw $0x10, %ax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %ss
    movw %ax, %fs
    movw %ax, %gs
    movq $boot_stack_top, %rsp
    movl %edi, %edi                  # upper halves are undefined after the switch
    movl %esi, %esi
    rdtsc                            # the TSC in long mode: bss zeroed, page tables built
    shlq $32, %rdx
    orq %rdx, %rax
    movq %rax, boot_tsc+8
    xorl %ebp, %ebp
    movq $__kernel_end, %rdx         # main(magic, info, kernel_end)
    call "nano_core::main"
5:  cli
    hlt
    jmp 5b

    .section .text.boot.memcpy,"ax",@progbits
    .globl memcpy
memcpy:
    movq %rdi, %rax
    movq %rdx, %rcx
    rep movsb
    ret

    .section .text.boot.memset,"ax",@progbits
    .globl memset
memset:
    movq %rdi, %r8
    movl %esi, %eax
    movq %rdx, %rcx
    rep stosb
    movq %r8, %rax
    ret

    .section .text.boot.memmove,"ax",@progbits
    .globl memmove
memmove:
    movq %rdi, %rax
    movq %rdx, %rcx
    cmpq %rsi, %rdi
    jbe 6f
    leaq -1(%rsi,%rcx), %rsi         # overlapping forward copy: go backwards
    leaq -1(%rdi,%rcx), %rdi
    std
    rep movsb
    cld
    ret
6:  rep movsb
    ret

    .section .text.boot.memcmp,"ax",@progbits
    .globl memcmp
memcmp:
    xorl %eax, %eax
7:  testq %rdx, %rdx
    jz 8f
    movzbl (%rdi), %eax
    movzbl (%rsi), %ecx
    subl %ecx, %eax
    jnz 8f
    incq %rdi
    incq %rsi
    decq %rdx
    jmp 7b
8:  ret

    .section .rodata.boot.gdt,"a",@progbits
    .p2align 3
boot_gdt:
    .quad 0
    .quad 0x00AF9A000000FFFF         # 64-bit code, ring 0
    .quad 0x00CF92000000FFFF         # data, ring 0
boot_gdt_ptr:
    .word boot_gdt_ptr - boot_gdt - 1
    .long boot_gdt

    .section .data.boot.tsc,"aw",@progbits
    .p2align 3
    .globl boot_tsc
boot_tsc:                            # the TSC at _start, then in long mode (in .data: not zeroed)
    .quad 0, 0

    .section .bss.boot.page_tables,"aw",@nobits
    .p2align 12
boot_pml4:
    .skip 4096
boot_pdpt:
    .skip 4096
boot_pd:
    .skip 4 * 4096

# What kernel_src/paging.py must know of the image to map it: where each
# kind of section starts (the host linker defines these symbols, page-aligned),
# and the page under the boot stack, which it leaves unmapped.
    .section .rodata.boot.layout,"a",@progbits
    .p2align 3
    .globl boot_layout
boot_layout:
    .quad __text_start               # text (with the Multiboot header): read-execute
    .quad __rodata_start             # read-only data
    .quad __data_start               # data and bss: read-write
    .quad __kernel_end
    .quad boot_stack_guard

    .section .bss.boot.stack,"aw",@nobits
    .p2align 12
    .globl boot_stack_guard
boot_stack_guard:                    # unmapped once paging.init runs: an overflow faults
    .skip 4096
    .globl boot_stack_bottom
boot_stack_bottom:
    .skip 65536
    .globl boot_stack_top
boot_stack_top:
