// File descriptors and paths.
#define _GNU_SOURCE
#include "csystem.h"
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

int32_t psys_open(const char *path, int32_t flags, uint32_t mode) {
    int f = O_CLOEXEC;
    if ((flags & PSYS_O_READ) && (flags & PSYS_O_WRITE)) f |= O_RDWR;
    else if (flags & PSYS_O_WRITE) f |= O_WRONLY;
    else f |= O_RDONLY;
    if (flags & PSYS_O_CREATE) f |= O_CREAT;
    if (flags & PSYS_O_TRUNCATE) f |= O_TRUNC;
    if (flags & PSYS_O_APPEND) f |= O_APPEND;
    if (flags & PSYS_O_EXCLUSIVE) f |= O_EXCL;
    if (flags & PSYS_O_DIRECTORY) f |= O_DIRECTORY;
    int fd;
    do { fd = open(path, f, (mode_t)mode); } while (fd < 0 && errno == EINTR);
    return fd < 0 ? -errno : fd;
}

int64_t psys_read(int32_t fd, void *buffer, size_t count) {
    ssize_t n;
    do { n = read(fd, buffer, count); } while (n < 0 && errno == EINTR);
    return n < 0 ? -errno : (int64_t)n;
}

int64_t psys_write(int32_t fd, const void *buffer, size_t count) {
    ssize_t n;
    do { n = write(fd, buffer, count); } while (n < 0 && errno == EINTR);
    return n < 0 ? -errno : (int64_t)n;
}

int64_t psys_write_all(int32_t fd, const void *buffer, size_t count) {
    const char *p = buffer;
    size_t left = count;
    while (left > 0) {
        ssize_t n = write(fd, p, left);
        if (n < 0) {
            if (errno == EINTR) continue;
            return -errno;
        }
        p += n;
        left -= (size_t)n;
    }
    return (int64_t)count;
}

int32_t psys_close(int32_t fd) { return close(fd) < 0 ? -errno : 0; }
int32_t psys_fsync(int32_t fd) { return fsync(fd) < 0 ? -errno : 0; }
int32_t psys_rename(const char *from, const char *to) { return rename(from, to) < 0 ? -errno : 0; }
int32_t psys_unlink(const char *path) { return unlink(path) < 0 ? -errno : 0; }
int32_t psys_mkdir(const char *path, uint32_t mode) { return mkdir(path, (mode_t)mode) < 0 ? -errno : 0; }
int32_t psys_isatty(int32_t fd) { return isatty(fd); }
int32_t psys_rmdir(const char *path) { return rmdir(path) < 0 ? -errno : 0; }

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
    (void)st; (void)flag; (void)ftw;
    return remove(path) < 0 ? -errno : 0;
}

int32_t psys_remove_tree(const char *path) {
    int r = nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    if (r < 0) return errno == ENOENT ? 0 : -errno;
    return r;
}

int32_t psys_stat_kind(const char *path, int32_t *is_dir, int64_t *size) {
    struct stat st;
    if (stat(path, &st) < 0) return errno == ENOENT ? 0 : -errno;
    if (is_dir) *is_dir = S_ISDIR(st.st_mode) ? 1 : 0;
    if (size) *size = (int64_t)st.st_size;
    return 1;
}

int32_t psys_lock_file(const char *path) {
    int fd;
    do { fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600); } while (fd < 0 && errno == EINTR);
    if (fd < 0) return -errno;
    if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    return fd;
}

int32_t psys_access_rw(const char *path) {
    struct stat st;
    if (stat(path, &st) < 0) return -errno;
    int mode = R_OK | W_OK | (S_ISDIR(st.st_mode) ? X_OK : 0);
    return access(path, mode) < 0 ? -errno : 0;
}
