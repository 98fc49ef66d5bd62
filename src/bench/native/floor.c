// The libfuse 2 floor for `npm run bench` (an informative row since the
// FUSE over io_uring floor, uring-floor.c): a minimal C libfuse 2 server,
// built against the libfuse fuse-native bundles, reading /dev/fuse and
// serving what kvmfs serves with nothing in between:
//   /run   each read at offset 0 does one KVM_RUN of a guest that exits on
//          every iteration (`out %al,$0xe9; jmp .-2`) and returns a line
//   /null  a read returns a fixed 450-byte text, the size of `regs`
//   /mem   a 256 MiB buffer, read and written at any offset
// usage: floor <mountpoint>   (runs in the foreground, multithreaded)
#define FUSE_USE_VERSION 26
#include <fuse.h>
#include "exit-guest.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define MEM_SIZE (256UL << 20)
static char *mem;
static char null_text[451];

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
    return exit_guest_run(buf, size);
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
    if (exit_guest_setup() < 0) { perror("floor: KVM"); return 1; }
    static struct fuse_operations ops = {
        .getattr = fs_getattr, .open = fs_open, .read = fs_read, .write = fs_write, .truncate = fs_truncate,
    };
    char *fuse_argv[] = { argv[0], argv[1], "-f", "-o", "direct_io,big_writes,attr_timeout=0,entry_timeout=0,default_permissions", NULL };
    return fuse_main(5, fuse_argv, &ops, NULL);
}
