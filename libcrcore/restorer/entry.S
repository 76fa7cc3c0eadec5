/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * entry.S - the fixed front of the restorer blob.
 *
 *   offset 0:               entry; %rdi = the plan, %rsp = a restorer stack
 *   offset RST_GADGET_OFF:  "syscall; ud2", used by cr-assemble (as tracer)
 *                           to run munmap of the restorer area inside the
 *                           restored process: the thread stops at the
 *                           syscall exit and never fetches the ud2.
 */
	.section .text.entry, "ax"
	.globl rst_blob_start
	.hidden rst_blob_start
rst_blob_start:
	jmp	rst_start
	.org	rst_blob_start + 8
rst_gadget:
	syscall
	ud2

rst_start:
	andq	$-16, %rsp
	xorl	%ebp, %ebp
	call	rst_main
	ud2

/*
 * long rst_clone_thread(struct clone_args *args, size_t size,
 *                       void (*fn)(void *), void *arg)
 * clone3 for a thread: the child starts on its own stack and calls
 * fn(arg), which never returns.  The syscall keeps every register but
 * rax, rcx and r11, so fn and arg travel in r8 and r9.
 */
	.text
	.globl rst_clone_thread
	.hidden rst_clone_thread
rst_clone_thread:
	movq	%rdx, %r8
	movq	%rcx, %r9
	movl	$435, %eax	/* __NR_clone3 */
	syscall
	testq	%rax, %rax
	jnz	1f
	xorl	%ebp, %ebp
	andq	$-16, %rsp
	movq	%r9, %rdi
	call	*%r8
	movl	$231, %eax	/* __NR_exit_group: fn never returns */
	movl	$127, %edi
	syscall
	ud2
1:	ret

	.section .note.GNU-stack, "", @progbits
