// Process-level calls: argv capture, environment, exit, errno text.
#include "csystem.h"
#include <errno.h>
#include <signal.h>
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
