// The controlling terminal: reading a secret with echo switched off.
#include "csystem.h"
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

int32_t psys_read_secret(const char *prompt, uint8_t *buffer, int32_t capacity) {
    int fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (fd < 0) return -errno;
    struct termios saved, quiet;
    if (tcgetattr(fd, &saved) != 0) { int e = errno; close(fd); return -e; }
    quiet = saved;
    quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
    quiet.c_lflag |= ICANON;
    (void)!write(fd, prompt, strlen(prompt));
    if (tcsetattr(fd, TCSAFLUSH, &quiet) != 0) { int e = errno; close(fd); return -e; }
    int32_t n = 0, result = 0;
    for (;;) {
        uint8_t c;
        ssize_t r = read(fd, &c, 1);
        if (r < 0 && errno == EINTR) {
            // Interrupted (Ctrl-C): restore the terminal before anyone exits.
            result = -EINTR;
            break;
        }
        if (r <= 0) { result = r < 0 ? -errno : n; break; }
        if (c == '\n' || c == '\r') { result = n; break; }
        if (n < capacity) buffer[n++] = c; else { result = -ENAMETOOLONG; break; }
    }
    tcsetattr(fd, TCSAFLUSH, &saved);
    (void)!write(fd, "\n", 1);
    close(fd);
    return result;
}

static struct termios keys_saved;
static int keys_active = 0;

int32_t psys_terminal_keys(int32_t enable) {
    if (enable) {
        if (keys_active) return 0;
        if (tcgetattr(0, &keys_saved) != 0) return -errno;
        struct termios raw = keys_saved;
        raw.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
        raw.c_cc[VMIN] = 0;
        raw.c_cc[VTIME] = 0;
        if (tcsetattr(0, TCSANOW, &raw) != 0) return -errno;
        keys_active = 1;
    } else if (keys_active) {
        tcsetattr(0, TCSANOW, &keys_saved);
        keys_active = 0;
    }
    return 0;
}
