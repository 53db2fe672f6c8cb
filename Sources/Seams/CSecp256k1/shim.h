// libsecp256k1 with the modules Postern uses: recoverable ECDSA (chat signatures) and ECDH (ECIES).
#include <secp256k1.h>
#include <secp256k1_recovery.h>
#include <secp256k1_ecdh.h>
