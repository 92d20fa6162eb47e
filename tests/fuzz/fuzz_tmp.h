/* fuzz_tmp.h — what the fuzz harnesses share: a private temporary folder
 * (made once per process, removed at exit) and writing the fuzzer's bytes
 * into a file there, since the readers under test read files by path. */
#ifndef BATCHMD_FUZZ_TMP_H
#define BATCHMD_FUZZ_TMP_H

#include <stddef.h>
#include <stdint.h>

/* The folder ($TMPDIR or /tmp, "bmd-fuzz-XXXXXX"); aborts if it cannot be made. */
const char *bmd_fuzz_dir(void);
/* dir/name into out (at most cap bytes). */
void bmd_fuzz_path(char *out, size_t cap, const char *name);
/* Writes data[0..size) to dir/name (replacing it); aborts on failure. */
void bmd_fuzz_write(const char *name, const uint8_t *data, size_t size);
/* Aborts with a message on stderr when cond is false: a broken invariant. */
void bmd_fuzz_check(int cond, const char *what, const char *detail);

#endif
