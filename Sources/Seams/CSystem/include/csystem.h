// The one seam between Postern's Swift code and libc.
//
// Shipped Swift modules must build as Embedded Swift, where there is no Glibc overlay, so every libc call
// the project needs is wrapped here behind a small, typed, prefix-named function. Conventions:
//   * a call that can fail returns a value >= 0 on success and -errno on failure (like the kernel ABI);
//   * only fixed-width integer types cross the seam, so this header needs no libc headers and imports the
//     same way on the host and on the Embedded cross targets.
#ifndef CSYSTEM_H
#define CSYSTEM_H
#include <stdint.h>
#include <stddef.h>

// --- process -----------------------------------------------------------------------------------------
/// argc/argv as glibc handed them to the process (captured by an ELF constructor: Embedded Swift has no
/// CommandLine).
int32_t psys_argc(void);
const char *psys_argv(int32_t index);
const char *psys_getenv(const char *name);
int32_t psys_getpid(void);
/// 1 if a process with this id exists (kill(pid, 0)), else 0.
int32_t psys_process_alive(int32_t pid);
void psys_exit(int32_t status) __attribute__((noreturn));
/// Starts `path` with the NULL-terminated `argv` (environment inherited), stdin on /dev/null, stdout on
/// `stdout_fd` and stderr on `stderr_fd` (each /dev/null when < 0), no signal blocked and every signal at
/// its default action: the child's pid, or -errno.
int32_t psys_spawn(const char *path, const char *const *argv, const char *log_path, int32_t stdout_to_log);
/// kill(2): 0 or -errno.
int32_t psys_kill(int32_t pid, int32_t signal);
/// waitpid(2) for one child, blocking when `block` is 1: its exit status (128 + signal if killed), -1 when
/// it is still running (block 0), or -errno - 1000.
int32_t psys_wait(int32_t pid, int32_t block);
/// The running executable's path (/proc/self/exe) into `buffer`: its length, or -errno.
int32_t psys_executable_path(char *buffer, int32_t capacity);
/// Human-readable text for an errno value (static storage).
const char *psys_strerror(int32_t err);

// --- CPU ---------------------------------------------------------------------------------------------
/// 1 on an x86-64 CPU (and kernel) with AVX2, else 0 (always 0 on ARM).
int32_t psys_cpu_has_avx2(void);

// --- clocks ------------------------------------------------------------------------------------------
uint64_t psys_monotonic_ns(void);
int64_t psys_realtime_ns(void);
/// CPU time used by the whole process (all threads), nanoseconds.
uint64_t psys_process_cpu_ns(void);
/// CPU time used by another process of this user (its CPU-time clock), nanoseconds; 0 if it has gone.
uint64_t psys_other_process_cpu_ns(int32_t pid);
/// Sleeps for at least `ns` nanoseconds (restarted on EINTR).
void psys_sleep_ns(uint64_t ns);

/// Natural logarithm (libm), for sampling exponential delays without Foundation.
double psys_ln(double x);
/// e^x (libm).
double psys_exp(double x);

// --- files -------------------------------------------------------------------------------------------
enum {
    PSYS_O_READ = 1, PSYS_O_WRITE = 2, PSYS_O_CREATE = 4, PSYS_O_TRUNCATE = 8, PSYS_O_APPEND = 16,
    PSYS_O_EXCLUSIVE = 32, PSYS_O_DIRECTORY = 64
};
int32_t psys_open(const char *path, int32_t flags, uint32_t mode);
int64_t psys_read(int32_t fd, void *buffer, size_t count);
int64_t psys_write(int32_t fd, const void *buffer, size_t count);
/// Writes all bytes, retrying short writes and EINTR.
int64_t psys_write_all(int32_t fd, const void *buffer, size_t count);
int32_t psys_close(int32_t fd);
int32_t psys_fsync(int32_t fd);
int32_t psys_rename(const char *from, const char *to);
int32_t psys_unlink(const char *path);
int32_t psys_mkdir(const char *path, uint32_t mode);
int32_t psys_rmdir(const char *path);
/// Removes a file or a directory with everything in it (symbolic links are removed, not followed);
/// 0 when done or already absent, else -errno.
int32_t psys_remove_tree(const char *path);
/// 1 if the path exists, 0 if not, -errno on other errors. `is_dir` receives 1 for a directory.
int32_t psys_stat_kind(const char *path, int32_t *is_dir, int64_t *size);
int32_t psys_isatty(int32_t fd);
/// Standard input as single keys (no line buffering, no echo) when `enable`, as before when not: for a
/// full-screen view (postern top). 0 or -errno.
int32_t psys_terminal_keys(int32_t enable);
/// Prints `prompt` on the controlling terminal (/dev/tty) and reads one line with echo off, restoring the
/// terminal afterwards. Returns the byte count (without the newline) or -errno (-ENXIO/-ENOENT: no
/// terminal; -ENAMETOOLONG: longer than `capacity`).
int32_t psys_read_secret(const char *prompt, uint8_t *buffer, int32_t capacity);
/// Opens (creating, mode 0600) `path` and takes an exclusive, non-blocking flock on it. Returns the fd,
/// which holds the lock until closed or the process dies, or -errno (-EWOULDBLOCK when another process
/// holds it).
int32_t psys_lock_file(const char *path);
/// 0 if the calling process may read+write `path` (access(2) with R_OK|W_OK|X_OK for directories).
int32_t psys_access_rw(const char *path);

// --- signals -----------------------------------------------------------------------------------------
/// Installs flag-setting handlers for SIGINT and SIGTERM (unblocking them) and ignores SIGPIPE.
int32_t psys_install_stop_signals(void);
/// The last stop signal received (SIGINT/SIGTERM number), 0 if none.
int32_t psys_stop_signal(void);

// Name resolution off the event loop (resolve.c).
typedef struct psys_resolution psys_resolution;
/// 1 when host is an IPv4 or IPv6 literal.
int32_t psys_is_numeric_host(const char *host);
/// An IP literal as 16 bytes (IPv4 in the first four, zeros after): returns 4 or 6, or 0 (out all zero)
/// when host is not a literal.
int32_t psys_ip_parse(const char *host, uint8_t out[16]);
/// The text of a family-4 or family-6 address in (as psys_ip_parse writes it) into out (capacity ≥ 46);
/// 0, or -1 for another family.
int32_t psys_ip_format(int32_t family, const uint8_t in[16], char *out, int32_t capacity);
/// Starts resolving host on a detached thread. Returns a pipe's read end that becomes readable when the
/// answer is there (then call psys_resolve_finish, and close the fd), or -errno.
int32_t psys_resolve_start(const char *host, psys_resolution **out);
/// The numeric address (IPv4 preferred) into numeric, returning 0; or the resolver's error text, returning
/// -1. Frees the resolution.
int32_t psys_resolve_finish(psys_resolution *r, char *numeric, int32_t capacity);


// --- sockets (TCP over IPv4/IPv6 literals; non-blocking) -----------------------------------------------
/// Listens on host:port (numeric address). Returns the fd or -errno.
int32_t psys_tcp_listen(const char *host, uint16_t port, int32_t backlog);
/// Starts a non-blocking connect; returns the fd (connection may still be in progress) or -errno.
int32_t psys_tcp_connect(const char *host, uint16_t port);
/// Result of a finished non-blocking connect: 0 or -errno.
int32_t psys_socket_error(int32_t fd);
/// send(2) with MSG_NOSIGNAL: a peer that has gone away is -EPIPE, never SIGPIPE, whatever the process's
/// signal disposition (libraries and tests do not install the daemon's handlers).
int64_t psys_socket_send(int32_t fd, const void *buffer, size_t count);
/// A connected pair of non-blocking local stream sockets (fds[0], fds[1]); 0 or -errno.
int32_t psys_stream_pair(int32_t fds[2]);
/// Accepts one connection as a non-blocking fd; -EAGAIN when none is pending.
int32_t psys_tcp_accept(int32_t listen_fd);
/// The port a socket is bound to (for listeners on port 0).
int32_t psys_local_port(int32_t fd);
int32_t psys_set_nonblocking(int32_t fd);

/// Sends `message` (e.g. "READY=1") to systemd's $NOTIFY_SOCKET. 0 when sent or when not under systemd
/// (no NOTIFY_SOCKET), -errno on failure.
int32_t psys_sd_notify(const char *message);

// --- epoll -------------------------------------------------------------------------------------------
enum { PSYS_EV_IN = 1, PSYS_EV_OUT = 4, PSYS_EV_ERR = 8, PSYS_EV_HUP = 16 };
int32_t psys_epoll_create(void);
/// op: 1 add, 2 delete, 3 modify.
int32_t psys_epoll_ctl(int32_t epfd, int32_t op, int32_t fd, uint32_t events, uint64_t token);
/// Waits up to timeout_ms; fills parallel arrays of tokens and event masks. Returns the count or -errno.
int32_t psys_epoll_wait(int32_t epfd, uint64_t *tokens, uint32_t *events, int32_t capacity, int32_t timeout_ms);

#endif
