/* DpsChecksum: the checksum that the input's identity (DpsDatasetChecksum) and the checkpoint's damage check
   (checkpoint.c) share. It depends on nothing else in io/. */
#ifndef DPSOLVE_CHECKSUM_H
#define DPSOLVE_CHECKSUM_H
#include <stddef.h>
#include <stdint.h>

/* Checksum of n 8-byte words at positions position0, position0 + 1, ... of an array named by salt: the sum over
   the words of a 64-bit mix of (salt, position, word), mod 2^64. Parts computed on different ranks add up to the
   checksum of the whole, whatever the split, and any change of a word or of its position changes the sum. */
uint64_t DpsChecksum(uint64_t, uint64_t, size_t, const void *);
uint64_t DpsChecksumSalt(const char[]);
#endif
