/* link.h — the unix socket between a node supervisor (collrun, no MPI) and its node's
 * session member (collrun-session, an MPI rank of the session job), and the cache entries
 * that travel over it. Shared by both programs; no MPI here.
 *
 * Where: <rundir>/session-ID/ (rundir as rendezvous.h picks it, private to the user) holds
 * node.sock (one member per host) or node-K.sock (virtual node K, tests on one host) and
 * `ready`, written by every member once all of them listen.
 *
 * Frames, both ways: struct sl_hdr, then key_len bytes of key, then body_len bytes.
 *   node -> member  SL_REQ  key        (ask for an entry; it comes back as SL_ENTRY)
 *   any  -> member  SL_END             (end the session: collrun --end-session)
 *   member -> node  SL_ENTRY type/err/key/body (every entry the session publishes)
 * Keys name a fact about a file on a shared file system independently of where each node
 * mounted it: KIND, then the mount's fstype, NUL, its source (mountinfo fields 9 and 10),
 * NUL, and the path inside that file system (mountinfo's root joined with the path below
 * the mount point). KIND: 'L' look-up of one name (a STAT entry: struct sl_stat, then the
 * link body for a symlink; or NEG), 'D' listing (LIST: names, each NUL-terminated), 'F'
 * file bytes (FILE: struct sl_stat of the version read, then the bytes). A NEG of EXDEV
 * means "not on that mount at the root" (another file system is mounted there): the node
 * reads the file system itself. */
#ifndef COLLRUN_SESSION_LINK_H
#define COLLRUN_SESSION_LINK_H
#include <stdint.h>

enum sl_kind { SL_REQ = 1, SL_ENTRY = 2, SL_END = 3 };
enum sl_type { SL_T_STAT = 1, SL_T_NEG = 3, SL_T_LIST = 4, SL_T_FILE = 5 };   /* as entry.h */

struct sl_hdr {
	uint32_t kind;
	uint16_t type;
	uint16_t pad;
	int32_t err;
	uint32_t key_len;
	uint64_t body_len;
};

/* What lstat said at the root (dev is the root's: each node maps it to its own mount's). */
struct sl_stat {
	uint64_t dev, ino, nlink, size, blksize, blocks, rdev;
	uint32_t mode, uid, gid, pad;
	int64_t atime, atime_ns, mtime, mtime_ns, ctime, ctime_ns;
};

#define SL_KEY_MAX 8192u
#define SL_FILE_MAX (64ull << 20)   /* larger files are not sent: each node reads them */
#define SL_DIR_FMT "%s/session-%s"
#endif
