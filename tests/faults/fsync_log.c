/* LD_PRELOAD shim for the power-loss test: records every fsync/fdatasync of an append-only
 * file as "<start> <end> <bytes at start> <path>". Bytes written before an fsync starts are
 * on the disk once it returns; nothing else is guaranteed to be. The log goes to $FSYNC_LOG. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static void record(int fd, off_t size, struct timespec start) {
    const char *log = getenv("FSYNC_LOG");
    char link[64], path[4096], line[4400];
    struct timespec end;
    ssize_t n;
    int out, len;
    if (!log) return;
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    n = readlink(link, path, sizeof path - 1);
    if (n < 0) return;
    path[n] = 0;
    if (!strstr(path, ".aof")) return;
    clock_gettime(CLOCK_REALTIME, &end);
    len = snprintf(line, sizeof line, "%ld.%09ld %ld.%09ld %lld %s\n", (long)start.tv_sec,
                   start.tv_nsec, (long)end.tv_sec, end.tv_nsec, (long long)size, path);
    out = open(log, O_WRONLY | O_APPEND | O_CREAT, 0644);
    if (out < 0) return;
    if (write(out, line, len) < 0) { /* nothing to do: the test sees the gap */ }
    close(out);
}

static off_t size_of(int fd) {
    struct stat st;
    return fstat(fd, &st) == 0 ? st.st_size : -1;
}

int fdatasync(int fd) {
    static int (*real)(int);
    struct timespec start;
    off_t size = size_of(fd);
    int rc;
    if (!real) real = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
    clock_gettime(CLOCK_REALTIME, &start);
    rc = real(fd);
    if (rc == 0) record(fd, size, start);
    return rc;
}

int fsync(int fd) {
    static int (*real)(int);
    struct timespec start;
    off_t size = size_of(fd);
    int rc;
    if (!real) real = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
    clock_gettime(CLOCK_REALTIME, &start);
    rc = real(fd);
    if (rc == 0) record(fd, size, start);
    return rc;
}
