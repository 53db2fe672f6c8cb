// Non-blocking TCP sockets and epoll for the single-threaded event loop.
#define _GNU_SOURCE  // accept4
#include "csystem.h"
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stddef.h>
#include <string.h>
#include <sys/epoll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

// Parses a numeric IPv4 or IPv6 literal into a socket address.
static int make_addr(const char *host, uint16_t port, struct sockaddr_storage *ss, socklen_t *len) {
    memset(ss, 0, sizeof *ss);
    struct sockaddr_in *v4 = (struct sockaddr_in *)ss;
    if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons(port);
        *len = sizeof *v4;
        return AF_INET;
    }
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)ss;
    if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons(port);
        *len = sizeof *v6;
        return AF_INET6;
    }
    return -1;
}

int32_t psys_set_nonblocking(int32_t fd) {
    int flags = fcntl(fd, F_GETFL, 0);
    if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) return -errno;
    return 0;
}

int32_t psys_tcp_listen(const char *host, uint16_t port, int32_t backlog) {
    struct sockaddr_storage ss;
    socklen_t len;
    int family = make_addr(host, port, &ss, &len);
    if (family < 0) return -EINVAL;
    int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return -errno;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&ss, len) < 0 || listen(fd, backlog) < 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    return fd;
}

int32_t psys_tcp_connect(const char *host, uint16_t port) {
    struct sockaddr_storage ss;
    socklen_t len;
    int family = make_addr(host, port, &ss, &len);
    if (family < 0) return -EINVAL;
    int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return -errno;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(fd, (struct sockaddr *)&ss, len) < 0 && errno != EINPROGRESS) {
        int e = errno;
        close(fd);
        return -e;
    }
    return fd;
}

int32_t psys_socket_error(int32_t fd) {
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0) return -errno;
    return -err;
}

int32_t psys_tcp_accept(int32_t listen_fd) {
    int fd = accept4(listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return -errno;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

int32_t psys_local_port(int32_t fd) {
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0) return -errno;
    if (ss.ss_family == AF_INET) return ntohs(((struct sockaddr_in *)&ss)->sin_port);
    return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
}

int32_t psys_epoll_create(void) {
    int fd = epoll_create1(EPOLL_CLOEXEC);
    return fd < 0 ? -errno : fd;
}

static uint32_t to_epoll(uint32_t ev) {
    uint32_t e = 0;
    if (ev & PSYS_EV_IN) e |= EPOLLIN | EPOLLRDHUP;
    if (ev & PSYS_EV_OUT) e |= EPOLLOUT;
    return e;
}

static uint32_t from_epoll(uint32_t e) {
    uint32_t ev = 0;
    if (e & EPOLLIN) ev |= PSYS_EV_IN;
    if (e & EPOLLOUT) ev |= PSYS_EV_OUT;
    if (e & EPOLLERR) ev |= PSYS_EV_ERR;
    if (e & (EPOLLHUP | EPOLLRDHUP)) ev |= PSYS_EV_HUP;
    return ev;
}

int32_t psys_epoll_ctl(int32_t epfd, int32_t op, int32_t fd, uint32_t events, uint64_t token) {
    struct epoll_event ev = { .events = to_epoll(events), .data.u64 = token };
    int o = op == 1 ? EPOLL_CTL_ADD : op == 2 ? EPOLL_CTL_DEL : EPOLL_CTL_MOD;
    return epoll_ctl(epfd, o, fd, &ev) < 0 ? -errno : 0;
}

int32_t psys_epoll_wait(int32_t epfd, uint64_t *tokens, uint32_t *events, int32_t capacity, int32_t timeout_ms) {
    struct epoll_event evs[64];
    if (capacity > 64) capacity = 64;
    int n = epoll_wait(epfd, evs, capacity, timeout_ms);
    if (n < 0) return errno == EINTR ? 0 : -errno;
    for (int i = 0; i < n; i++) {
        tokens[i] = evs[i].data.u64;
        events[i] = from_epoll(evs[i].events);
    }
    return n;
}

int32_t psys_sd_notify(const char *message) {
    const char *path = getenv("NOTIFY_SOCKET");
    if (path == NULL || path[0] == '\0') return 0;
    struct sockaddr_un sa;
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    size_t len = strlen(path);
    if (len >= sizeof sa.sun_path) return -EINVAL;
    memcpy(sa.sun_path, path, len);
    if (sa.sun_path[0] == '@') sa.sun_path[0] = '\0';   /* abstract namespace */
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -errno;
    ssize_t n = sendto(fd, message, strlen(message), MSG_NOSIGNAL, (struct sockaddr *)&sa,
                       (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len));
    int e = errno;
    close(fd);
    return n < 0 ? -e : 0;
}

int64_t psys_socket_send(int32_t fd, const void *buffer, size_t count) {
    ssize_t n;
    do { n = send(fd, buffer, count, MSG_NOSIGNAL); } while (n < 0 && errno == EINTR);
    return n < 0 ? -errno : n;
}

int32_t psys_stream_pair(int32_t fds[2]) {
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0) return -errno;
    fds[0] = sv[0];
    fds[1] = sv[1];
    return 0;
}
