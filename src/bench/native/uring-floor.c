// The floor of `npm run bench`: a C FUSE server on the transport kvmfs
// uses, FUSE over io_uring (Linux 6.14+), with no libfuse: it opens
// /dev/fuse, mounts it with mount(2), answers INIT from /dev/fuse asking for
// rings (flags2 FUSE_OVER_IO_URING), and then serves each CPU's ring queue
// from a thread pinned to that CPU, which replies inline, as libfuse 3.19
// does (a queue depth of QUEUE_DEPTH entries in one io_uring per thread).
// /dev/fuse keeps what the kernel never sends through rings (FORGET,
// INTERRUPT). Raw io_uring syscalls: no liburing. The files are
// floor-files.c's; INIT asks for what kvmfs's does (protocol 7.31, 1 MiB
// requests), so the two differ only in how they serve.
// usage: uring-floor <mountpoint>    (root; runs until unmounted or SIGTERM,
// which unmounts; prints how many requests each path served to stderr)
#define _GNU_SOURCE
#include "floor-files.h"
#include <errno.h>
#include <fcntl.h>
#include <linux/io_uring.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

// From the kernel's <linux/fuse.h> since 6.14 (this machine's headers may be older).
#define FLAGS2_OVER_IO_URING (1u << 9)
#define FUSE_IO_URING_CMD_REGISTER 1
#define FUSE_IO_URING_CMD_COMMIT_AND_FETCH 2
struct fuse_uring_ent_in_out { uint64_t flags, commit_id; uint32_t payload_sz, padding; uint64_t reserved; };
struct fuse_uring_req_header { char in_out[128]; char op_in[128]; struct fuse_uring_ent_in_out ring_ent_in_out; };
struct fuse_uring_cmd_req { uint64_t flags, commit_id; uint16_t qid; uint8_t padding[6]; };
#define ENABLE_URING "/sys/module/fuse/parameters/enable_uring"
#define QUEUE_DEPTH 8
#define SQE_SIZE 128

struct entry {
    struct fuse_uring_req_header *header;
    void *payload;
    struct iovec iov[2];
};

struct queue {
    int qid, ring_fd;
    unsigned *sq_head, *sq_tail, *sq_mask, *cq_head, *cq_tail, *cq_mask;
    struct io_uring_cqe *cqes;
    char *sqes;
    struct entry entries[QUEUE_DEPTH];
    long served;
};

static int fuse_fd;
static const char *mount_point;
static int queue_count;
static struct queue *queues;
static long dev_served;
static volatile sig_atomic_t stopping;

static void die(const char *what) { fprintf(stderr, "uring-floor: %s: %s\n", what, strerror(errno)); exit(1); }

static void *map_or_die(size_t length, int flags, int fd, off_t offset) {
    void *pointer = mmap(NULL, length, PROT_READ | PROT_WRITE, flags, fd, offset);
    if (pointer == MAP_FAILED) die("mmap");
    return pointer;
}

// An io_uring of 128-byte SQEs, one submitter, task work run only in io_uring_enter: what FUSE rings need.
static void open_ring(struct queue *q) {
    struct io_uring_params params = { .flags = IORING_SETUP_SQE128 | IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN };
    q->ring_fd = syscall(SYS_io_uring_setup, QUEUE_DEPTH, &params);
    if (q->ring_fd < 0) die("io_uring_setup");
    if (!(params.features & IORING_FEAT_SINGLE_MMAP)) { errno = ENOTSUP; die("io_uring single mmap"); }
    size_t sq_size = params.sq_off.array + params.sq_entries * sizeof(unsigned);
    size_t cq_size = params.cq_off.cqes + params.cq_entries * sizeof(struct io_uring_cqe);
    char *ring = map_or_die(sq_size > cq_size ? sq_size : cq_size, MAP_SHARED | MAP_POPULATE, q->ring_fd, IORING_OFF_SQ_RING);
    q->sqes = map_or_die(params.sq_entries * SQE_SIZE, MAP_SHARED | MAP_POPULATE, q->ring_fd, IORING_OFF_SQES);
    q->sq_head = (unsigned *)(ring + params.sq_off.head);
    q->sq_tail = (unsigned *)(ring + params.sq_off.tail);
    q->sq_mask = (unsigned *)(ring + params.sq_off.ring_mask);
    unsigned *array = (unsigned *)(ring + params.sq_off.array);
    for (unsigned i = 0; i < params.sq_entries; i++) array[i] = i; // slot i holds SQE i, once and for all
    q->cq_head = (unsigned *)(ring + params.cq_off.head);
    q->cq_tail = (unsigned *)(ring + params.cq_off.tail);
    q->cq_mask = (unsigned *)(ring + params.cq_off.ring_mask);
    q->cqes = (struct io_uring_cqe *)(ring + params.cq_off.cqes);
}

static void queue_command(struct queue *q, int index, uint32_t command, uint64_t commit_id) {
    unsigned tail = *q->sq_tail;
    struct io_uring_sqe *sqe = (struct io_uring_sqe *)(q->sqes + (tail & *q->sq_mask) * SQE_SIZE);
    memset(sqe, 0, SQE_SIZE);
    sqe->opcode = IORING_OP_URING_CMD;
    sqe->fd = fuse_fd;
    sqe->cmd_op = command;
    sqe->addr = (uintptr_t)q->entries[index].iov; // read by REGISTER: the header and payload buffers
    sqe->len = 2;
    sqe->user_data = index;
    struct fuse_uring_cmd_req *request = (struct fuse_uring_cmd_req *)sqe->cmd;
    request->commit_id = commit_id;
    request->qid = q->qid;
    __atomic_store_n(q->sq_tail, tail + 1, __ATOMIC_RELEASE);
}

// Serves the request in entry `index` and queues its reply's commit, which also fetches the next request.
static void serve_entry(struct queue *q, int index) {
    struct entry *e = &q->entries[index];
    struct fuse_in_header *in = (struct fuse_in_header *)e->header->in_out;
    uint64_t unique = in->unique;
    int result = floor_serve(in, e->header->op_in, e->payload, e->header->ring_ent_in_out.payload_sz, e->payload, FLOOR_MAX_WRITE);
    if (result == FLOOR_NO_REPLY) result = -ENOSYS; // never through a ring; an answer keeps the entry going
    floor_out_header((struct fuse_out_header *)e->header->in_out, unique, result);
    e->header->ring_ent_in_out.payload_sz = result > 0 ? result : 0;
    q->served++;
    queue_command(q, index, FUSE_IO_URING_CMD_COMMIT_AND_FETCH, unique);
}

static void *serve_queue(void *arg) {
    struct queue *q = arg;
    cpu_set_t cpu;
    CPU_ZERO(&cpu);
    CPU_SET(q->qid, &cpu);
    sched_setaffinity(0, sizeof cpu, &cpu); // fails only for an offline CPU, whose queue gets no requests
    open_ring(q);
    for (int i = 0; i < QUEUE_DEPTH; i++) {
        struct entry *e = &q->entries[i];
        e->header = map_or_die(4096, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        e->payload = map_or_die(FLOOR_MAX_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        e->iov[0] = (struct iovec){ e->header, sizeof *e->header };
        e->iov[1] = (struct iovec){ e->payload, FLOOR_MAX_WRITE };
        queue_command(q, i, FUSE_IO_URING_CMD_REGISTER, 0);
    }
    for (int ended = 0; ended < QUEUE_DEPTH;) {
        unsigned unsubmitted = *q->sq_tail - __atomic_load_n(q->sq_head, __ATOMIC_ACQUIRE);
        if (syscall(SYS_io_uring_enter, q->ring_fd, unsubmitted, 1, IORING_ENTER_GETEVENTS, NULL, 0) < 0 && errno != EINTR && errno != EAGAIN && errno != EBUSY) die("io_uring_enter");
        unsigned head = *q->cq_head;
        while (head != __atomic_load_n(q->cq_tail, __ATOMIC_ACQUIRE)) {
            struct io_uring_cqe *cqe = &q->cqes[head & *q->cq_mask];
            int index = cqe->user_data, result = cqe->res;
            __atomic_store_n(q->cq_head, ++head, __ATOMIC_RELEASE);
            if (result == 0) {
                serve_entry(q, index);
            } else if (result == -EAGAIN) { // the kernel has not finished INIT yet: offer the entry again
                usleep(1000);
                queue_command(q, index, FUSE_IO_URING_CMD_REGISTER, 0);
            } else if (result == -ENOTCONN || result == -ECONNABORTED || result == -ECANCELED) {
                ended++; // unmounted
            } else {
                errno = -result;
                die("FUSE ring command");
            }
        }
    }
    return NULL;
}

// After the INIT reply: a queue per possible CPU (the kernel keeps one for each), each on a thread of its own.
static void start_queues(void) {
    FILE *possible = fopen("/sys/devices/system/cpu/possible", "r");
    if (!possible) die("/sys/devices/system/cpu/possible");
    char list[256] = "";
    if (!fgets(list, sizeof list, possible)) die("read /sys/devices/system/cpu/possible");
    fclose(possible);
    char *last = strrchr(list, '-'), *comma = strrchr(list, ',');
    queue_count = atoi(last && (!comma || last > comma) ? last + 1 : comma ? comma + 1 : list) + 1;
    queues = calloc(queue_count, sizeof *queues);
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old); // SIGTERM is the main thread's
    for (int qid = 0; qid < queue_count; qid++) {
        queues[qid].qid = qid;
        pthread_t thread;
        if ((errno = pthread_create(&thread, NULL, serve_queue, &queues[qid]))) die("pthread_create");
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
}

static void init(const struct fuse_init_in *in, struct fuse_init_out *out) {
    memset(out, 0, sizeof *out);
    out->major = 7;
    out->minor = 31;
    out->flags = (in->flags & (FUSE_ASYNC_READ | FUSE_BIG_WRITES | FUSE_MAX_PAGES)) | FUSE_INIT_EXT;
    out->flags2 = FLAGS2_OVER_IO_URING;
    out->max_background = 16;
    out->congestion_threshold = 12;
    out->max_write = FLOOR_MAX_WRITE;
    out->time_gran = 1;
    out->max_pages = FLOOR_MAX_PAGES;
}

static void finish(void) {
    long ring_served = 0;
    for (int qid = 0; qid < queue_count; qid++) ring_served += queues[qid].served;
    fprintf(stderr, "uring-floor: %ld requests served through rings, %ld through /dev/fuse\n", ring_served, dev_served);
    exit(0);
}

// Unmounting here, not only in the main loop, ends a read of /dev/fuse that
// began just after the loop looked at `stopping` (the kernel ends the
// session: ENODEV).
static void stop(int signal) {
    (void)signal;
    stopping = 1;
    umount2(mount_point, MNT_DETACH);
}

// /dev/fuse: INIT, then whatever does not come through rings.
static void serve_dev_fuse(void) {
    static char request[FLOOR_MAX_WRITE + 4096] __attribute__((aligned(64)));
    static char reply[sizeof(struct fuse_out_header) + FLOOR_MAX_WRITE] __attribute__((aligned(64)));
    const size_t header = sizeof(struct fuse_in_header);
    while (!stopping) {
        ssize_t length = read(fuse_fd, request, sizeof request);
        if (length < 0 && errno == ENODEV) break; // unmounted
        if (length < (ssize_t)header) continue;   // EINTR (then maybe stopping), ENOENT (an interrupted request)
        struct fuse_in_header *in = (struct fuse_in_header *)request;
        char *body = request + header;
        int result;
        if (in->opcode == FUSE_INIT) {
            const struct fuse_init_in *init_in = (const struct fuse_init_in *)body;
            if (!(init_in->flags & FUSE_INIT_EXT) || !(init_in->flags2 & FLAGS2_OVER_IO_URING)) { errno = ENOTSUP; die("the kernel offers no FUSE over io_uring"); }
            init(init_in, (struct fuse_init_out *)(reply + sizeof(struct fuse_out_header)));
            result = sizeof(struct fuse_init_out);
        } else {
            uint32_t op_size = floor_op_header_size(in->opcode);
            result = floor_serve(in, body, body + op_size, length - header - op_size, reply + sizeof(struct fuse_out_header), FLOOR_MAX_WRITE);
            if (result == FLOOR_NO_REPLY) continue;
        }
        dev_served++;
        floor_out_header((struct fuse_out_header *)reply, in->unique, result);
        if (write(fuse_fd, reply, ((struct fuse_out_header *)reply)->len) < 0 && errno != ENOENT) die("write /dev/fuse");
        if (in->opcode == FUSE_INIT) start_queues(); // ring commands fail until the kernel has the INIT reply
    }
    finish();
}

static void enable_uring(void) {
    int fd = open(ENABLE_URING, O_RDWR);
    if (fd < 0) die(ENABLE_URING " (no FUSE over io_uring in this kernel)");
    char value = 0;
    if (read(fd, &value, 1) != 1) die("read " ENABLE_URING);
    if (value != 'Y' && pwrite(fd, "Y", 1, 0) != 1) die("turn on " ENABLE_URING);
    close(fd);
}

int main(int argc, char **argv) {
    if (argc != 2) { fprintf(stderr, "usage: uring-floor <mountpoint>\n"); return 2; }
    mount_point = argv[1];
    enable_uring();
    if (floor_files_setup() < 0) fprintf(stderr, "uring-floor: KVM: %s: reads of run fail (ENODEV)\n", strerror(errno));
    fuse_fd = open("/dev/fuse", O_RDWR | O_CLOEXEC);
    if (fuse_fd < 0) die("/dev/fuse");
    char options[256];
    snprintf(options, sizeof options, "fd=%d,rootmode=40000,user_id=%u,group_id=%u,default_permissions", fuse_fd, getuid(), getgid());
    if (mount("uring-floor", mount_point, "fuse.uring-floor", MS_NOSUID | MS_NODEV, options) < 0) die("mount");
    struct sigaction action = { .sa_handler = stop }; // no SA_RESTART: the read of /dev/fuse returns EINTR
    sigaction(SIGTERM, &action, NULL);
    sigaction(SIGINT, &action, NULL);
    serve_dev_fuse();
}
