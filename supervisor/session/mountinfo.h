/* mountinfo.h — /proc/self/mountinfo read without touching any file system, and which
 * file system types are shared between nodes (so the session root's answers hold for every
 * node). Used by collrun (node supervisors) and collrun-session (the root); no MPI. */
#ifndef COLLRUN_SESSION_MOUNTINFO_H
#define COLLRUN_SESSION_MOUNTINFO_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct mi_mount {
	uint64_t id;
	unsigned major, minor;
	char *root;     /* the path inside the file system that is mounted here */
	char *point;    /* where, in our view */
	char *fstype;   /* "nfs4", "fuse.slowfs", ... */
	char *source;   /* "server:/export", the FUSE server's fsname, ... */
};

/* All mounts of our mount namespace. 0 or -errno; free with mi_free. */
int mi_read(struct mi_mount **out, size_t *n);
void mi_free(struct mi_mount *m, size_t n);
/* Network, parallel and FUSE file systems: the same names mean the same files on every
 * node that mounts them. Local ones (ext4, xfs, tmpfs, overlay...) are each node's own. */
bool mi_shared_fstype(const char *fstype);
#endif
