// See floor-files.h. The tree, with fixed inode numbers:
//   /run             each read at offset 0 is one KVM_RUN of the exit guest
//                    (exit-guest.c), answered with a line, as kvmfs's `run`
//   /null            1 byte, the least a read can return (kvmfs: api_version)
//   /mem             a 256 MiB buffer, read and written at any offset
//   /vm0/vcpu0/text  450 bytes of `name 0x...` lines, the size of kvmfs's
//                    `regs`, at the same depth (as many lookups by path)
// Like kvmfs, every reply says "valid for 0 s" (entries and attributes), so
// the kernel asks again each time, and every file is direct_io.
#include "floor-files.h"
#include "exit-guest.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>

#define MEM_SIZE (256UL << 20)
#define TEXT_SIZE 450

enum { ROOT = 1, RUN, NUL, MEM, VM0, VCPU0, TEXT, NODES };

struct node { uint64_t parent; const char *name; uint32_t mode; uint64_t size; };
static const struct node nodes[NODES] = {
    [ROOT] = { 0, "", S_IFDIR | 0755, 0 },
    [RUN] = { ROOT, "run", S_IFREG | 0644, 0 },
    [NUL] = { ROOT, "null", S_IFREG | 0444, 1 },
    [MEM] = { ROOT, "mem", S_IFREG | 0644, MEM_SIZE },
    [VM0] = { ROOT, "vm0", S_IFDIR | 0755, 0 },
    [VCPU0] = { VM0, "vcpu0", S_IFDIR | 0755, 0 },
    [TEXT] = { VCPU0, "text", S_IFREG | 0644, TEXT_SIZE },
};

static char *mem;
static char text[TEXT_SIZE + 1];
static struct timespec started;

int floor_files_setup(void) {
    mem = mmap(NULL, MEM_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (mem == MAP_FAILED) { perror("floor: 256 MiB buffer"); exit(1); }
    // 19 lines of 23 bytes ("rNN 0x" and 16 hex digits), cut at 450 bytes
    for (int line = 0, at = 0; at < TEXT_SIZE; line++) at += snprintf(text + at, sizeof text - at, "r%02d 0x%016x\n", line, line);
    text[TEXT_SIZE - 1] = '\n';
    clock_gettime(CLOCK_REALTIME, &started);
    return exit_guest_setup();
}

static void attr_of(uint64_t ino, struct fuse_attr *attr) {
    const struct node *node = &nodes[ino];
    memset(attr, 0, sizeof *attr);
    attr->ino = ino;
    attr->size = node->size;
    attr->blocks = (node->size + 511) / 512;
    attr->atime = attr->mtime = attr->ctime = started.tv_sec;
    attr->mode = node->mode;
    attr->nlink = S_ISDIR(node->mode) ? 2 : 1;
    attr->blksize = 4096;
}

static int copy_out(const char *from, uint64_t size, uint64_t offset, uint32_t count, void *out, uint32_t room) {
    if (offset >= size) return 0;
    uint64_t length = size - offset < count ? size - offset : count;
    if (length > room) length = room;
    memcpy(out, from + offset, length);
    return (int)length;
}

static int read_node(uint64_t ino, const struct fuse_read_in *read, void *out, uint32_t room) {
    switch (ino) {
    case RUN: return read->offset == 0 ? exit_guest_run(out, read->size < room ? read->size : room) : 0;
    case NUL: return copy_out("0", 1, read->offset, read->size, out, room);
    case MEM: return copy_out(mem, MEM_SIZE, read->offset, read->size, out, room);
    case TEXT: return copy_out(text, TEXT_SIZE, read->offset, read->size, out, room);
    default: return -EISDIR;
    }
}

static int write_node(uint64_t ino, const struct fuse_write_in *write, const void *data, uint32_t length, void *out) {
    if (ino != MEM) return -EINVAL;
    if (write->size > length) return -EINVAL;
    if (write->offset + write->size > MEM_SIZE) return -ENOSPC;
    memcpy(mem + write->offset, data, write->size);
    struct fuse_write_out reply = { .size = write->size };
    memcpy(out, &reply, sizeof reply);
    return sizeof reply;
}

static int lookup(uint64_t parent, const char *name, struct fuse_entry_out *entry) {
    for (uint64_t ino = ROOT + 1; ino < NODES; ino++) {
        if (nodes[ino].parent != parent || strcmp(nodes[ino].name, name) != 0) continue;
        memset(entry, 0, sizeof *entry);
        entry->nodeid = ino;
        attr_of(ino, &entry->attr);
        return sizeof *entry;
    }
    return -ENOENT;
}

uint32_t floor_op_header_size(uint32_t opcode) {
    return opcode == FUSE_WRITE ? sizeof(struct fuse_write_in) : 0;
}

void floor_out_header(struct fuse_out_header *out, uint64_t unique, int result) {
    out->len = sizeof *out + (result > 0 ? result : 0);
    out->error = result < 0 ? result : 0;
    out->unique = unique;
}

int floor_serve(const struct fuse_in_header *in, const void *op, const void *data, uint32_t data_length, void *out, uint32_t room) {
    uint64_t ino = in->nodeid;
    if (in->opcode != FUSE_FORGET && in->opcode != FUSE_BATCH_FORGET && in->opcode != FUSE_INTERRUPT && (ino < ROOT || ino >= NODES)) return -ENOENT;
    switch (in->opcode) {
    case FUSE_FORGET: case FUSE_BATCH_FORGET: case FUSE_INTERRUPT:
        return FLOOR_NO_REPLY; // the nodes are fixed; a read is never interrupted long
    case FUSE_LOOKUP:
        return data_length > 0 && ((const char *)data)[data_length - 1] == 0 ? lookup(ino, data, out) : -EINVAL;
    case FUSE_GETATTR: case FUSE_SETATTR: { // a truncate of mem changes nothing: its size is fixed
        struct fuse_attr_out *attr = out;
        memset(attr, 0, sizeof *attr);
        attr_of(ino, &attr->attr);
        return sizeof *attr;
    }
    case FUSE_OPEN: case FUSE_OPENDIR: {
        struct fuse_open_out *open = out;
        memset(open, 0, sizeof *open);
        open->open_flags = in->opcode == FUSE_OPEN ? FOPEN_DIRECT_IO : 0;
        return sizeof *open;
    }
    case FUSE_READ: return read_node(ino, op, out, room);
    case FUSE_WRITE: return write_node(ino, op, data, data_length, out);
    case FUSE_READDIR: return 0; // lists nothing: no row of the bench lists a directory
    case FUSE_RELEASE: case FUSE_RELEASEDIR: case FUSE_FLUSH: case FUSE_DESTROY:
        return 0;
    case FUSE_STATFS: {
        struct fuse_statfs_out *statfs = out;
        memset(statfs, 0, sizeof *statfs);
        statfs->st.bsize = statfs->st.frsize = 4096;
        statfs->st.namelen = 255;
        return sizeof *statfs;
    }
    default:
        return -ENOSYS; // ACCESS, xattrs: as kvmfs, which answers them so too
    }
}
