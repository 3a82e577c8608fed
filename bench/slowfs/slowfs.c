/* slowfs — a read-only FUSE mirror of a directory that sleeps delay_us (default 1000 µs)
 * before answering each operation and counts operations by type, so one machine can show
 * what every node of a job pays a busy parallel file system's metadata server.
 *
 *   slowfs [-f] [-s] [-d] [-o delay_us=N] [--delay-us=N] SRC MNT
 *
 * Low-level libfuse3 API, so the kernel's LOOKUP requests are counted as lookups (the
 * high-level API would report them as getattr). What a count means:
 *   lookup     one path component resolved (also each revalidation: entry_timeout is 0, so
 *              every walk through a name asks again); enoent= counts those that missed
 *   getattr    stat/fstat, and attribute refreshes the kernel makes (attr_timeout is 0)
 *   open read  one per open(2) of a file / per read request (readahead-sized, up to 128 KiB)
 *   opendir readdir releasedir release readlink access statfs   one per request
 * total= sums all of them; bytes= counts file data returned. Every counted op is delayed.
 *
 * Kernel caches are off so that each process pays as it would on a separate node:
 *   entry_timeout = attr_timeout = 0, and ENOENT is returned as an error (never cached);
 *   readdir and symlink caches are never requested;
 *   files are opened with keep_cache=0 and without direct_io: at each open the kernel drops
 *   the file's page cache, so every open re-reads the data it uses from slowfs, while reads
 *   within one open go through the page cache and every kind of mmap works. direct_io
 *   was tried: ld.so still loads libraries (MAP_PRIVATE, checked on 6.18), but MAP_SHARED
 *   mmaps fail with ENODEV (no FUSE_DIRECT_IO_ALLOW_MMAP) and every read(2) reaches us
 *   unbatched, which no real client does.
 *
 * Control files at the mount root, hidden from readdir, never counted or delayed:
 *   .slowfs-stats  read: "lookup=N getattr=N ... total=N enoent=N bytes=N"; open it for
 *                  writing (echo > F, : > F) to reset every counter to 0
 *   .slowfs-info   read: "pid=N delay_us=N src=PATH" (umount.sh waits for that pid)
 *
 * Opt-in features for tests (all off by default; without them slowfs behaves, counts and
 * prints exactly as described above):
 *   -o gate        two more control files. .slowfs-gate (rw) reads "state=open|closed
 *                  waiting=N" (N = counted operations now held at the gate); writing
 *                  "close" makes every later counted operation wait (before its delay)
 *                  until "open" is written; "close-after OP K" lets K more operations of
 *                  kind OP (a name from the stats line, e.g. read) pass, then closes on the
 *                  next one, which is held. Opening .slowfs-gate-wait (ro) blocks until at
 *                  least one operation is held, then reads like .slowfs-gate — a test waits
 *                  on it instead of sleeping. Held operations occupy FUSE worker threads:
 *                  mount with -o max_threads=N above the number you expect to hold. A held
 *                  operation the kernel interrupts (its caller got a signal) leaves the gate
 *                  at once with EINTR, as a server honouring FUSE_INTERRUPT does: otherwise
 *                  a process waiting on it could not even be killed.
 *   -o zero_size_suffix=SUF   regular files whose name ends in SUF report st_size 0 and
 *                  st_blocks 0 (lookup, getattr) while read returns their bytes (they are
 *                  opened with direct_io, so the kernel does not stop at the size), as
 *                  /proc-like generated files do.
 *   -o writable    create, mkdir, unlink, rmdir, write and setattr (size, mode, owner,
 *                  times, O_TRUNC) reach SRC instead of failing with EROFS (rename, link, symlink
 *                  and mknod still do); files are created owned by the caller. Counted as
 *                  create write setattr unlink mkdir rmdir, which the stats line then shows
 *                  (before total=, and included in it); without -o writable they are absent.
 */
#define FUSE_USE_VERSION 312
#include <fuse_lowlevel.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#define STATS_NAME ".slowfs-stats"
#define INFO_NAME  ".slowfs-info"
#define GATE_NAME  ".slowfs-gate"
#define GWAIT_NAME ".slowfs-gate-wait"

enum op { LOOKUP, GETATTR, OPEN, READ, READDIR, READLINK, ACCESS, OPENDIR, STATFS, RELEASE,
          RELEASEDIR, NOPS_RO, CREATE = NOPS_RO, WRITE, SETATTR, UNLINK, MKDIR, RMDIR, NOPS };
static const char *op_names[NOPS] = { "lookup", "getattr", "open", "read", "readdir",
  "readlink", "access", "opendir", "statfs", "release", "releasedir",
  "create", "write", "setattr", "unlink", "mkdir", "rmdir" };
static unsigned long long counts[NOPS], enoent, bytes_read;   /* updated with __atomic */

static struct { unsigned delay_us; char *src; int srcfd; int gate, writable; char *zsuffix; } conf =
  { 1000, NULL, -1, 0, 0, NULL };

/* The gate (-o gate): counted operations wait here while it is closed. */
static struct {
  pthread_mutex_t m; pthread_cond_t c;
  int closed, armed;           /* armed: close when the quota of `op` is used up */
  enum op op; unsigned long quota;
  unsigned waiting;
} gate = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, LOOKUP, 0, 0 };

/* A node is one inode of the source tree the kernel knows (nlookup > 0), found by path
 * relative to SRC (static tree: the first path seen for a hard-linked inode is kept). */
struct node { struct node *next; dev_t dev; ino_t ino; unsigned long long nlookup; char *path; };
#define NBUCKETS 65536
static struct node *buckets[NBUCKETS];
static struct node root = { .path = "." }, ctl_stats, ctl_info, ctl_gate, ctl_gwait;   /* control files */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static struct node *N(fuse_ino_t ino) { return ino == FUSE_ROOT_ID ? &root : (struct node *)(uintptr_t)ino; }
static int is_ctl(struct node *n) { return n == &ctl_stats || n == &ctl_info || n == &ctl_gate || n == &ctl_gwait; }

/* The control file NAME names at the mount root, or NULL (gate files only with -o gate). */
static struct node *ctl_named(const char *name)
{
  if (!strcmp(name, STATS_NAME)) return &ctl_stats;
  if (!strcmp(name, INFO_NAME)) return &ctl_info;
  if (conf.gate && !strcmp(name, GATE_NAME)) return &ctl_gate;
  if (conf.gate && !strcmp(name, GWAIT_NAME)) return &ctl_gwait;
  return NULL;
}

static void gate_interrupted(fuse_req_t req, void *flag)
{
  (void)req;
  pthread_mutex_lock(&gate.m);
  *(int *)flag = 1;
  pthread_cond_broadcast(&gate.c);
  pthread_mutex_unlock(&gate.m);
}

/* 0, or EINTR: the kernel interrupted REQ (its caller got a signal) while it was held. */
static int gate_pass(fuse_req_t req, enum op o)
{
  int intr = 0, held = 0, ret = 0;
  pthread_mutex_lock(&gate.m);
  if (gate.armed && gate.op == o) {
    if (gate.quota) gate.quota--;
    else gate.closed = 1, gate.armed = 0;
  }
  if (gate.closed) {
    held = 1;
    pthread_mutex_unlock(&gate.m);               /* the callback takes gate.m */
    fuse_req_interrupt_func(req, gate_interrupted, &intr);
    pthread_mutex_lock(&gate.m);
    while (gate.closed && !intr) {
      gate.waiting++;
      pthread_cond_broadcast(&gate.c);           /* wakes openers of .slowfs-gate-wait */
      pthread_cond_wait(&gate.c, &gate.m);
      gate.waiting--;
    }
    ret = gate.closed && intr ? EINTR : 0;
  }
  pthread_mutex_unlock(&gate.m);
  if (held) fuse_req_interrupt_func(req, NULL, NULL);   /* no callback after we return */
  return ret;
}

/* A command written to .slowfs-gate: open | close | close-after OP K. 0 or an errno. */
static int gate_command(const char *buf, size_t size)
{
  char cmd[128], opname[32];
  unsigned long k;
  if (size >= sizeof cmd) return EINVAL;
  memcpy(cmd, buf, size);
  cmd[size] = 0;
  cmd[strcspn(cmd, "\n")] = 0;
  int err = 0;
  pthread_mutex_lock(&gate.m);
  if (!strcmp(cmd, "open")) gate.closed = 0, gate.armed = 0;
  else if (!strcmp(cmd, "close")) gate.closed = 1, gate.armed = 0;
  else if (sscanf(cmd, "close-after %31s %lu", opname, &k) == 2) {
    int o;
    for (o = 0; o < NOPS && strcmp(op_names[o], opname); o++) {}
    if (o == NOPS) err = EINVAL;
    else gate.op = (enum op)o, gate.quota = k, gate.armed = 1, gate.closed = 0;
  } else err = EINVAL;
  pthread_cond_broadcast(&gate.c);
  pthread_mutex_unlock(&gate.m);
  return err;
}

/* -o zero_size_suffix: does PATH name a file that reports size 0 but has bytes? */
static int zero_sized(const char *path, mode_t mode)
{
  size_t l, n;
  if (!conf.zsuffix || !S_ISREG(mode)) return 0;
  l = strlen(path), n = strlen(conf.zsuffix);
  return n && l >= n && !strcmp(path + l - n, conf.zsuffix);
}
static void fix_size(const char *path, struct stat *st)
{
  if (zero_sized(path, st->st_mode)) st->st_size = 0, st->st_blocks = 0;
}

/* Count one operation of REQ, hold it at the gate (-o gate), delay it. 0, or EINTR when
 * the kernel interrupted it at the gate: the handler then answers EINTR instead. */
static int count(fuse_req_t req, enum op o)
{
  __atomic_add_fetch(&counts[o], 1, __ATOMIC_RELAXED);
  if (conf.gate && gate_pass(req, o)) return EINTR;
  if (conf.delay_us) {
    struct timespec ts = { conf.delay_us / 1000000, (conf.delay_us % 1000000) * 1000L };
    while (nanosleep(&ts, &ts) && errno == EINTR) {}
  }
  return 0;
}
#define COUNT(o) do { if (count(req, o)) { fuse_reply_err(req, EINTR); return; } } while (0)

static char *child_path(struct node *p, const char *name)
{
  char *s;
  if (strcmp(p->path, ".") == 0) return strdup(name);
  return asprintf(&s, "%s/%s", p->path, name) < 0 ? NULL : s;
}

static int ctl_text(struct node *n, char *buf, size_t len)
{
  if (n == &ctl_info)
    return snprintf(buf, len, "pid=%ld delay_us=%u src=%s\n", (long)getpid(), conf.delay_us, conf.src);
  if (n == &ctl_gate || n == &ctl_gwait) {
    pthread_mutex_lock(&gate.m);
    int k = snprintf(buf, len, "state=%s waiting=%u\n", gate.closed ? "closed" : "open", gate.waiting);
    pthread_mutex_unlock(&gate.m);
    return k;
  }
  int k = 0, nops = conf.writable ? NOPS : NOPS_RO;
  unsigned long long total = 0;
  for (int o = 0; o < nops; o++) {
    unsigned long long v = __atomic_load_n(&counts[o], __ATOMIC_RELAXED);
    total += v;
    k += snprintf(buf + k, len - k, "%s=%llu ", op_names[o], v);
  }
  return k + snprintf(buf + k, len - k, "total=%llu enoent=%llu bytes=%llu\n", total,
                      __atomic_load_n(&enoent, __ATOMIC_RELAXED), __atomic_load_n(&bytes_read, __ATOMIC_RELAXED));
}

static void ctl_attr(struct node *n, struct stat *st)
{
  memset(st, 0, sizeof *st);
  st->st_ino = n == &ctl_stats ? 0x51057a75 : n == &ctl_info ? 0x51057a76 : n == &ctl_gate ? 0x51057a77 : 0x51057a78;
  st->st_mode = S_IFREG | (n == &ctl_stats || n == &ctl_gate ? 0666 : 0444);
  st->st_nlink = 1;
  st->st_size = 0;                               /* opened with direct_io: read until EOF */
}

/* Answer a look-up of PATH (relative to SRC; taken over) into E: 0 or an errno. */
static int make_entry(char *path, struct fuse_entry_param *e)
{
  if (fstatat(conf.srcfd, path, &e->attr, AT_SYMLINK_NOFOLLOW) < 0) {
    int err = errno;
    free(path);
    return err;
  }
  fix_size(path, &e->attr);
  pthread_mutex_lock(&lock);
  size_t b = (e->attr.st_ino ^ e->attr.st_dev * 31) % NBUCKETS;
  struct node *n = buckets[b];
  while (n && (n->ino != e->attr.st_ino || n->dev != e->attr.st_dev)) n = n->next;
  if (!n && (n = calloc(1, sizeof *n))) {
    n->dev = e->attr.st_dev, n->ino = e->attr.st_ino, n->path = path, path = NULL;
    n->next = buckets[b], buckets[b] = n;
  }
  if (n) n->nlookup++;
  pthread_mutex_unlock(&lock);
  free(path);
  if (!n) return ENOMEM;
  e->ino = (uintptr_t)n;
  return 0;
}

static void sf_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
  struct fuse_entry_param e = { 0 };             /* entry_timeout = attr_timeout = 0 */
  struct node *p = N(parent), *c;
  if (p == &root && (c = ctl_named(name))) {
    e.ino = (uintptr_t)c;
    ctl_attr(c, &e.attr);
    fuse_reply_entry(req, &e);
    return;
  }
  COUNT(LOOKUP);
  char *path = child_path(p, name);
  if (!path) { fuse_reply_err(req, ENOMEM); return; }
  int err = make_entry(path, &e);
  if (err == ENOENT) __atomic_add_fetch(&enoent, 1, __ATOMIC_RELAXED);
  if (err) fuse_reply_err(req, err);             /* an error, not ino 0: never cached */
  else fuse_reply_entry(req, &e);
}

static void forget_one(fuse_ino_t ino, uint64_t nlookup)
{
  struct node *n = N(ino);
  if (n == &root || is_ctl(n)) return;
  pthread_mutex_lock(&lock);
  if ((n->nlookup -= nlookup) == 0) {
    struct node **pp = &buckets[(n->ino ^ n->dev * 31) % NBUCKETS];
    while (*pp != n) pp = &(*pp)->next;
    *pp = n->next;
    free(n->path);
    free(n);
  }
  pthread_mutex_unlock(&lock);
}

static void sf_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
  forget_one(ino, nlookup);
  fuse_reply_none(req);
}

static void sf_forget_multi(fuse_req_t req, size_t cnt, struct fuse_forget_data *f)
{
  for (size_t i = 0; i < cnt; i++) forget_one(f[i].ino, f[i].nlookup);
  fuse_reply_none(req);
}

static void sf_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
  (void)fi;
  struct node *n = N(ino);
  struct stat st;
  if (is_ctl(n)) { ctl_attr(n, &st); fuse_reply_attr(req, &st, 0); return; }
  COUNT(GETATTR);
  if (fstatat(conf.srcfd, n->path, &st, AT_SYMLINK_NOFOLLOW) < 0) fuse_reply_err(req, errno);
  else fix_size(n->path, &st), fuse_reply_attr(req, &st, 0);
}

/* Control files: truncating the stats or gate file (: > F) is answered. Files of the
 * mirror: EROFS, or with -o writable the change is made to SRC. */
static void sf_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set, struct fuse_file_info *fi)
{
  struct node *n = N(ino);
  struct stat st;
  if (n == &ctl_stats || n == &ctl_gate) { ctl_attr(n, &st); fuse_reply_attr(req, &st, 0); return; }
  if (!conf.writable || is_ctl(n)) { fuse_reply_err(req, EROFS); return; }
  COUNT(SETATTR);
  int err = 0;
  if (to_set & FUSE_SET_ATTR_MODE && fchmodat(conf.srcfd, n->path, attr->st_mode & 07777, 0) < 0) err = errno;
  if (!err && to_set & (FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID) &&
      fchownat(conf.srcfd, n->path, to_set & FUSE_SET_ATTR_UID ? attr->st_uid : (uid_t)-1,
               to_set & FUSE_SET_ATTR_GID ? attr->st_gid : (gid_t)-1, AT_SYMLINK_NOFOLLOW) < 0) err = errno;
  if (!err && to_set & FUSE_SET_ATTR_SIZE) {
    int fd = fi ? (int)fi->fh : openat(conf.srcfd, n->path, O_WRONLY | O_CLOEXEC);
    if (fd < 0 || ftruncate(fd, attr->st_size) < 0) err = errno;
    if (!fi && fd >= 0) close(fd);
  }
  if (!err && to_set & (FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_MTIME)) {
    struct timespec t[2] = { { 0, UTIME_OMIT }, { 0, UTIME_OMIT } };
    if (to_set & FUSE_SET_ATTR_ATIME) t[0] = to_set & FUSE_SET_ATTR_ATIME_NOW ? (struct timespec){ 0, UTIME_NOW } : attr->st_atim;
    if (to_set & FUSE_SET_ATTR_MTIME) t[1] = to_set & FUSE_SET_ATTR_MTIME_NOW ? (struct timespec){ 0, UTIME_NOW } : attr->st_mtim;
    if (utimensat(conf.srcfd, n->path, t, AT_SYMLINK_NOFOLLOW) < 0) err = errno;
  }
  if (!err && fstatat(conf.srcfd, n->path, &st, AT_SYMLINK_NOFOLLOW) < 0) err = errno;
  if (err) fuse_reply_err(req, err);
  else fix_size(n->path, &st), fuse_reply_attr(req, &st, 0);
}

static void sf_readlink(fuse_req_t req, fuse_ino_t ino)
{
  char buf[PATH_MAX + 1];
  COUNT(READLINK);
  ssize_t r = readlinkat(conf.srcfd, N(ino)->path, buf, PATH_MAX);
  if (r < 0) { fuse_reply_err(req, errno); return; }
  buf[r] = 0;
  fuse_reply_readlink(req, buf);
}

static void sf_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
  struct node *n = N(ino);
  if (is_ctl(n)) {                               /* snapshot now; writers reset counters */
    if ((fi->flags & O_ACCMODE) != O_RDONLY) {
      if (n != &ctl_stats && n != &ctl_gate) { fuse_reply_err(req, EACCES); return; }
      if (n == &ctl_stats) {
        for (int o = 0; o < NOPS; o++) __atomic_store_n(&counts[o], 0, __ATOMIC_RELAXED);
        __atomic_store_n(&enoent, 0, __ATOMIC_RELAXED);
        __atomic_store_n(&bytes_read, 0, __ATOMIC_RELAXED);
      }
    }
    if (n == &ctl_gwait) {                       /* a test's blocking wait: no sleep needed */
      pthread_mutex_lock(&gate.m);
      while (!gate.waiting) pthread_cond_wait(&gate.c, &gate.m);
      pthread_mutex_unlock(&gate.m);
    }
    char *text = malloc(8192);
    if (!text) { fuse_reply_err(req, ENOMEM); return; }
    ctl_text(n, text, 8192);
    fi->fh = (uintptr_t)text;
    fi->direct_io = 1;
    fuse_reply_open(req, fi);
    return;
  }
  COUNT(OPEN);
  int acc = fi->flags & O_ACCMODE;
  if (acc != O_RDONLY && !conf.writable) { fuse_reply_err(req, EROFS); return; }
  int fd = openat(conf.srcfd, n->path, (acc == O_RDONLY ? O_RDONLY : acc | (fi->flags & (O_APPEND | O_TRUNC))) | O_CLOEXEC);
  if (fd < 0) { fuse_reply_err(req, errno); return; }
  fi->fh = fd;
  fi->keep_cache = 0;                            /* see the top comment */
  fi->direct_io = 0;
  if (conf.zsuffix) {                            /* size 0 says nothing: read to EOF */
    struct stat st;
    if (fstat(fd, &st) == 0 && zero_sized(n->path, st.st_mode)) fi->direct_io = 1;
  }
  fuse_reply_open(req, fi);
}

static void sf_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi)
{
  if (is_ctl(N(ino))) {
    const char *text = (const char *)(uintptr_t)fi->fh;
    size_t len = strlen(text);
    size_t k = (size_t)off >= len ? 0 : len - off < size ? len - off : size;
    fuse_reply_buf(req, text + (k ? off : 0), k);
    return;
  }
  COUNT(READ);
  char *buf = malloc(size ? size : 1);
  if (!buf) { fuse_reply_err(req, ENOMEM); return; }
  ssize_t r = pread((int)fi->fh, buf, size, off);
  if (r < 0) fuse_reply_err(req, errno);
  else {
    __atomic_add_fetch(&bytes_read, (unsigned long long)r, __ATOMIC_RELAXED);
    fuse_reply_buf(req, buf, r);
  }
  free(buf);
}

static void sf_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off, struct fuse_file_info *fi)
{
  struct node *n = N(ino);
  if (n == &ctl_stats) { fuse_reply_write(req, size); return; }   /* the reset happened at open */
  if (n == &ctl_gate) {
    int err = gate_command(buf, size);
    if (err) fuse_reply_err(req, err);
    else fuse_reply_write(req, size);
    return;
  }
  if (!conf.writable || is_ctl(n)) { fuse_reply_err(req, EROFS); return; }
  COUNT(WRITE);
  ssize_t r = pwrite((int)fi->fh, buf, size, off);
  if (r < 0) fuse_reply_err(req, errno);
  else fuse_reply_write(req, (size_t)r);
}

static void sf_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
  if (is_ctl(N(ino))) free((void *)(uintptr_t)fi->fh);
  else { (void)count(req, RELEASE); close((int)fi->fh); }   /* never interrupted */
  fuse_reply_err(req, 0);
}

struct dir { DIR *dp; struct dirent *entry; off_t offset; };

static void sf_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
  COUNT(OPENDIR);
  struct dir *d = calloc(1, sizeof *d);
  int fd = d ? openat(conf.srcfd, N(ino)->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
  if (fd < 0 || !(d->dp = fdopendir(fd))) {
    int err = d ? errno : ENOMEM;
    if (fd >= 0) close(fd);
    free(d);
    fuse_reply_err(req, err);
    return;
  }
  fi->fh = (uintptr_t)d;
  fi->keep_cache = 0, fi->cache_readdir = 0;
  fuse_reply_open(req, fi);
}

static void sf_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi)
{
  COUNT(READDIR);
  struct dir *d = (struct dir *)(uintptr_t)fi->fh;
  char *buf = malloc(size), *p = buf;
  size_t rem = size;
  if (!buf) { fuse_reply_err(req, ENOMEM); return; }
  if (off != d->offset) { seekdir(d->dp, off); d->entry = NULL; d->offset = off; }
  for (;;) {
    if (!d->entry) {
      errno = 0;
      if (!(d->entry = readdir(d->dp))) {
        if (errno && p == buf) { free(buf); fuse_reply_err(req, errno); return; }
        break;
      }
    }
    const char *name = d->entry->d_name;
    long next = telldir(d->dp);
    if (N(ino) != &root || !ctl_named(name)) {
      struct stat st = { .st_ino = d->entry->d_ino, .st_mode = (mode_t)d->entry->d_type << 12 };
      size_t len = fuse_add_direntry(req, p, rem, name, &st, next);
      if (len > rem) break;                      /* keep this entry for the next request */
      p += len, rem -= len;
    }
    d->entry = NULL;
    d->offset = next;
  }
  fuse_reply_buf(req, buf, p - buf);
  free(buf);
}

static void sf_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
  (void)ino;
  (void)count(req, RELEASEDIR);                  /* never interrupted */
  struct dir *d = (struct dir *)(uintptr_t)fi->fh;
  closedir(d->dp);
  free(d);
  fuse_reply_err(req, 0);
}

static void sf_statfs(fuse_req_t req, fuse_ino_t ino)
{
  (void)ino;
  struct statvfs sv;
  COUNT(STATFS);
  if (fstatvfs(conf.srcfd, &sv) < 0) fuse_reply_err(req, errno);
  else fuse_reply_statfs(req, &sv);
}

static void sf_access(fuse_req_t req, fuse_ino_t ino, int mask)
{
  struct node *n = N(ino);
  if (is_ctl(n)) { fuse_reply_err(req, (mask & W_OK) && n != &ctl_stats && n != &ctl_gate ? EACCES : 0); return; }
  COUNT(ACCESS);
  if ((mask & W_OK) && !conf.writable) { fuse_reply_err(req, EROFS); return; }
  fuse_reply_err(req, faccessat(conf.srcfd, n->path, mask, AT_SYMLINK_NOFOLLOW) < 0 ? errno : 0);
}

static void sf_init(void *userdata, struct fuse_conn_info *conn)
{
  (void)userdata;
  conn->want &= ~(FUSE_CAP_READDIRPLUS | FUSE_CAP_CACHE_SYMLINKS | FUSE_CAP_WRITEBACK_CACHE);
}

/* Changes to the mirror: read-only file system, unless -o writable (then create, mkdir,
 * unlink and rmdir reach SRC; rename, link, symlink and mknod stay EROFS). */
static void sf_erofs_entry(fuse_req_t req, fuse_ino_t p, const char *n, mode_t m, dev_t d)
{ (void)p, (void)n, (void)m, (void)d; fuse_reply_err(req, EROFS); }
static void sf_erofs_symlink(fuse_req_t req, const char *l, fuse_ino_t p, const char *n)
{ (void)l, (void)p, (void)n; fuse_reply_err(req, EROFS); }
static void sf_erofs_rename(fuse_req_t req, fuse_ino_t p, const char *n, fuse_ino_t np, const char *nn, unsigned f)
{ (void)p, (void)n, (void)np, (void)nn, (void)f; fuse_reply_err(req, EROFS); }
static void sf_erofs_link(fuse_req_t req, fuse_ino_t i, fuse_ino_t p, const char *n)
{ (void)i, (void)p, (void)n; fuse_reply_err(req, EROFS); }

static void sf_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
  struct fuse_entry_param e = { 0 };
  if (!conf.writable) { fuse_reply_err(req, EROFS); return; }
  COUNT(MKDIR);
  char *path = child_path(N(parent), name);
  if (!path) { fuse_reply_err(req, ENOMEM); return; }
  const struct fuse_ctx *ctx = fuse_req_ctx(req);
  if (mkdirat(conf.srcfd, path, mode) < 0) { int err = errno; free(path); fuse_reply_err(req, err); return; }
  if (fchownat(conf.srcfd, path, ctx->uid, ctx->gid, AT_SYMLINK_NOFOLLOW)) {}
  int err = make_entry(path, &e);
  if (err) fuse_reply_err(req, err);
  else fuse_reply_entry(req, &e);
}

static void remove_entry(fuse_req_t req, fuse_ino_t parent, const char *name, int flags)
{
  if (!conf.writable) { fuse_reply_err(req, EROFS); return; }
  COUNT(flags ? RMDIR : UNLINK);
  char *path = child_path(N(parent), name);
  if (!path) { fuse_reply_err(req, ENOMEM); return; }
  int err = unlinkat(conf.srcfd, path, flags) < 0 ? errno : 0;
  free(path);
  fuse_reply_err(req, err);
}
static void sf_unlink(fuse_req_t req, fuse_ino_t p, const char *n) { remove_entry(req, p, n, 0); }
static void sf_rmdir(fuse_req_t req, fuse_ino_t p, const char *n) { remove_entry(req, p, n, AT_REMOVEDIR); }

static void sf_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, struct fuse_file_info *fi)
{
  struct fuse_entry_param e = { 0 };
  if (!conf.writable) { fuse_reply_err(req, EROFS); return; }
  COUNT(CREATE);
  char *path = child_path(N(parent), name);
  if (!path) { fuse_reply_err(req, ENOMEM); return; }
  int fd = openat(conf.srcfd, path, (fi->flags & (O_ACCMODE | O_APPEND | O_EXCL | O_TRUNC)) | O_CREAT | O_CLOEXEC, mode);
  if (fd < 0) { int err = errno; free(path); fuse_reply_err(req, err); return; }
  const struct fuse_ctx *ctx = fuse_req_ctx(req);
  if (fchown(fd, ctx->uid, ctx->gid)) {}
  int err = make_entry(path, &e);
  if (err) { close(fd); fuse_reply_err(req, err); return; }
  fi->fh = fd;
  fi->keep_cache = 0;
  fi->direct_io = 0;
  if (fuse_reply_create(req, &e, fi) != 0) { close(fd); forget_one(e.ino, 1); }
}

static const struct fuse_lowlevel_ops ops = {
  .init = sf_init, .lookup = sf_lookup, .forget = sf_forget, .forget_multi = sf_forget_multi,
  .getattr = sf_getattr, .setattr = sf_setattr, .readlink = sf_readlink, .open = sf_open,
  .read = sf_read, .write = sf_write, .release = sf_release, .opendir = sf_opendir,
  .readdir = sf_readdir, .releasedir = sf_releasedir, .statfs = sf_statfs, .access = sf_access,
  .mknod = sf_erofs_entry, .mkdir = sf_mkdir, .unlink = sf_unlink,
  .rmdir = sf_rmdir, .symlink = sf_erofs_symlink, .rename = sf_erofs_rename,
  .link = sf_erofs_link, .create = sf_create,
};

static const struct fuse_opt sf_opts[] = {
  { "delay_us=%u", offsetof(__typeof__(conf), delay_us), 0 },
  { "--delay-us=%u", offsetof(__typeof__(conf), delay_us), 0 },
  { "gate", offsetof(__typeof__(conf), gate), 1 },
  { "writable", offsetof(__typeof__(conf), writable), 1 },
  { "zero_size_suffix=%s", offsetof(__typeof__(conf), zsuffix), 0 },
  FUSE_OPT_END
};

static int sf_opt_proc(void *data, const char *arg, int key, struct fuse_args *outargs)
{
  (void)data, (void)outargs;
  if (key == FUSE_OPT_KEY_NONOPT && !conf.src) { conf.src = strdup(arg); return 0; }
  return 1;                                      /* everything else goes to libfuse */
}

int main(int argc, char **argv)
{
  struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
  struct fuse_cmdline_opts o;
  struct fuse_session *se;
  int rc = 1;

  if (fuse_opt_parse(&args, &conf, sf_opts, sf_opt_proc) || fuse_parse_cmdline(&args, &o)) return 1;
  if (o.show_help || o.show_version || !conf.src || !o.mountpoint) {
    FILE *f = o.show_help || o.show_version ? stdout : stderr;
    fprintf(f, "usage: %s [-f] [-s] [-d] [-o delay_us=N,OPTS] [--delay-us=N] SRC MNT\n"
           "Read-only mirror of SRC at MNT; every operation waits N µs (default 1000) and is\n"
           "counted: cat MNT/" STATS_NAME " (write to it to reset), MNT/" INFO_NAME ".\n"
           "Test options (see slowfs.c): -o gate, -o zero_size_suffix=SUF, -o writable.\n", argv[0]);
    if (o.show_help) { printf("\nlibfuse options:\n"); fuse_cmdline_help(); fuse_lowlevel_help(); }
    if (o.show_version) fuse_lowlevel_version();
    return o.show_help || o.show_version ? 0 : 2;
  }
  char *real = realpath(conf.src, NULL);
  if (!real || (conf.srcfd = open(real, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0) {
    fprintf(stderr, "slowfs: %s: %s\n", conf.src, strerror(errno));
    return 1;
  }
  free(conf.src);
  conf.src = real;
  if (conf.writable) umask(0);                   /* the kernel has applied the caller's umask */
  fuse_opt_add_arg(&args, "-ofsname=slowfs,subtype=slowfs");
  if (!(se = fuse_session_new(&args, &ops, sizeof ops, NULL))) goto out;
  if (fuse_set_signal_handlers(se)) goto destroy;
  if (fuse_session_mount(se, o.mountpoint)) goto handlers;
  fuse_daemonize(o.foreground);
  if (o.singlethread) rc = fuse_session_loop(se);
  else {
    struct fuse_loop_config *cfg = fuse_loop_cfg_create();
    fuse_loop_cfg_set_clone_fd(cfg, o.clone_fd);
    if (o.max_idle_threads != UINT_MAX) fuse_loop_cfg_set_idle_threads(cfg, o.max_idle_threads);
    fuse_loop_cfg_set_max_threads(cfg, o.max_threads);
    rc = fuse_session_loop_mt(se, cfg);
    fuse_loop_cfg_destroy(cfg);
  }
  fuse_session_unmount(se);
handlers:
  fuse_remove_signal_handlers(se);
destroy:
  fuse_session_destroy(se);
out:
  free(o.mountpoint);
  fuse_opt_free_args(&args);
  return rc ? 1 : 0;
}
