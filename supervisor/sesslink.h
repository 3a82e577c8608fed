/* The node supervisor's side of a session (issue 10): a connection to this node's session
 * member (collrun-session, session/link.h), and the entries it has handed over. A worker
 * filling a miss on a shared file system (mountinfo says network, parallel or FUSE) asks
 * here instead of the file system: the root looks it up once for every node. Everything
 * here may wait and is for workers only, never the loop thread; nothing holds the node
 * lock while waiting. When the member goes away (the session ended or broke), one warning
 * is queued for the loop to pass on, and every later call answers SL_FALLBACK: the caller
 * reads the file system itself, as without a session. */
#pragma once
#include "cache/data.h"
#include "fill.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SL_FALLBACK 1    /* no session answer: read the file system yourself */

extern const char *sesslink_id;      /* --session / COLLRUN_SESSION, or NULL */
extern const char *sesslink_vnode;   /* the virtual node (its member is node-K.sock), or NULL */

/* In the node supervisor, before serving: connect and start the reader thread. 0, or
 * -errno (the warning is queued and the supervisor serves as without a session). */
int sesslink_start(void);
/* The loop polls this (an eventfd; -1 without a session): readable when a warning waits. */
int sesslink_event_fd(void);
/* The warning to pass on once (into buf), or 0 if none. */
int sesslink_take_warning(char *buf, size_t size);

/* Worker, node lock not held. mnt is the directory's mount id, phys its path in our view.
 * 0 and *f as fill_lookup fills it (f->id on our mount: our mnt and dev); -errno the
 * root's negative answer; SL_FALLBACK. */
int sesslink_lookup(uint64_t mnt, const char *phys, const char *name, size_t len, struct found *f);
/* A directory's names and raw entries (as fill_listing gives them). 0, -errno, SL_FALLBACK. */
int sesslink_list(uint64_t mnt, const char *phys, char ***names, size_t *n, struct dents **raw);
/* A copy of the file at phys whose stat (ours, as a look-up here gave it) is st: 0 and
 * *out, -errno (EACCES...), SL_FALLBACK (also when the root read another version). */
int sesslink_file(struct data_store *d, uint64_t mnt, const char *phys, const struct stat *st,
		  struct data_obj **out);
