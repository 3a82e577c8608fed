/* The stack walker's per-object cache: each ELF file a traced process maps is opened,
 * mmapped and parsed once per job, however many processes map it and however many calls
 * are walked (libunwind's _UPT re-opens and re-parses the file at every look-up). */
#include "bt_elf.h"
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define DW_EH_PE_omit 0xff

static struct bt_elf *cache;

static bool in_image(const struct bt_elf *e, uint64_t off, uint64_t n)
{
	return off <= e->len && n <= e->len - off;
}

static int cmp_sym(const void *a, const void *b)
{
	const struct bt_sym *x = a, *y = b;
	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	/* Among aliases (open, open64, __libc_open64) the one with a size comes first. */
	return (x->size == 0) - (y->size == 0);
}

static const Elf64_Shdr *section(const struct bt_elf *e, int i)
{
	const Elf64_Ehdr *eh = (const void *)e->img;
	if (eh->e_shoff == 0 || i < 0 || i >= eh->e_shnum || eh->e_shentsize != sizeof(Elf64_Shdr) ||
	    !in_image(e, eh->e_shoff + (uint64_t)i * sizeof(Elf64_Shdr), sizeof(Elf64_Shdr)))
		return NULL;
	return (const void *)(e->img + eh->e_shoff + (uint64_t)i * sizeof(Elf64_Shdr));
}

static const Elf64_Shdr *section_of_type(const struct bt_elf *e, uint32_t type)
{
	const Elf64_Ehdr *eh = (const void *)e->img;
	for (int i = 0; i < eh->e_shnum; i++) {
		const Elf64_Shdr *s = section(e, i);
		if (s && s->sh_type == type)
			return s;
	}
	return NULL;
}

static const Elf64_Shdr *section_named(const struct bt_elf *e, const char *name)
{
	const Elf64_Ehdr *eh = (const void *)e->img;
	const Elf64_Shdr *names = section(e, eh->e_shstrndx);
	if (!names || !in_image(e, names->sh_offset, names->sh_size))
		return NULL;
	for (int i = 0; i < eh->e_shnum; i++) {
		const Elf64_Shdr *s = section(e, i);
		if (s && s->sh_name < names->sh_size &&
		    strncmp((const char *)e->img + names->sh_offset + s->sh_name, name,
			    names->sh_size - s->sh_name) == 0)
			return s;
	}
	return NULL;
}

/* Function symbols of .symtab (static functions too), else of .dynsym (what a stripped
 * binary still exports: Debian's python3.11 keeps its whole C API there). */
static int load_symbols(struct bt_elf *e)
{
	const Elf64_Shdr *st = section_of_type(e, SHT_SYMTAB);
	e->from_symtab = st != NULL;
	if (!st)
		st = section_of_type(e, SHT_DYNSYM);
	if (!st || st->sh_entsize != sizeof(Elf64_Sym) || !in_image(e, st->sh_offset, st->sh_size))
		return 0;
	const Elf64_Shdr *str = section(e, st->sh_link);
	if (!str || !in_image(e, str->sh_offset, str->sh_size))
		return 0;
	size_t n = st->sh_size / sizeof(Elf64_Sym);
	const Elf64_Sym *sym = (const void *)(e->img + st->sh_offset);
	const char *strs = (const char *)e->img + str->sh_offset;
	e->syms = calloc(n ? n : 1, sizeof *e->syms);
	if (!e->syms)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		int type = ELF64_ST_TYPE(sym[i].st_info);
		if ((type != STT_FUNC && type != STT_GNU_IFUNC) || sym[i].st_shndx == SHN_UNDEF ||
		    sym[i].st_value == 0 || sym[i].st_name >= str->sh_size ||
		    !memchr(strs + sym[i].st_name, 0, str->sh_size - sym[i].st_name))
			continue;
		e->syms[e->nsyms++] = (struct bt_sym){ sym[i].st_value, sym[i].st_size,
						       strs + sym[i].st_name };
	}
	qsort(e->syms, e->nsyms, sizeof *e->syms, cmp_sym);
	return 0;
}

/* One DWARF-encoded pointer (only the encodings .eh_frame uses for pc_begin). */
static bool read_encoded(const uint8_t *p, const uint8_t *end, uint8_t enc, uint64_t vaddr,
			 uint64_t *val, size_t *len)
{
	uint64_t v;
	switch (enc & 0x0f) {
	case 0x00: case 0x04: case 0x0c:
		if (end - p < 8) return false;
		memcpy(&v, p, 8); *len = 8; break;
	case 0x03:
		if (end - p < 4) return false;
		{ uint32_t u; memcpy(&u, p, 4); v = u; } *len = 4; break;
	case 0x0b:
		if (end - p < 4) return false;
		{ int32_t s; memcpy(&s, p, 4); v = (uint64_t)(int64_t)s; } *len = 4; break;
	case 0x02:
		if (end - p < 2) return false;
		{ uint16_t u; memcpy(&u, p, 2); v = u; } *len = 2; break;
	case 0x0a:
		if (end - p < 2) return false;
		{ int16_t s; memcpy(&s, p, 2); v = (uint64_t)(int64_t)s; } *len = 2; break;
	default:
		return false;
	}
	switch (enc & 0x70) {
	case 0x00: break;
	case 0x10: v += vaddr; break;
	default: return false;
	}
	*val = v;
	return true;
}

static bool skip_leb(const uint8_t **p, const uint8_t *end)
{
	while (*p < end)
		if (!(*(*p)++ & 0x80))
			return true;
	return false;
}

static bool read_uleb(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
	unsigned shift = 0;
	*v = 0;
	while (*p < end && shift < 64) {
		uint8_t b = *(*p)++;
		*v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80))
			return true;
		shift += 7;
	}
	return false;
}

/* The FDE pointer encoding a CIE's augmentation 'R' gives (absptr when it names none). */
static int cie_fde_encoding(const uint8_t *cie, const uint8_t *end)
{
	const uint8_t *p = cie + 8;            /* past length and CIE id */
	if (p >= end)
		return -1;
	uint8_t version = *p++;
	const char *aug = (const char *)p;
	const uint8_t *nul = memchr(p, 0, end - p);
	if (!nul)
		return -1;
	p = nul + 1;
	if (!skip_leb(&p, end) || !skip_leb(&p, end))   /* code and data alignment */
		return -1;
	if (version == 1) p++; else if (!skip_leb(&p, end)) return -1;
	if (aug[0] != 'z')
		return 0;
	uint64_t auglen;
	if (!read_uleb(&p, end, &auglen))
		return -1;
	for (const char *a = aug + 1; *a && p < end; a++) {
		if (*a == 'R')
			return *p;
		if (*a == 'L') { p++; continue; }
		if (*a == 'P') {
			uint64_t dummy; size_t n;
			uint8_t enc = *p++;
			if (!read_encoded(p, end, enc & 0x7f, 0, &dummy, &n))
				return -1;
			p += n;
			continue;
		}
		if (*a != 'S' && *a != 'B')
			return -1;
	}
	return 0;
}

static int cmp_entry(const void *a, const void *b)
{
	const int32_t *x = a, *y = b;
	return (x[0] > y[0]) - (x[0] < y[0]);
}

/* A static binary has .eh_frame but no .eh_frame_hdr (gcc passes --eh-frame-hdr only to
 * dynamic links): build the sorted (pc, fde) table the header would hold. */
static int build_table(struct bt_elf *e)
{
	const Elf64_Shdr *s = section_named(e, ".eh_frame");
	if (!s || s->sh_type != SHT_PROGBITS || !in_image(e, s->sh_offset, s->sh_size))
		return 0;
	const uint8_t *base = e->img + s->sh_offset, *end = base + s->sh_size, *p = base;
	size_t cap = 256, n = 0;
	int32_t *t = malloc(cap * 2 * sizeof *t);
	if (!t)
		return -ENOMEM;
	while (end - p >= 4) {
		uint32_t len32;
		memcpy(&len32, p, 4);
		if (len32 == 0 || len32 == 0xffffffff || (uint64_t)(end - p - 4) < len32)
			break;                     /* terminator; 64-bit DWARF is not used on x86-64 */
		const uint8_t *rec = p, *rend = p + 4 + len32;
		uint32_t id;
		memcpy(&id, p + 4, 4);
		if (id != 0 && (uint64_t)(p + 4 - base) >= id) {
			const uint8_t *cie = p + 4 - id;
			int enc = cie_fde_encoding(cie, end);
			uint64_t pc, vaddr = s->sh_addr + (uint64_t)(p + 8 - base);
			size_t l;
			if (enc >= 0 && read_encoded(p + 8, rend, (uint8_t)enc, vaddr, &pc, &l) && pc) {
				if (n == cap) {
					int32_t *nt = realloc(t, (cap *= 2) * 2 * sizeof *t);
					if (!nt) { free(t); return -ENOMEM; }
					t = nt;
				}
				t[2 * n] = (int32_t)(pc - s->sh_addr);
				t[2 * n + 1] = (int32_t)(rec - base);
				n++;
			}
		}
		p = rend;
	}
	qsort(t, n, 2 * sizeof *t, cmp_entry);
	e->synth = t;
	e->nfde = n;
	e->table_base = s->sh_addr;
	e->table_vaddr = 0;
	return 0;
}

/* .eh_frame_hdr, through PT_GNU_EH_FRAME: version 1, and the binary-search table in the
 * one encoding libunwind searches (datarel sdata4). */
static void find_hdr_table(struct bt_elf *e)
{
	for (int i = 0; i < e->phnum; i++) {
		const Elf64_Phdr *ph = &e->ph[i];
		if (ph->p_type != PT_GNU_EH_FRAME || !in_image(e, ph->p_offset, 12))
			continue;
		const uint8_t *h = e->img + ph->p_offset;
		if (h[0] != 1 || h[3] != 0x3b || h[2] == DW_EH_PE_omit)
			return;
		size_t eplen = (h[1] & 0x0f) == 0x03 || (h[1] & 0x0f) == 0x0b ? 4 : 8;
		uint64_t count;
		size_t l;
		if (!read_encoded(h + 4 + eplen, e->img + e->len, h[2] & 0x0f, 0, &count, &l) ||
		    !in_image(e, ph->p_offset + 4 + eplen + l, count * 8))
			return;
		e->table_base = ph->p_vaddr;
		e->table_vaddr = ph->p_vaddr + 4 + eplen + l;
		e->nfde = count;
		return;
	}
}

static int parse(struct bt_elf *e)
{
	const Elf64_Ehdr *eh = (const void *)e->img;
	if (e->len < sizeof *eh || memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0 ||
	    eh->e_ident[EI_CLASS] != ELFCLASS64 || eh->e_phentsize != sizeof(Elf64_Phdr) ||
	    !in_image(e, eh->e_phoff, (uint64_t)eh->e_phnum * sizeof(Elf64_Phdr)))
		return -ENOEXEC;
	e->ph = (const void *)(e->img + eh->e_phoff);
	e->phnum = eh->e_phnum;
	e->lo = UINT64_MAX;
	for (int i = 0; i < e->phnum; i++) {
		if (e->ph[i].p_type != PT_LOAD)
			continue;
		if (e->ph[i].p_vaddr < e->lo)
			e->lo = e->ph[i].p_vaddr;
		if (e->ph[i].p_vaddr + e->ph[i].p_memsz > e->hi)
			e->hi = e->ph[i].p_vaddr + e->ph[i].p_memsz;
	}
	if (e->lo == UINT64_MAX)
		return -ENOEXEC;
	find_hdr_table(e);
	int r = e->nfde ? 0 : build_table(e);
	return r < 0 ? r : load_symbols(e);
}

void bt_elf_free(struct bt_elf *e)
{
	if (!e)
		return;
	if (e->img && e->mapped)
		munmap((void *)e->img, e->len);
	else
		free((void *)e->img);
	free(e->synth);
	free(e->syms);
	free(e);
}

int bt_elf_from_memory(uint8_t *buf, size_t len, struct bt_elf **out)
{
	struct bt_elf *e = calloc(1, sizeof *e);
	if (!e) {
		free(buf);
		return -ENOMEM;
	}
	e->img = buf;
	e->len = len;
	int r = parse(e);
	if (r < 0) {
		bt_elf_free(e);
		return r;
	}
	*out = e;
	return 0;
}

static int load(const char *path, ino_t ino, struct bt_elf *e)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	struct stat st;
	int r = fstat(fd, &st) < 0 ? -errno : st.st_ino != ino ? -ESTALE
		: !S_ISREG(st.st_mode) || st.st_size < (off_t)sizeof(Elf64_Ehdr) ? -ENOEXEC : 0;
	if (r == 0) {
		void *m = mmap(NULL, st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
		if (m == MAP_FAILED)
			r = -errno;
		else {
			e->img = m;
			e->len = st.st_size;
			e->mapped = true;
		}
	}
	close(fd);
	if (r == 0 && (r = parse(e)) < 0) {
		munmap((void *)e->img, e->len);
		free(e->synth);
		free(e->syms);
		e->img = NULL, e->synth = NULL, e->syms = NULL, e->nfde = e->nsyms = 0;
	}
	return r;
}

int bt_elf_get(const char *path, const char *alt, dev_t dev, ino_t ino, struct bt_elf **out)
{
	for (struct bt_elf *e = cache; e; e = e->next)
		if (e->dev == dev && e->ino == ino) {
			*out = e;
			return e->img ? 0 : -ENOEXEC;
		}
	/* A failed object stays in the list with img NULL, so it is not retried at every frame. */
	struct bt_elf *e = calloc(1, sizeof *e);
	if (!e)
		return -ENOMEM;
	int r = load(path, ino, e);
	if (alt && (r == -ENOENT || r == -ESTALE || r == -EACCES))
		r = load(alt, ino, e);
	if (r == -ENOMEM) {
		free(e);
		return r;
	}
	e->dev = dev;
	e->ino = ino;
	e->next = cache;
	cache = e;
	*out = e;
	return r;
}

void bt_elf_clear(void)
{
	while (cache) {
		struct bt_elf *e = cache;
		cache = e->next;
		bt_elf_free(e);
	}
}

uint64_t bt_elf_bias(const struct bt_elf *e, uint64_t start, uint64_t off)
{
	const Elf64_Phdr *first = NULL;
	for (int i = 0; i < e->phnum; i++) {
		const Elf64_Phdr *ph = &e->ph[i];
		if (ph->p_type != PT_LOAD)
			continue;
		if (!first)
			first = ph;
		if ((ph->p_offset & ~0xfffull) <= off && off < ph->p_offset + ph->p_filesz)
			return start - off - (ph->p_vaddr - ph->p_offset);
	}
	return first ? start - off - (first->p_vaddr - first->p_offset) : start;
}

bool bt_elf_read(const struct bt_elf *e, uint64_t vaddr, void *buf, size_t len)
{
	for (int i = 0; i < e->phnum; i++) {
		const Elf64_Phdr *ph = &e->ph[i];
		if (ph->p_type != PT_LOAD || (ph->p_flags & PF_W) || vaddr < ph->p_vaddr ||
		    vaddr - ph->p_vaddr > ph->p_filesz || len > ph->p_filesz - (vaddr - ph->p_vaddr))
			continue;
		uint64_t off = ph->p_offset + (vaddr - ph->p_vaddr);
		if (!in_image(e, off, len))
			return false;
		memcpy(buf, e->img + off, len);
		return true;
	}
	return false;
}

const struct bt_sym *bt_elf_symbol(const struct bt_elf *e, uint64_t vaddr)
{
	size_t lo = 0, hi = e->nsyms;
	while (lo < hi) {                   /* first symbol starting above vaddr */
		size_t mid = (lo + hi) / 2;
		if (e->syms[mid].start <= vaddr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return NULL;
	size_t i = lo - 1;
	while (i > 0 && e->syms[i - 1].start == e->syms[i].start)
		i--;                        /* the preferred alias sorts first */
	const struct bt_sym *s = &e->syms[i];
	/* A sized symbol must contain vaddr: in a .dynsym-only binary the nearest exported
	 * symbol below a static function is not its name. */
	if (s->size ? vaddr - s->start < s->size : e->from_symtab)
		return s;
	return NULL;
}
