// Stop signals become a flag the event loop polls; SIGPIPE is ignored so a dead peer is an EPIPE error.
#include "csystem.h"
#include <errno.h>
#include <signal.h>
#include <string.h>

static volatile sig_atomic_t stop_signal;

static void on_stop(int sig) { stop_signal = sig; }

int32_t psys_install_stop_signals(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGINT, &sa, NULL) < 0 || sigaction(SIGTERM, &sa, NULL) < 0) return -errno;
    sa.sa_handler = SIG_IGN;
    if (sigaction(SIGPIPE, &sa, NULL) < 0) return -errno;
    // A parent may hand down a mask with these blocked (some process spawners do): unblock them, or
    // SIGTERM from systemd or Ctrl-C would stay pending forever.
    sigset_t stops;
    sigemptyset(&stops);
    sigaddset(&stops, SIGINT);
    sigaddset(&stops, SIGTERM);
    if (sigprocmask(SIG_UNBLOCK, &stops, NULL) < 0) return -errno;
    return 0;
}

int32_t psys_stop_signal(void) { return (int32_t)stop_signal; }
