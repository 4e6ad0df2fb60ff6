# mmu.s: the privileged instructions kernel_src/paging.py needs, each a
# (u64) -> u64 function that cells reach with call_addr (the cell language
# has no inline assembly).

    .section .text.mmu.load_cr3,"ax",@progbits
    .globl "mmu::load_cr3"
"mmu::load_cr3":                        # rdi: the new PML4; flushes the whole TLB
    movq %rdi, %cr3
    xorl %eax, %eax
    ret

    .section .text.mmu.invlpg,"ax",@progbits
    .globl "mmu::invlpg"
"mmu::invlpg":                          # rdi: an address whose page's mapping changed
    invlpg (%rdi)
    xorl %eax, %eax
    ret

    .section .text.mmu.enable_nx_wp,"ax",@progbits
    .globl "mmu::enable_nx_wp"
"mmu::enable_nx_wp":                    # before any page table uses the NX bit
    movl $0xC0000080, %ecx           # IA32_EFER
    rdmsr
    orl $0x800, %eax                 # NXE (bit 11): bit 63 of an entry means no-execute
    wrmsr
    movq %cr0, %rax
    orq $0x10000, %rax               # WP (bit 16): ring 0 obeys read-only pages too
    movq %rax, %cr0
    xorl %eax, %eax
    ret
