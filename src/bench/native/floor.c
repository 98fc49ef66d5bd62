// The native floor for `npm run bench`: a minimal C libfuse 2 server, built
// against the libfuse fuse-native bundles, serving what kvmfs serves with
// nothing in between:
//   /run   each read at offset 0 does one KVM_RUN of a guest that exits on
//          every iteration (`out %al,$0xe9; jmp .-2`) and returns a line
//   /null  a read returns a fixed 450-byte text, the size of `regs`
//   /mem   a 256 MiB buffer, read and written at any offset
// usage: floor <mountpoint>   (runs in the foreground, multithreaded)
#define FUSE_USE_VERSION 26
#include <fuse.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#define MEM_SIZE (256UL << 20)
static char *mem;
static char null_text[451];
static int vcpu_fd;
static struct kvm_run *run;

static void die(const char *what) { perror(what); exit(1); }

static void setup_kvm(void) {
    int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (kvm < 0) die("/dev/kvm");
    int vm = ioctl(kvm, KVM_CREATE_VM, 0);
    if (vm < 0) die("KVM_CREATE_VM");
    ioctl(vm, KVM_SET_TSS_ADDR, 0xfffbd000);
    size_t ram_size = 1 << 20;
    unsigned char *ram = mmap(NULL, ram_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    static const unsigned char loop[] = { 0xe6, 0xe9, 0xeb, 0xfc }; // out %al,$0xe9; jmp .-2
    memcpy(ram + 0x1000, loop, sizeof loop);
    struct kvm_userspace_memory_region region = { .slot = 0, .memory_size = ram_size, .userspace_addr = (unsigned long)ram };
    if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region) < 0) die("KVM_SET_USER_MEMORY_REGION");
    vcpu_fd = ioctl(vm, KVM_CREATE_VCPU, 0);
    if (vcpu_fd < 0) die("KVM_CREATE_VCPU");
    int size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
    run = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu_fd, 0);
    struct kvm_sregs sregs;
    ioctl(vcpu_fd, KVM_GET_SREGS, &sregs);
    sregs.cs.base = 0; sregs.cs.selector = 0;
    ioctl(vcpu_fd, KVM_SET_SREGS, &sregs);
    struct kvm_regs regs = { .rip = 0x1000, .rflags = 2 };
    ioctl(vcpu_fd, KVM_SET_REGS, &regs);
}

static int fs_getattr(const char *path, struct stat *st) {
    memset(st, 0, sizeof *st);
    if (strcmp(path, "/") == 0) { st->st_mode = S_IFDIR | 0755; st->st_nlink = 2; return 0; }
    st->st_mode = S_IFREG | 0644; st->st_nlink = 1;
    if (strcmp(path, "/mem") == 0) { st->st_size = MEM_SIZE; return 0; }
    if (strcmp(path, "/run") == 0 || strcmp(path, "/null") == 0) return 0;
    return -ENOENT;
}

static int fs_open(const char *path, struct fuse_file_info *fi) { (void)path; fi->direct_io = 1; return 0; }

static int fs_read(const char *path, char *buf, size_t size, off_t off, struct fuse_file_info *fi) {
    (void)fi;
    if (strcmp(path, "/mem") == 0) {
        if ((size_t)off >= MEM_SIZE) return 0;
        if (off + size > MEM_SIZE) size = MEM_SIZE - off;
        memcpy(buf, mem + off, size);
        return size;
    }
    if (off != 0) return 0;
    if (strcmp(path, "/null") == 0) { memcpy(buf, null_text, 450 < size ? 450 : size); return 450 < size ? 450 : size; }
    if (ioctl(vcpu_fd, KVM_RUN, 0) < 0) return -errno;
    unsigned char *data = (unsigned char *)run + run->io.data_offset;
    return snprintf(buf, size, "io out port=0x%04x size=%d count=%d data=0x%02x\n", run->io.port, run->io.size, run->io.count, data[0]);
}

static int fs_write(const char *path, const char *buf, size_t size, off_t off, struct fuse_file_info *fi) {
    (void)fi;
    if (strcmp(path, "/mem") != 0) return -EINVAL;
    if (off + size > MEM_SIZE) return -ENOSPC;
    memcpy(mem + off, buf, size);
    return size;
}

static int fs_truncate(const char *path, off_t size) { (void)path; (void)size; return 0; }

int main(int argc, char **argv) {
    if (argc != 2) { fprintf(stderr, "usage: floor <mountpoint>\n"); return 2; }
    mem = mmap(NULL, MEM_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    memset(null_text, 'x', 450);
    setup_kvm();
    static struct fuse_operations ops = {
        .getattr = fs_getattr, .open = fs_open, .read = fs_read, .write = fs_write, .truncate = fs_truncate,
    };
    char *fuse_argv[] = { argv[0], argv[1], "-f", "-o", "direct_io,big_writes,attr_timeout=0,entry_timeout=0,default_permissions", NULL };
    return fuse_main(5, fuse_argv, &ops, NULL);
}
