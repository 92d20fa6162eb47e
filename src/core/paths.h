/* paths.h — file-name helpers shared by the outputs (sinks, log, H5MD,
 * checkpoints), the campaign reader and the command. Internal (bmd__). */
#ifndef BATCHMD_CORE_PATHS_H
#define BATCHMD_CORE_PATHS_H

/* path with suffix put before the extension of its file name (out/a.extxyz,
 * ".failed" -> out/a.failed.extxyz; no extension: at the end; a leading dot
 * is no extension). malloc'd; NULL on no memory. The default failed path
 * and the command's per-rank file names use it. */
char *bmd__path_suffixed(const char *path, const char *suffix);
/* mkdir -p of path's parent folder; a failure shows when the file is
 * opened, with its own message. */
void bmd__make_parents(const char *path);
/* 1 when a and b name the same file: the same inode, or, for a file not
 * there yet, the same name in the same folder ("out.xyz", "./out.xyz",
 * "d/../out.xyz"). */
int bmd__same_file(const char *a, const char *b);

#endif
