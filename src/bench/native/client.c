// The client side of `npm run bench`, a separate process so the daemon
// under test never touches its own mount. Prints one number: mean ns per
// operation (or MiB/s for seq modes).
//   client pread  FILE N          N x pread(fd, 4096, offset 0) on one open fd
//   client pread-after-run FILE N RUN
//                                 the same, each after one untimed pread of
//                                 RUN (a guest exit): the first read of FILE
//                                 after a state change
//   client open-read-close PATH N N x open(PATH), read(fd, 4096), close: a
//                                 shell's `cat`, lookups by path included
//   client stat PATH N            N x stat(PATH)
//   client mkdir DIR              one mkdir(DIR), its ns
//   client seqread  FILE SIZE     1 MiB preads over SIZE bytes, prints MiB/s
//   client seqwrite FILE SIZE     1 MiB pwrites over SIZE bytes, prints MiB/s
//   client stop RUN STOP          blocks in read(RUN); another thread writes
//                                 STOP after 100 ms; prints ns from the write
//                                 to the read's return
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static long long now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000000000LL + t.tv_nsec;
}

static int open_or_die(const char *path, int flags) {
    int fd = open(path, flags);
    if (fd < 0) { perror(path); exit(1); }
    return fd;
}

static const char *stop_path;
static volatile long long stop_written_at;

static void *write_stop(void *arg) {
    (void)arg;
    usleep(100 * 1000);
    int fd = open_or_die(stop_path, O_WRONLY);
    stop_written_at = now_ns();
    if (write(fd, "1\n", 2) != 2) { perror("write stop"); exit(1); }
    close(fd);
    return NULL;
}

int main(int argc, char **argv) {
    if (argc == 3 && strcmp(argv[1], "mkdir") == 0) {
        long long start = now_ns();
        if (mkdir(argv[2], 0755) < 0) { perror(argv[2]); return 1; }
        printf("%lld\n", now_ns() - start);
        return 0;
    }
    if (argc != 4 && !(argc == 5 && strcmp(argv[1], "pread-after-run") == 0)) {
        fprintf(stderr, "usage: client pread|open-read-close|stat|seqread|seqwrite|stop FILE N|SIZE|STOPFILE, client pread-after-run FILE N RUN, or client mkdir DIR\n");
        return 2;
    }
    const char *mode = argv[1], *path = argv[2];
    static char buf[1 << 20];
    if (strcmp(mode, "pread-after-run") == 0) {
        long n = atol(argv[3]);
        int fd = open_or_die(path, O_RDONLY), run = open_or_die(argv[4], O_RDONLY);
        long long timed = 0;
        for (long i = 0; i < n; i++) {
            if (pread(run, buf, 4096, 0) <= 0) { perror("pread run"); return 1; }
            long long start = now_ns();
            if (pread(fd, buf, 4096, 0) <= 0) { perror("pread"); return 1; }
            timed += now_ns() - start;
        }
        printf("%.1f\n", (double)timed / n);
        return 0;
    }
    if (strcmp(mode, "pread") == 0) {
        long n = atol(argv[3]);
        int fd = open_or_die(path, O_RDONLY);
        long long start = now_ns();
        for (long i = 0; i < n; i++) if (pread(fd, buf, 4096, 0) <= 0) { perror("pread"); return 1; }
        printf("%.1f\n", (double)(now_ns() - start) / n);
        return 0;
    }
    if (strcmp(mode, "open-read-close") == 0 || strcmp(mode, "stat") == 0) {
        long n = atol(argv[3]);
        int opening = mode[0] == 'o';
        struct stat st;
        long long start = now_ns();
        for (long i = 0; i < n; i++) {
            if (!opening) {
                if (stat(path, &st) < 0) { perror(path); return 1; }
                continue;
            }
            int fd = open_or_die(path, O_RDONLY);
            if (read(fd, buf, 4096) <= 0) { perror("read"); return 1; }
            close(fd);
        }
        printf("%.1f\n", (double)(now_ns() - start) / n);
        return 0;
    }
    if (strcmp(mode, "seqread") == 0 || strcmp(mode, "seqwrite") == 0) {
        long long size = atoll(argv[3]);
        int writing = mode[3] == 'w';
        int fd = open_or_die(path, writing ? O_WRONLY : O_RDONLY);
        memset(buf, 0x5a, sizeof buf);
        long long start = now_ns();
        for (long long off = 0; off < size; off += sizeof buf) {
            ssize_t n = writing ? pwrite(fd, buf, sizeof buf, off) : pread(fd, buf, sizeof buf, off);
            if (n != (ssize_t)sizeof buf) { perror(writing ? "pwrite" : "pread"); return 1; }
        }
        printf("%.1f\n", (double)size / (1 << 20) / ((double)(now_ns() - start) / 1e9));
        return 0;
    }
    if (strcmp(mode, "stop") == 0) {
        stop_path = argv[3];
        int fd = open_or_die(path, O_RDONLY);
        pthread_t thread;
        pthread_create(&thread, NULL, write_stop, NULL);
        ssize_t n = read(fd, buf, sizeof buf);
        long long returned = now_ns();
        pthread_join(thread, NULL);
        if (n <= 0 || strncmp(buf, "intr", 4) != 0) { fprintf(stderr, "run returned %.*s\n", (int)(n > 0 ? n : 0), buf); return 1; }
        printf("%lld\n", returned - stop_written_at);
        return 0;
    }
    fprintf(stderr, "unknown mode %s\n", mode);
    return 2;
}
