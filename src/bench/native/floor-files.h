// What the FUSE over io_uring floor (uring-floor.c) serves, apart from how
// requests reach it: one function from a request to its reply, the same for
// a request read from /dev/fuse and one taken from a ring entry.
#ifndef FLOOR_FILES_H
#define FLOOR_FILES_H
#include <linux/fuse.h>
#include <stdint.h>

// Sets up the files; 0, or -1 with errno if the exit guest cannot be had
// (no /dev/kvm): then reads of run fail with ENODEV.
int floor_files_setup(void);

// Serves one request: `op` is its op header (fuse_read_in, ...), `data` what
// follows it (a LOOKUP's name, a WRITE's bytes). Writes the reply's payload
// to `out` (room for `room` bytes) and returns its length, or -errno; -1 - 
// FLOOR_NO_REPLY for a request that gets no reply (FORGET).
#define FLOOR_NO_REPLY 100000
int floor_serve(const struct fuse_in_header *in, const void *op, const void *data, uint32_t data_length, void *out, uint32_t room);

// How many bytes of a /dev/fuse request's body are the op header, before its data.
uint32_t floor_op_header_size(uint32_t opcode);

// A whole reply, fuse_out_header first, as both transports send it.
void floor_out_header(struct fuse_out_header *out, uint64_t unique, int result);

#define FLOOR_MAX_PAGES 256
#define FLOOR_MAX_WRITE (FLOOR_MAX_PAGES * 4096)

#endif
