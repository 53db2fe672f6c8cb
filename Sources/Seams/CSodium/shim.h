// libsodium, the primitive layer under PosternCrypto (X25519, ChaCha20, Poly1305, BLAKE2b, SHA-2).
// Debian 12 ships 1.0.18: no HKDF API (PosternCrypto builds HKDF on HMAC), scalar ChaCha20 on ARM.
#include <sodium.h>
