/* random.h — random bytes from the kernel (getrandom), and the random hex
 * strings made from them: secrets (the UI's CSRF tokens) and unique names
 * (request ids, temporary files, the S3 upload prefix, queryd's Parquet
 * results).
 *
 * A secret must come from the kernel or not at all (random_hex fails); a
 * name only has to differ from every other name, so random_name never fails:
 * without kernel randomness it is made from the clock, the process id and a
 * counter, which is unique on this host but not secret.
 */
#ifndef LH_RANDOM_H
#define LH_RANDOM_H
#include <stddef.h>

/* n bytes from the kernel's CSPRNG into buf. Returns 0, or -1 when the
 * kernel gives none (buf is then undefined). */
int random_bytes(void *buf, size_t n);

/* 2 * nbytes lowercase hex digits of random_bytes(), NUL-terminated, into
 * out (2 * nbytes + 1 bytes). Returns 0, or -1 with out = "". */
int random_hex(char *out, size_t nbytes);

/* The same shape as random_hex, for a unique name: never fails (see
 * above). */
void random_name(char *out, size_t nbytes);
/* random_name without the kernel: the clock, pid and counter alone
 * (exposed for the unit tests). */
void random_name_fallback(char *out, size_t nbytes);

#endif
