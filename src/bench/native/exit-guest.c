// See exit-guest.h.
#include "exit-guest.h"
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

static int vcpu_fd = -1;
static struct kvm_run *run;

int exit_guest_setup(void) {
    int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (kvm < 0) return -1;
    int vm = ioctl(kvm, KVM_CREATE_VM, 0);
    if (vm < 0) return -1;
    ioctl(vm, KVM_SET_TSS_ADDR, 0xfffbd000);
    size_t ram_size = 1 << 20;
    unsigned char *ram = mmap(NULL, ram_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (ram == MAP_FAILED) return -1;
    static const unsigned char loop[] = { 0xe6, 0xe9, 0xeb, 0xfc }; // out %al,$0xe9; jmp .-2
    memcpy(ram + 0x1000, loop, sizeof loop);
    struct kvm_userspace_memory_region region = { .slot = 0, .memory_size = ram_size, .userspace_addr = (unsigned long)ram };
    if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region) < 0) return -1;
    int vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
    if (vcpu < 0) return -1;
    int size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
    if (size < 0) return -1;
    run = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
    if (run == MAP_FAILED) return -1;
    struct kvm_sregs sregs;
    if (ioctl(vcpu, KVM_GET_SREGS, &sregs) < 0) return -1;
    sregs.cs.base = 0; sregs.cs.selector = 0;
    if (ioctl(vcpu, KVM_SET_SREGS, &sregs) < 0) return -1;
    struct kvm_regs regs = { .rip = 0x1000, .rflags = 2 };
    if (ioctl(vcpu, KVM_SET_REGS, &regs) < 0) return -1;
    vcpu_fd = vcpu;
    return 0;
}

int exit_guest_run(char *buf, size_t size) {
    if (vcpu_fd < 0) return -ENODEV;
    if (ioctl(vcpu_fd, KVM_RUN, 0) < 0) return -errno;
    if (run->exit_reason != KVM_EXIT_IO) return -EIO;
    unsigned char *data = (unsigned char *)run + run->io.data_offset;
    int length = snprintf(buf, size, "io out port=0x%04x size=%d count=%d data=0x%02x\n", run->io.port, run->io.size, run->io.count, data[0]);
    return length < (int)size ? length : (int)size - 1;
}
