# Shared by cross/install-deps, cross/build and cross/run: what each target architecture is called by
# each tool. Source it; do not run it.

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# arch_vars ARCH: sets DEB_ARCH GNU_TRIPLE SWIFT_TRIPLE QEMU SYSROOT for aarch64 or armv7.
arch_vars() {
    case "$1" in
        aarch64|arm64)
            ARCH=aarch64 DEB_ARCH=arm64 GNU_TRIPLE=aarch64-linux-gnu SWIFT_TRIPLE=aarch64-none-none-elf
            QEMU=qemu-aarch64-static ;;
        armv7|armhf)
            ARCH=armv7 DEB_ARCH=armhf GNU_TRIPLE=arm-linux-gnueabihf SWIFT_TRIPLE=armv7-none-none-eabi
            QEMU=qemu-arm-static ;;
        *) echo "unknown architecture '$1' (aarch64 or armv7)" >&2; return 2 ;;
    esac
    SYSROOT=/usr/$GNU_TRIPLE
}

# The Swift toolchain's root (the folder holding bin/swiftc and lib/swift).
swift_toolchain() {
    local swiftc
    swiftc=$(command -v swiftc) || { echo "swiftc not found on PATH" >&2; return 1; }
    dirname "$(dirname "$(readlink -f "$swiftc")")"
}

as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
        echo "need root for: $*" >&2; return 1
    fi
}

# How long to wait before the second try of an install that failed (seconds). A mirror caught mid-sync
# may be whole again a little later; cross/test-install-deps sets it low.
POSTERN_APT_RETRY_SECONDS=${POSTERN_APT_RETRY_SECONDS:-15}

# apt_update: refreshes the package lists. A failure is only a warning (status 1, message on stderr): a
# mirror caught mid-sync (seen: "File has unexpected size … Mirror sync in progress?" for one index) fails
# `apt-get update` while the lists that did download, or the ones already here, still install everything.
# Whether the packages can be had is decided by the install that follows, never by this.
apt_update() {
    local log
    log=$(mktemp)
    if as_root apt-get update -q >"$log" 2>&1; then rm -f "$log"; return 0; fi
    echo "warning: apt-get update failed; installing from the package lists already present. apt said:" >&2
    apt_errors "$log" >&2
    rm -f "$log"
    return 1
}

# apt_errors LOG: apt's error and warning lines from LOG (or its last lines when it printed none), indented.
apt_errors() {
    local lines
    lines=$(grep -E '^(E|W|Err):' "$1" | head -n 8)
    [ -n "$lines" ] || lines=$(tail -n 5 "$1")
    printf '%s\n' "$lines" | sed 's/^/    /'
}

# apt_installed PKG: whether PKG is installed for the machine's own architecture (or is Architecture: all);
# PKG:ARCH asks for that architecture. A bare name must not be satisfied by a foreign one: with only
# libsodium-dev:arm64 installed (a cross build first), `dpkg-query -W libsodium-dev` reports it installed
# and the host build then failed to link.
apt_installed() {
    local p=$1 native
    if [[ $p == *:* ]]; then
        dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q "install ok installed"
        return
    fi
    native=$(dpkg --print-architecture)
    dpkg-query -W -f='${Status} ${Architecture}\n' "$p" 2>/dev/null \
        | grep -Eq "^install ok installed ($native|all)\$"
}

# apt_ensure PKG...: installs the packages that are not installed yet; does nothing when all are.
# Only a failed install is an error: it names the packages and prints apt's error, and returns 1.
apt_ensure() {
    local missing=() p
    for p in "$@"; do
        apt_installed "$p" || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    echo "installing: ${missing[*]}" >&2
    apt_update || true
    local log try
    log=$(mktemp)
    for try in 1 2; do
        if as_root env DEBIAN_FRONTEND=noninteractive \
            apt-get install -y -q --no-install-recommends "${missing[@]}" >"$log" 2>&1; then
            rm -f "$log"
            return 0
        fi
        [ "$try" = 2 ] && break
        echo "apt-get install failed; refreshing the package lists and trying once more in ${POSTERN_APT_RETRY_SECONDS} s" >&2
        sleep "$POSTERN_APT_RETRY_SECONDS"
        apt_update || true
    done
    echo "error: could not install ${missing[*]}. apt-get install said:" >&2
    apt_errors "$log" >&2
    rm -f "$log"
    return 1
}
