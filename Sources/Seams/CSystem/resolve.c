// Host-name resolution off the event loop: getaddrinfo (which may block for seconds on DNS) runs on a
// detached thread; the loop watches a pipe that becomes readable when the answer is there.
#define _GNU_SOURCE
#include "csystem.h"
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct psys_resolution {
    char host[256];
    char numeric[64];
    int error;          // 0, or a getaddrinfo EAI_* code
    int write_fd;
};

int32_t psys_is_numeric_host(const char *host) {
    unsigned char buf[sizeof(struct in6_addr)];
    return inet_pton(AF_INET, host, buf) == 1 || inet_pton(AF_INET6, host, buf) == 1;
}

int32_t psys_ip_parse(const char *host, uint8_t out[16]) {
    memset(out, 0, 16);
    if (inet_pton(AF_INET, host, out) == 1) return 4;
    if (inet_pton(AF_INET6, host, out) == 1) return 6;
    memset(out, 0, 16);
    return 0;
}

int32_t psys_ip_format(int32_t family, const uint8_t in[16], char *out, int32_t capacity) {
    if (capacity < 46) return -1;
    int af = family == 4 ? AF_INET : family == 6 ? AF_INET6 : -1;
    if (af < 0 || inet_ntop(af, in, out, (socklen_t)capacity) == NULL) return -1;
    return 0;
}

static void *resolve_thread(void *arg) {
    struct psys_resolution *r = arg;
    struct addrinfo hints, *result = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_ADDRCONFIG;
    int e = getaddrinfo(r->host, NULL, &hints, &result);
    if (e == 0) {
        // IPv4 first when a name has both (home routers forward IPv4 ports), else the first answer.
        struct addrinfo *pick = result;
        for (struct addrinfo *p = result; p; p = p->ai_next) if (p->ai_family == AF_INET) { pick = p; break; }
        if (getnameinfo(pick->ai_addr, pick->ai_addrlen, r->numeric, sizeof r->numeric, NULL, 0, NI_NUMERICHOST) != 0) e = EAI_FAIL;
        freeaddrinfo(result);
    }
    r->error = e;
    char one = 1;
    ssize_t w;
    do { w = write(r->write_fd, &one, 1); } while (w < 0 && errno == EINTR);
    close(r->write_fd);
    return NULL;
}

int32_t psys_resolve_start(const char *host, psys_resolution **out) {
    size_t n = strlen(host);
    if (n == 0 || n >= 256) return -EINVAL;
    struct psys_resolution *r = calloc(1, sizeof *r);
    if (!r) return -ENOMEM;
    memcpy(r->host, host, n + 1);
    int fds[2];
    if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) < 0) { int e = errno; free(r); return -e; }
    r->write_fd = fds[1];
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, 64 * 1024);
    pthread_t t;
    int e = pthread_create(&t, &attr, resolve_thread, r);
    pthread_attr_destroy(&attr);
    if (e != 0) { close(fds[0]); close(fds[1]); free(r); return -e; }
    *out = r;
    return fds[0];
}

int32_t psys_resolve_finish(psys_resolution *r, char *numeric, int32_t capacity) {
    int32_t result;
    if (r->error != 0) {
        result = -1;
        if (capacity > 0) snprintf(numeric, (size_t)capacity, "%s", gai_strerror(r->error));
    } else {
        result = 0;
        if (capacity > 0) snprintf(numeric, (size_t)capacity, "%s", r->numeric);
    }
    free(r);
    return result;
}
