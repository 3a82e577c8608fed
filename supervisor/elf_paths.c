/* Reading what an ELF object tells the dynamic loader to search (see elf_paths.h).
 * The file may be anything a job maps or execs — truncated, garbled, hostile — so every
 * offset and size it gives is checked against the file and against fixed bounds before
 * anything is read or allocated. Both classes and byte orders are read field by field
 * (offsetof on <elf.h>'s types, no casts of file bytes to structs, no alignment assumed).
 * The token rules follow the behaviour of glibc's elf/dl-load.c (read, not copied). */
#include "elf_paths.h"
#include <elf.h>
#include <errno.h>
#include <gnu/libc-version.h>
#include <limits.h>
#include <link.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <unistd.h>
#if defined(__x86_64__)
#include <cpuid.h>
#endif

struct elf_file {
	int fd;
	bool is64, be;
	bool skip_needed;       /* elf_read_search: DT_NEEDED's strings are not wanted */
	size_t string_budget;   /* bytes of strings still allowed (ELF_MAX_STRINGS in all) */
};

/* The values the loader substitutes; NULL where it has none (the entry is then dropped). */
struct tokens {
	const char *origin, *lib, *platform;
};

struct load_seg {
	uint64_t vaddr, offset, filesz;
};

/* A field of an ELF structure of the file's class, in the file's byte order. */
#define FOFF(f, T, m)   ((f)->is64 ? offsetof(Elf64_##T, m) : offsetof(Elf32_##T, m))
#define FSIZE(f, T, m)  ((f)->is64 ? sizeof(((Elf64_##T *)0)->m) : sizeof(((Elf32_##T *)0)->m))
#define TSIZE(f, T)     ((f)->is64 ? sizeof(Elf64_##T) : sizeof(Elf32_##T))
#define GET(f, p, T, m) rd((f), (p) + FOFF(f, T, m), FSIZE(f, T, m))

static uint64_t rd(const struct elf_file *f, const unsigned char *p, size_t n)
{
	uint64_t v = 0;
	for (size_t i = 0; i < n; i++)
		v = v << 8 | p[f->be ? i : n - 1 - i];
	return v;
}

/* pread until len bytes or end of file: the count read, or -errno. An offset no file can
 * have reads nothing (the caller sees a short read), rather than pread's EINVAL. */
static ssize_t pread_full(int fd, void *buf, size_t len, uint64_t off)
{
	size_t got = 0;
	if (off > (uint64_t)INT64_MAX - len)
		return 0;
	while (got < len) {
		ssize_t r = pread(fd, (char *)buf + got, len - got, (off_t)(off + got));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			break;
		got += (size_t)r;
	}
	return (ssize_t)got;
}

/* Exactly len bytes, or -EIO: the headers said they were there. */
static int pread_exact(int fd, void *buf, size_t len, uint64_t off)
{
	ssize_t r = pread_full(fd, buf, len, off);
	if (r < 0)
		return (int)r;
	return (size_t)r == len ? 0 : -EIO;
}

static const char *nonempty(const char *s)
{
	return s && *s ? s : NULL;
}

static bool ident_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
}

/* Length of the token name at s (just after a '$'): "NAME" not followed by an identifier
 * character ($LIBx is not $LIB), or "{NAME}"; 0 if s is not that token. */
static size_t token_len(const char *s, const char *name)
{
	size_t n = strlen(name);
	if (s[0] == '{')
		return strncmp(s + 1, name, n) == 0 && s[n + 1] == '}' ? n + 2 : 0;
	return strncmp(s, name, n) == 0 && !ident_char(s[n]) ? n : 0;
}

/* in with the tokens substituted, written to w if not NULL; its length. *drop: a known
 * token has no value here, and the loader would discard the whole entry. A '$' that starts
 * no known token is kept as it is, as the loader keeps it. */
static size_t substitute(const char *in, const struct tokens *t, char *w, bool *drop)
{
	size_t n = 0;
	*drop = false;
	for (const char *s = in; *s;) {
		if (*s != '$') {
			if (w)
				w[n] = *s;
			n++, s++;
			continue;
		}
		s++;
		const char *repl = NULL;
		size_t len;
		if ((len = token_len(s, "ORIGIN")))
			repl = t->origin;
		else if ((len = token_len(s, "PLATFORM")))
			repl = t->platform;
		else if ((len = token_len(s, "LIB")))
			repl = t->lib;
		if (len == 0) {
			if (w)
				w[n] = '$';
			n++;
			continue;
		}
		if (!repl) {
			*drop = true;
			return 0;
		}
		size_t rl = strlen(repl);
		if (w)
			memcpy(w + n, repl, rl);
		n += rl, s += len;
	}
	if (w)
		w[n] = '\0';
	return n;
}

/* in with tokens substituted, malloc'ed; NULL in *out if the loader would drop it. */
static int expand(const char *in, const struct tokens *t, char **out)
{
	bool drop;
	size_t len = substitute(in, t, NULL, &drop);
	*out = NULL;
	if (drop)
		return 0;
	if (!(*out = malloc(len + 1)))
		return -ENOMEM;
	substitute(in, t, *out, &drop);
	return 0;
}

static bool listed(char *const *v, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i], s) == 0)
			return true;
	return false;
}

/* One search-list element: expanded, trailing slashes removed as the loader removes them
 * (so "/a/" and "/a" are one directory), appended if absolute and new. A relative entry is
 * searched from the job's current directory at the time: nothing to learn from it here. */
static int add_expanded(const char *elem, const struct tokens *t, char ***v, size_t *n)
{
	char *s;
	int r = expand(elem, t, &s);
	if (r < 0 || !s)
		return r;
	size_t len = strlen(s);
	while (len > 1 && s[len - 1] == '/')
		s[--len] = '\0';
	if (s[0] != '/' || listed(*v, *n, s)) {
		free(s);
		return 0;
	}
	char **nv = realloc(*v, (*n + 1) * sizeof *nv);
	if (!nv) {
		free(s);
		return -ENOMEM;
	}
	nv[(*n)++] = s;
	*v = nv;
	return 0;
}

static int expand_list(const char *list, const char *seps, const struct tokens *t, char ***v, size_t *n)
{
	for (const char *p = list;;) {
		size_t len = strcspn(p, seps);
		if (len > 0) {   /* an empty element is the current directory: relative */
			char *elem = strndup(p, len);
			if (!elem)
				return -ENOMEM;
			int r = add_expanded(elem, t, v, n);
			free(elem);
			if (r < 0)
				return r;
		}
		if (p[len] == '\0')
			return 0;
		p += len + 1;
	}
}

int elf_expand_path_list(const char *list, const char *seps, const char *origin_dir,
			 const char *lib, const char *platform, char ***v, size_t *n)
{
	struct tokens t = { nonempty(origin_dir), nonempty(lib), nonempty(platform) };
	return expand_list(list, seps, &t, v, n);
}

static void free_list(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void elf_paths_free(struct elf_paths *p)
{
	free(p->interp);
	free(p->search_raw);
	free_list(p->search, p->nsearch);
	free_list(p->needed, p->nneeded);
	memset(p, 0, sizeof *p);
}

/* The NUL-terminated string at offset idx of a string table at file offset table_off,
 * table_len bytes long. Read in growing chunks (most names are short), never past the
 * table, ELF_MAX_STRING or the file's string budget. */
static int read_string(struct elf_file *f, uint64_t table_off, uint64_t table_len, uint64_t idx,
		       char **out)
{
	if (idx >= table_len)
		return -EIO;
	uint64_t avail = table_len - idx, off = table_off + idx;
	size_t cap = avail < ELF_MAX_STRING ? (size_t)avail : ELF_MAX_STRING;
	size_t len = 0, chunk = 256;
	char *buf = NULL;
	int r = -EIO;
	while (len < cap) {
		size_t want = chunk < cap - len ? chunk : cap - len;
		if (want > f->string_budget) {
			r = -EFBIG;
			break;
		}
		char *nb = realloc(buf, len + want + 1);
		if (!nb) {
			r = -ENOMEM;
			break;
		}
		buf = nb;
		ssize_t got = pread_full(f->fd, buf + len, want, off + len);
		if (got < 0) {
			r = (int)got;
			break;
		}
		f->string_budget -= want;
		if (memchr(buf + len, '\0', (size_t)got)) {
			*out = buf;
			return 0;
		}
		len += (size_t)got;
		if ((size_t)got < want)
			break;   /* end of file inside the table: truncated */
		chunk *= 2;
	}
	if (r == -EIO && len == ELF_MAX_STRING && avail > ELF_MAX_STRING)
		r = -EFBIG;   /* may be a real string, longer than we read */
	free(buf);
	return r;
}

/* PT_INTERP: a NUL-terminated path the kernel runs the object with. */
static int read_interp(struct elf_file *f, const unsigned char *ph, struct elf_paths *out)
{
	uint64_t off = GET(f, ph, Phdr, p_offset), size = GET(f, ph, Phdr, p_filesz);
	if (size < 2 || size > ELF_MAX_INTERP)
		return -EIO;   /* the kernel refuses these too */
	char *s = malloc(size + 1);
	if (!s)
		return -ENOMEM;
	int r = pread_exact(f->fd, s, size, off);
	s[size] = '\0';
	if (r == 0 && (s[0] == '\0' || !memchr(s, '\0', size)))
		r = -EIO;
	if (r < 0) {
		free(s);
		return r;
	}
	out->interp = s;
	return 0;
}

/* The file offset of virtual address addr, and how many bytes of the file follow it in
 * its PT_LOAD segment: the dynamic section names its string table by address. */
static int map_vaddr(const struct load_seg *loads, size_t nloads, uint64_t addr,
		     uint64_t *off, uint64_t *len)
{
	for (size_t i = 0; i < nloads; i++) {
		const struct load_seg *l = &loads[i];
		if (addr >= l->vaddr && addr - l->vaddr < l->filesz) {
			if (l->offset > UINT64_MAX - l->filesz)
				return -EIO;
			*off = l->offset + (addr - l->vaddr);
			*len = l->filesz - (addr - l->vaddr);
			return 0;
		}
	}
	return -EIO;
}

struct dyn_info {
	uint64_t strtab, strsz, rpath, runpath;
	bool has_strtab, has_rpath, has_runpath;
	uint64_t *needed;
	size_t nneeded;
};

/* Scan the dynamic section up to DT_NULL. Like the loader, the last DT_RPATH, DT_RUNPATH,
 * DT_STRTAB and DT_STRSZ win; every DT_NEEDED counts, in order. */
static int scan_dynamic(struct elf_file *f, const unsigned char *ph, struct dyn_info *di)
{
	uint64_t off = GET(f, ph, Phdr, p_offset), size = GET(f, ph, Phdr, p_filesz);
	size_t entsz = TSIZE(f, Dyn);
	bool capped = size > ELF_MAX_DYNAMIC;
	if (capped)
		size = ELF_MAX_DYNAMIC;
	size_t n = (size_t)size / entsz;
	if (n == 0)
		return 0;
	unsigned char *d = malloc(n * entsz);
	di->needed = malloc(n * sizeof *di->needed);
	if (!d || !di->needed) {
		free(d);
		return -ENOMEM;
	}
	int r = pread_exact(f->fd, d, n * entsz, off);
	bool ended = false;
	for (size_t i = 0; r == 0 && i < n && !ended; i++) {
		const unsigned char *e = d + i * entsz;
		uint64_t tag = GET(f, e, Dyn, d_tag), val = GET(f, e, Dyn, d_un.d_val);
		switch (tag) {
		case DT_NULL:
			ended = true;
			break;
		case DT_NEEDED:
			di->needed[di->nneeded++] = val;
			break;
		case DT_STRTAB:
			di->strtab = val, di->has_strtab = true;
			break;
		case DT_STRSZ:
			di->strsz = val;
			break;
		case DT_RPATH:
			di->rpath = val, di->has_rpath = true;
			break;
		case DT_RUNPATH:
			di->runpath = val, di->has_runpath = true;
			break;
		}
	}
	free(d);
	if (r == 0 && capped && !ended)
		r = -EFBIG;
	return r;
}

/* The directory $ORIGIN stands for: origin_path without its last component ("/" for
 * "/prog"), as the loader computes it. */
static char *origin_dir(const char *origin_path)
{
	if (!origin_path)
		return NULL;
	const char *slash = strrchr(origin_path, '/');
	size_t len = slash == origin_path ? 1 : (size_t)(slash - origin_path);
	return strndup(origin_path, len);
}

static int read_dynamic(struct elf_file *f, const unsigned char *ph, const struct load_seg *loads,
			size_t nloads, const struct tokens *t, struct elf_paths *out)
{
	struct dyn_info di = { .strsz = UINT64_MAX };
	char *s = NULL;
	int r = scan_dynamic(f, ph, &di);
	if (f->skip_needed)
		di.nneeded = 0;
	if (r < 0 || (di.nneeded == 0 && !di.has_rpath && !di.has_runpath))
		goto done;
	uint64_t table_off, table_len;
	r = di.has_strtab ? map_vaddr(loads, nloads, di.strtab, &table_off, &table_len) : -EIO;
	if (r < 0)
		goto done;
	if (di.strsz < table_len)
		table_len = di.strsz;
	if (di.has_runpath || di.has_rpath) {
		/* DT_RPATH is ignored when DT_RUNPATH is present. */
		out->from_rpath = !di.has_runpath;
		r = read_string(f, table_off, table_len, di.has_runpath ? di.runpath : di.rpath, &s);
		if (r == 0)
			r = expand_list(s, ":", t, &out->search, &out->nsearch);
		if (r < 0)
			goto done;
		out->search_raw = s;
		s = NULL;
	}
	if (di.nneeded && !(out->needed = calloc(di.nneeded, sizeof *out->needed))) {
		r = -ENOMEM;
		goto done;
	}
	for (size_t i = 0; i < di.nneeded; i++) {
		free(s);
		s = NULL;
		char *x;
		if ((r = read_string(f, table_off, table_len, di.needed[i], &s)) < 0 ||
		    (r = expand(s, t, &x)) < 0)
			goto done;
		/* A name whose token has no value fails to load; keep it as written. */
		out->needed[out->nneeded++] = x ? x : s;
		if (!x)
			s = NULL;
	}
done:
	free(s);
	free(di.needed);
	return r;
}

static int read_object(struct elf_file *f, const unsigned char *eh, const struct tokens *t,
		       struct elf_paths *out)
{
	uint64_t phoff = GET(f, eh, Ehdr, e_phoff);
	size_t phentsize = GET(f, eh, Ehdr, e_phentsize), phnum = GET(f, eh, Ehdr, e_phnum);
	if (phnum == 0)
		return 0;   /* a relocatable object: nothing for the loader */
	if (phentsize != TSIZE(f, Phdr))
		return -EIO;
	if (phnum > ELF_MAX_PHNUM)
		return -EFBIG;   /* includes PN_XNUM (count in section header 0) */
	unsigned char *ph = malloc(phnum * phentsize);
	struct load_seg *loads = calloc(phnum, sizeof *loads);
	size_t nloads = 0;
	const unsigned char *interp = NULL, *dyn = NULL;
	int r = ph && loads ? pread_exact(f->fd, ph, phnum * phentsize, phoff) : -ENOMEM;
	for (size_t i = 0; r == 0 && i < phnum; i++) {
		const unsigned char *p = ph + i * phentsize;
		switch (GET(f, p, Phdr, p_type)) {
		case PT_LOAD:
			loads[nloads++] = (struct load_seg){ GET(f, p, Phdr, p_vaddr),
							     GET(f, p, Phdr, p_offset),
							     GET(f, p, Phdr, p_filesz) };
			break;
		case PT_INTERP:
			interp = interp ? interp : p;
			break;
		case PT_DYNAMIC:
			dyn = dyn ? dyn : p;
			break;
		}
	}
	if (r == 0 && interp)
		r = read_interp(f, interp, out);
	if (r == 0 && dyn) {
		out->dynamic = true;
		r = read_dynamic(f, dyn, loads, nloads, t, out);
	}
	free(ph);
	free(loads);
	return r;
}

static int read_paths(int fd, const char *origin_path, const char *lib, const char *platform, bool skip_needed,
		      struct elf_paths *out)
{
	memset(out, 0, sizeof *out);
	if (origin_path && origin_path[0] != '/')
		return -EINVAL;
	unsigned char eh[sizeof(Elf64_Ehdr)];
	ssize_t got = pread_full(fd, eh, sizeof eh, 0);
	if (got < 0)
		return (int)got;
	if (got < SELFMAG || memcmp(eh, ELFMAG, SELFMAG) != 0)
		return 0;
	struct elf_file f = { .fd = fd, .string_budget = ELF_MAX_STRINGS, .skip_needed = skip_needed };
	int r = -EIO;
	if ((eh[EI_CLASS] == ELFCLASS32 || eh[EI_CLASS] == ELFCLASS64) &&
	    (eh[EI_DATA] == ELFDATA2LSB || eh[EI_DATA] == ELFDATA2MSB)) {
		f.is64 = eh[EI_CLASS] == ELFCLASS64;
		f.be = eh[EI_DATA] == ELFDATA2MSB;
		if ((size_t)got >= TSIZE(&f, Ehdr)) {
			char *odir = origin_dir(origin_path);
			struct tokens t = { odir, nonempty(lib), nonempty(platform) };
			r = origin_path && !odir ? -ENOMEM : read_object(&f, eh, &t, out);
			free(odir);
		}
	}
	if (r < 0)
		elf_paths_free(out);
	out->is_elf = true;
	return r;
}

int elf_read_paths(int fd, const char *origin_path, const char *lib, const char *platform,
		   struct elf_paths *out)
{
	return read_paths(fd, origin_path, lib, platform, false, out);
}

int elf_read_search(int fd, const char *origin_path, const char *lib, const char *platform,
		    struct elf_paths *out)
{
	return read_paths(fd, origin_path, lib, platform, true, out);
}

int elf_search_for_origin(const struct elf_paths *e, const char *origin_path, const char *lib,
			  const char *platform, struct elf_paths *out)
{
	memset(out, 0, sizeof *out);
	out->from_rpath = e->from_rpath;
	if (!e->search_raw)
		return 0;
	char *odir = origin_dir(origin_path);
	if (origin_path && !odir)
		return -ENOMEM;
	struct tokens t = { odir, nonempty(lib), nonempty(platform) };
	int r = expand_list(e->search_raw, ":", &t, &out->search, &out->nsearch);
	free(odir);
	if (r < 0)
		elf_paths_free(out);
	return r;
}

struct libc_dir {
	char dir[PATH_MAX];
	bool found;
};

static int find_libc(struct dl_phdr_info *info, size_t size, void *data)
{
	(void)size;
	struct libc_dir *c = data;
	const char *name = info->dlpi_name;
	const char *base = name ? strrchr(name, '/') : NULL;
	if (!base || name[0] != '/' || strncmp(base + 1, "libc.so.", 8) != 0)
		return 0;
	size_t len = (size_t)(base - name);
	if (len == 0 || len >= sizeof c->dir)
		return 0;
	memcpy(c->dir, name, len);
	c->dir[len] = '\0';
	c->found = true;
	return 1;
}

/* $LIB from libc's directory: from its last component starting with "lib" to the end —
 * "lib/x86_64-linux-gnu" (Debian multiarch, whose loader is built with that value), "lib64",
 * "lib" (a Nix store path ends .../glibc-2.38/lib) — else its last component, which is what
 * an unpatched glibc build uses (the name of its slibdir). */
static int loader_lib(char *lib, size_t size)
{
	struct libc_dir c = { .found = false };
	dl_iterate_phdr(find_libc, &c);
	if (!c.found)
		return -ENOENT;
	const char *from = strrchr(c.dir, '/') + 1;
	for (const char *p = c.dir; (p = strchr(p, '/')); p++)
		if (strncmp(p + 1, "lib", 3) == 0)
			from = p + 1;
	if ((size_t)snprintf(lib, size, "%s", from) >= size)
		return -ERANGE;
	return 0;
}

#if defined(__x86_64__)
static uint64_t xgetbv0(void)
{
	uint32_t lo, hi;
	__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	return (uint64_t)hi << 32 | lo;
}

/* glibc's x86-64 loader (since 2.26, sysdeps/x86/cpu-features.c) replaces AT_PLATFORM on
 * Intel CPUs: "xeon_phi" with AVX512CD+ER+PF usable, else "haswell" with AVX2, FMA, BMI1,
 * BMI2, LZCNT, MOVBE and POPCNT usable. "Usable" needs the OS to save the vector state
 * (XCR0), as glibc checks. GLIBC_TUNABLES=glibc.cpu.hwcaps masks in the job's environment
 * are not seen here. */
static const char *x86_platform(void)
{
	unsigned a, b, c, d;
	if (!__get_cpuid(0, &a, &b, &c, &d))
		return NULL;
	unsigned max = a;
	if (!(b == 0x756e6547 && d == 0x49656e69 && c == 0x6c65746e))   /* "GenuineIntel" */
		return NULL;
	__cpuid(1, a, b, c, d);
	unsigned ecx1 = c;
	bool osxsave = ecx1 & bit_OSXSAVE;
	uint64_t xcr0 = osxsave ? xgetbv0() : 0;
	bool avx = (ecx1 & bit_AVX) && (xcr0 & 6) == 6;
	bool zmm = avx && (xcr0 & 0xe0) == 0xe0;
	unsigned ebx7 = 0, ecx81 = 0;
	if (max >= 7) {
		__cpuid_count(7, 0, a, b, c, d);
		ebx7 = b;
	}
	if (__get_cpuid(0x80000001, &a, &b, &c, &d))
		ecx81 = c;
	bool avx512f = zmm && (ebx7 & bit_AVX512F);
	if (avx512f && (ebx7 & bit_AVX512CD) && (ebx7 & bit_AVX512ER) && (ebx7 & bit_AVX512PF))
		return "xeon_phi";
	if (avx && (ebx7 & bit_AVX2) && (ecx1 & bit_FMA) && (ebx7 & bit_BMI) && (ebx7 & bit_BMI2) &&
	    (ecx81 & bit_ABM) /* LZCNT */ && (ecx1 & bit_MOVBE) && (ecx1 & bit_POPCNT))
		return "haswell";
	return NULL;
}
#endif

static bool glibc_at_least(int major, int minor)
{
	int ma = 0, mi = 0;
	if (sscanf(gnu_get_libc_version(), "%d.%d", &ma, &mi) != 2)
		return false;
	return ma > major || (ma == major && mi >= minor);
}

static int loader_platform(char *platform, size_t size)
{
	const char *p = (const char *)getauxval(AT_PLATFORM);
#if defined(__x86_64__)
	const char *x = glibc_at_least(2, 26) ? x86_platform() : NULL;
	if (x)
		p = x;
#endif
	if (!p || !*p)
		return -ENOENT;
	if ((size_t)snprintf(platform, size, "%s", p) >= size)
		return -ERANGE;
	return 0;
}

int elf_loader_tokens(char *lib, size_t libsize, char *platform, size_t platsize)
{
	if (libsize == 0 || platsize == 0)
		return -ERANGE;
	int rl = loader_lib(lib, libsize), rp = loader_platform(platform, platsize);
	if (rl < 0)
		lib[0] = '\0';
	if (rp < 0)
		platform[0] = '\0';
	return rl == -ERANGE || rp == -ERANGE ? -ERANGE : rl < 0 ? rl : rp;
}
