/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Parasite entry points (x86_64).  The controller starts a thread at one
 * of them with %rdi = the boot block and %rsp = the top of the parasite
 * stack (16-byte aligned). */
	.text
	.globl __compel_entry
	.type __compel_entry, @function
__compel_entry:
	call compel_runtime_main
	ud2

	.globl __compel_thread_entry
	.type __compel_thread_entry, @function
__compel_thread_entry:
	call compel_runtime_thread
	ud2

/* void compel_arch_sigreturn(uint64_t sp): rt_sigreturn with the frame
 * the controller built (the kernel reads it at sp - 8). */
	.globl compel_arch_sigreturn
	.type compel_arch_sigreturn, @function
compel_arch_sigreturn:
	mov %rdi, %rsp
	mov $15, %eax
	syscall
	ud2
/* void compel_arch_exit_chain(ip, sp, addr, len): munmap(addr, len) at
 * the task's "syscall; ret" (ip) with the chain at sp, which goes on to
 * rt_sigreturn.  Nothing of ours runs after the munmap. */
	.globl compel_arch_exit_chain
	.type compel_arch_exit_chain, @function
compel_arch_exit_chain:
	mov %rsi, %rsp
	mov %rdi, %r8
	mov %rdx, %rdi
	mov %rcx, %rsi
	mov $11, %eax
	jmp *%r8
	.section .note.GNU-stack,"",@progbits
