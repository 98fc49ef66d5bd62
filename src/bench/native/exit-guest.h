// The guest both native floors run: one vcpu in real mode at 0x1000 looping
// on `out %al,$0xe9; jmp .-2`, so each KVM_RUN is one exit, the guest
// kvmfs runs in the bench's exit loop.
#ifndef EXIT_GUEST_H
#define EXIT_GUEST_H
#include <stddef.h>

// Creates the VM and its vcpu; 0, or -1 with errno set (no /dev/kvm, say).
int exit_guest_setup(void);
// One KVM_RUN, then the exit as a line in `buf`: its length, or -errno.
int exit_guest_run(char *buf, size_t size);

#endif
