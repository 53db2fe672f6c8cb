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

# apt-get update, retried: a mirror caught mid-sync fails the first time and works a minute later.
apt_update() {
    local try
    for try in 1 2 3 4 5; do
        if as_root apt-get update -q >/dev/null; then return 0; fi
        echo "apt-get update failed (try $try of 5); retrying" >&2
        sleep $((try * 5))
    done
    return 1
}

# apt_ensure PKG...: installs the packages that are not installed yet; does nothing when all are.
apt_ensure() {
    local missing=() p
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    echo "installing: ${missing[*]}" >&2
    apt_update
    local try
    for try in 1 2 3; do
        if as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null; then
            return 0
        fi
        echo "apt-get install failed (try $try of 3); refreshing package lists" >&2
        sleep $((try * 5))
        apt_update || true
    done
    return 1
}
