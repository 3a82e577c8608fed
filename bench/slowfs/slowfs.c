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

enum op { LOOKUP, GETATTR, OPEN, READ, READDIR, READLINK, ACCESS, OPENDIR, STATFS, RELEASE,
          RELEASEDIR, NOPS };
static const char *op_names[NOPS] = { "lookup", "getattr", "open", "read", "readdir",
  "readlink", "access", "opendir", "statfs", "release", "releasedir" };
static unsigned long long counts[NOPS], enoent, bytes_read;   /* updated with __atomic */

static struct { unsigned delay_us; char *src; int srcfd; } conf = { 1000, NULL, -1 };

/* A node is one inode of the source tree the kernel knows (nlookup > 0), found by path
 * relative to SRC (static tree: the first path seen for a hard-linked inode is kept). */
struct node { struct node *next; dev_t dev; ino_t ino; unsigned long long nlookup; char *path; };
#define NBUCKETS 65536
static struct node *buckets[NBUCKETS];
static struct node root = { .path = "." }, ctl_stats, ctl_info;   /* ctl_*: control files */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static struct node *N(fuse_ino_t ino) { return ino == FUSE_ROOT_ID ? &root : (struct node *)(uintptr_t)ino; }
static int is_ctl(struct node *n) { return n == &ctl_stats || n == &ctl_info; }

static void count(enum op o)
{
  __atomic_add_fetch(&counts[o], 1, __ATOMIC_RELAXED);
  if (conf.delay_us) {
    struct timespec ts = { conf.delay_us / 1000000, (conf.delay_us % 1000000) * 1000L };
    while (nanosleep(&ts, &ts) && errno == EINTR) {}
  }
}

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
  int k = 0;
  unsigned long long total = 0;
  for (int o = 0; o < NOPS; o++) {
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
  st->st_ino = n == &ctl_stats ? 0x51057a75 : 0x51057a76;
  st->st_mode = S_IFREG | (n == &ctl_stats ? 0666 : 0444);
  st->st_nlink = 1;
  st->st_size = 0;                               /* opened with direct_io: read until EOF */
}

static void sf_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
  struct fuse_entry_param e = { 0 };             /* entry_timeout = attr_timeout = 0 */
  struct node *p = N(parent);
  if (p == &root && (!strcmp(name, STATS_NAME) || !strcmp(name, INFO_NAME))) {
    struct node *c = !strcmp(name, STATS_NAME) ? &ctl_stats : &ctl_info;
    e.ino = (uintptr_t)c;
    ctl_attr(c, &e.attr);
    fuse_reply_entry(req, &e);
    return;
  }
  count(LOOKUP);
  char *path = child_path(p, name);
  if (!path) { fuse_reply_err(req, ENOMEM); return; }
  if (fstatat(conf.srcfd, path, &e.attr, AT_SYMLINK_NOFOLLOW) < 0) {
    int err = errno;
    if (err == ENOENT) __atomic_add_fetch(&enoent, 1, __ATOMIC_RELAXED);
    free(path);
    fuse_reply_err(req, err);                    /* an error, not ino 0: never cached */
    return;
  }
  pthread_mutex_lock(&lock);
  size_t b = (e.attr.st_ino ^ e.attr.st_dev * 31) % NBUCKETS;
  struct node *n = buckets[b];
  while (n && (n->ino != e.attr.st_ino || n->dev != e.attr.st_dev)) n = n->next;
  if (!n && (n = calloc(1, sizeof *n))) {
    n->dev = e.attr.st_dev, n->ino = e.attr.st_ino, n->path = path, path = NULL;
    n->next = buckets[b], buckets[b] = n;
  }
  if (n) n->nlookup++;
  pthread_mutex_unlock(&lock);
  free(path);
  if (!n) { fuse_reply_err(req, ENOMEM); return; }
  e.ino = (uintptr_t)n;
  fuse_reply_entry(req, &e);
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
  count(GETATTR);
  if (fstatat(conf.srcfd, n->path, &st, AT_SYMLINK_NOFOLLOW) < 0) fuse_reply_err(req, errno);
  else fuse_reply_attr(req, &st, 0);
}

/* Only the stats file can be changed: truncating it (: > F) is answered, nothing else. */
static void sf_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set, struct fuse_file_info *fi)
{
  (void)attr, (void)to_set, (void)fi;
  struct stat st;
  if (N(ino) != &ctl_stats) { fuse_reply_err(req, EROFS); return; }
  ctl_attr(N(ino), &st);
  fuse_reply_attr(req, &st, 0);
}

static void sf_readlink(fuse_req_t req, fuse_ino_t ino)
{
  char buf[PATH_MAX + 1];
  count(READLINK);
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
      if (n != &ctl_stats) { fuse_reply_err(req, EACCES); return; }
      for (int o = 0; o < NOPS; o++) __atomic_store_n(&counts[o], 0, __ATOMIC_RELAXED);
      __atomic_store_n(&enoent, 0, __ATOMIC_RELAXED);
      __atomic_store_n(&bytes_read, 0, __ATOMIC_RELAXED);
    }
    char *text = malloc(8192);
    if (!text) { fuse_reply_err(req, ENOMEM); return; }
    ctl_text(n, text, 8192);
    fi->fh = (uintptr_t)text;
    fi->direct_io = 1;
    fuse_reply_open(req, fi);
    return;
  }
  count(OPEN);
  if ((fi->flags & O_ACCMODE) != O_RDONLY) { fuse_reply_err(req, EROFS); return; }
  int fd = openat(conf.srcfd, n->path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) { fuse_reply_err(req, errno); return; }
  fi->fh = fd;
  fi->keep_cache = 0;                            /* see the top comment */
  fi->direct_io = 0;
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
  count(READ);
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
  (void)buf, (void)off, (void)fi;
  if (N(ino) == &ctl_stats) fuse_reply_write(req, size);   /* the reset happened at open */
  else fuse_reply_err(req, EROFS);
}

static void sf_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
  if (is_ctl(N(ino))) free((void *)(uintptr_t)fi->fh);
  else { count(RELEASE); close((int)fi->fh); }
  fuse_reply_err(req, 0);
}

struct dir { DIR *dp; struct dirent *entry; off_t offset; };

static void sf_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
  count(OPENDIR);
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
  count(READDIR);
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
    if (N(ino) != &root || (strcmp(name, STATS_NAME) && strcmp(name, INFO_NAME))) {
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
  count(RELEASEDIR);
  struct dir *d = (struct dir *)(uintptr_t)fi->fh;
  closedir(d->dp);
  free(d);
  fuse_reply_err(req, 0);
}

static void sf_statfs(fuse_req_t req, fuse_ino_t ino)
{
  (void)ino;
  struct statvfs sv;
  count(STATFS);
  if (fstatvfs(conf.srcfd, &sv) < 0) fuse_reply_err(req, errno);
  else fuse_reply_statfs(req, &sv);
}

static void sf_access(fuse_req_t req, fuse_ino_t ino, int mask)
{
  struct node *n = N(ino);
  if (is_ctl(n)) { fuse_reply_err(req, (mask & W_OK) && n != &ctl_stats ? EACCES : 0); return; }
  count(ACCESS);
  if (mask & W_OK) { fuse_reply_err(req, EROFS); return; }
  fuse_reply_err(req, faccessat(conf.srcfd, n->path, mask, AT_SYMLINK_NOFOLLOW) < 0 ? errno : 0);
}

static void sf_init(void *userdata, struct fuse_conn_info *conn)
{
  (void)userdata;
  conn->want &= ~(FUSE_CAP_READDIRPLUS | FUSE_CAP_CACHE_SYMLINKS | FUSE_CAP_WRITEBACK_CACHE);
}

/* Every change to the mirror: read-only file system. */
static void sf_erofs_entry(fuse_req_t req, fuse_ino_t p, const char *n, mode_t m, dev_t d)
{ (void)p, (void)n, (void)m, (void)d; fuse_reply_err(req, EROFS); }
static void sf_erofs_mkdir(fuse_req_t req, fuse_ino_t p, const char *n, mode_t m)
{ (void)p, (void)n, (void)m; fuse_reply_err(req, EROFS); }
static void sf_erofs_unlink(fuse_req_t req, fuse_ino_t p, const char *n)
{ (void)p, (void)n; fuse_reply_err(req, EROFS); }
static void sf_erofs_symlink(fuse_req_t req, const char *l, fuse_ino_t p, const char *n)
{ (void)l, (void)p, (void)n; fuse_reply_err(req, EROFS); }
static void sf_erofs_rename(fuse_req_t req, fuse_ino_t p, const char *n, fuse_ino_t np, const char *nn, unsigned f)
{ (void)p, (void)n, (void)np, (void)nn, (void)f; fuse_reply_err(req, EROFS); }
static void sf_erofs_link(fuse_req_t req, fuse_ino_t i, fuse_ino_t p, const char *n)
{ (void)i, (void)p, (void)n; fuse_reply_err(req, EROFS); }
static void sf_erofs_create(fuse_req_t req, fuse_ino_t p, const char *n, mode_t m, struct fuse_file_info *fi)
{ (void)p, (void)n, (void)m, (void)fi; fuse_reply_err(req, EROFS); }

static const struct fuse_lowlevel_ops ops = {
  .init = sf_init, .lookup = sf_lookup, .forget = sf_forget, .forget_multi = sf_forget_multi,
  .getattr = sf_getattr, .setattr = sf_setattr, .readlink = sf_readlink, .open = sf_open,
  .read = sf_read, .write = sf_write, .release = sf_release, .opendir = sf_opendir,
  .readdir = sf_readdir, .releasedir = sf_releasedir, .statfs = sf_statfs, .access = sf_access,
  .mknod = sf_erofs_entry, .mkdir = sf_erofs_mkdir, .unlink = sf_erofs_unlink,
  .rmdir = sf_erofs_unlink, .symlink = sf_erofs_symlink, .rename = sf_erofs_rename,
  .link = sf_erofs_link, .create = sf_erofs_create,
};

static const struct fuse_opt sf_opts[] = {
  { "delay_us=%u", offsetof(__typeof__(conf), delay_us), 0 },
  { "--delay-us=%u", offsetof(__typeof__(conf), delay_us), 0 },
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
           "counted: cat MNT/" STATS_NAME " (write to it to reset), MNT/" INFO_NAME ".\n", argv[0]);
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
