// Process-level calls: argv capture, environment, exit, errno text, child processes.
#include "csystem.h"
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int32_t saved_argc;
static char **saved_argv;

// glibc calls .init_array entries with (argc, argv, envp); that is the only portable way for an Embedded
// Swift executable, which has no CommandLine, to see its arguments.
__attribute__((constructor)) static void psys_capture_args(int argc, char **argv, char **envp) {
    (void)envp;
    saved_argc = argc;
    saved_argv = argv;
}

int32_t psys_argc(void) { return saved_argc; }
const char *psys_argv(int32_t index) {
    return (index >= 0 && index < saved_argc) ? saved_argv[index] : NULL;
}
const char *psys_getenv(const char *name) { return getenv(name); }
int32_t psys_getpid(void) { return (int32_t)getpid(); }
int32_t psys_process_alive(int32_t pid) { return pid > 0 && (kill(pid, 0) == 0 || errno == EPERM) ? 1 : 0; }
void psys_exit(int32_t status) { exit(status); }
const char *psys_strerror(int32_t err) { return strerror(err < 0 ? -err : err); }

extern char **environ;

int32_t psys_spawn(const char *path, const char *const *argv, const char *log_path, int32_t stdout_to_log) {
    posix_spawn_file_actions_t actions;
    if (posix_spawn_file_actions_init(&actions) != 0) return -ENOMEM;
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    // The child opens its log itself: the parent holds no descriptor for it that another of its threads
    // could close or reuse between the open and the spawn.
    if (log_path) posix_spawn_file_actions_addopen(&actions, 2, log_path, O_WRONLY | O_CREAT | O_APPEND, 0600);
    else posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
    if (log_path && stdout_to_log) posix_spawn_file_actions_adddup2(&actions, 2, 1);
    else posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
    // The child starts with no blocked signals and every signal at its default action, whatever this
    // process blocks (signalfd) or ignores (SIGPIPE).
    posix_spawnattr_t attributes;
    if (posix_spawnattr_init(&attributes) != 0) { posix_spawn_file_actions_destroy(&actions); return -ENOMEM; }
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    posix_spawnattr_setsigmask(&attributes, &none);
    posix_spawnattr_setsigdefault(&attributes, &all);
    posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    pid_t pid;
    int err = posix_spawn(&pid, path, &actions, &attributes, (char *const *)argv, environ);
    posix_spawnattr_destroy(&attributes);
    posix_spawn_file_actions_destroy(&actions);
    return err == 0 ? (int32_t)pid : -err;
}

int32_t psys_kill(int32_t pid, int32_t signal) { return kill((pid_t)pid, signal) == 0 ? 0 : -errno; }

int32_t psys_wait(int32_t pid, int32_t block) {
    int status;
    pid_t r;
    do { r = waitpid((pid_t)pid, &status, block ? 0 : WNOHANG); } while (r < 0 && errno == EINTR);
    if (r < 0) return -errno - 1000;
    if (r == 0) return -1;
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : 255;
}

int32_t psys_executable_path(char *buffer, int32_t capacity) {
    ssize_t n = readlink("/proc/self/exe", buffer, capacity > 0 ? (size_t)capacity : 0);
    if (n < 0) return -errno;
    return n >= capacity ? -ENAMETOOLONG : (int32_t)n;
}
