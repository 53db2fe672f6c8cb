// LMDB, the mailbox store's engine (memory-mapped B+tree, single writer, crash-safe commits).
#include <lmdb.h>
