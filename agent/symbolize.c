/*
 * symbolize.c - addresses of a live (or lately live) process to names, with
 * elfutils' libdwfl (see symbolize.h).
 *
 * libdwfl reads /proc/PID/maps and makes one module per mapped file; its
 * stock find_elf callback opens each file by the path the process sees,
 * which is the wrong file for a process in a container.  Ours opens it
 * through /proc/PID/root first and falls back to the stock callback (which
 * also handles the in-memory vDSO).  Every module's ELF and DWARF are loaded
 * in symbolizer_open, while /proc/PID/root still exists: libdwfl would
 * otherwise load them lazily, on the first lookup, which may come after the
 * process has exited.
 *
 * It also answers the opposite question for uprobes: at which file offset
 * a named function starts (libelf only; nothing is loaded into memory but
 * the symbol tables).
 *
 * This file only answers questions; it never prints.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <elfutils/libdwfl.h>
#include <gelf.h>
#include <libelf.h>

#include "symbolize.h"

struct symbolizer {
	Dwfl *dwfl;
};

/*
 * The pid whose root find_elf opens files under.  libdwfl gives find_elf no
 * context of ours, and it only calls it from symbolizer_open (every module
 * is loaded there), so a file-scope variable set around that call is enough.
 * A symbolizer is not shared between threads.
 */
static pid_t root_pid;

static int find_elf(Dwfl_Module *mod, void **userdata, const char *name, Dwarf_Addr base,
		    char **file_name, Elf **elfp)
{
	char path[PATH_MAX];
	struct stat st;
	int fd;

	if (name[0] == '/' && root_pid > 0 &&
	    snprintf(path, sizeof(path), "/proc/%d/root%s", (int)root_pid, name) < (int)sizeof(path) &&
	    stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
		/* Only regular files: a mapped device could block on open. */
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd >= 0) {
			*file_name = strdup(path);
			if (!*file_name) {
				close(fd);
				return -1;
			}
			return fd;
		}
	}
	return dwfl_linux_proc_find_elf(mod, userdata, name, base, file_name, elfp);
}

static const Dwfl_Callbacks proc_callbacks = {
	.find_elf = find_elf,
	.find_debuginfo = dwfl_standard_find_debuginfo,
};

static int load_module(Dwfl_Module *mod, void **userdata, const char *name, Dwarf_Addr start,
		       void *arg)
{
	Dwarf_Addr bias;

	/* Failures are fine: such a module's frames just get no function. */
	if (dwfl_module_getelf(mod, &bias))
		(void)dwfl_module_getdwarf(mod, &bias);
	return DWARF_CB_OK;
}

int symbolizer_open(struct symbolizer **out, pid_t pid, char *why, size_t whylen)
{
	struct symbolizer *s;
	int err;

	*out = NULL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->dwfl = dwfl_begin(&proc_callbacks);
	if (!s->dwfl) {
		snprintf(why, whylen, "libdwfl: %s", dwfl_errmsg(-1));
		free(s);
		return -ENOMEM;
	}
	dwfl_report_begin(s->dwfl);
	err = dwfl_linux_proc_report(s->dwfl, pid);
	if (dwfl_report_end(s->dwfl, NULL, NULL) != 0 && !err)
		err = EINVAL;
	if (err) {
		/* A positive errno, or -1 for a libdwfl error. */
		snprintf(why, whylen, "reading the memory map of pid %d: %s", (int)pid,
			 err > 0 ? strerror(err) : dwfl_errmsg(-1));
		dwfl_end(s->dwfl);
		free(s);
		return err > 0 ? -err : -EINVAL;
	}
	root_pid = pid;
	dwfl_getmodules(s->dwfl, load_module, NULL, 0);
	root_pid = 0;
	*out = s;
	return 0;
}

/* ---- ELF files: functions to file offsets, for uprobes ---- */

/* The file offset of virtual address v: what a uprobe is attached by. */
static uint64_t vaddr_to_offset(Elf *e, uint64_t v)
{
	size_t i, phnum;
	GElf_Phdr ph;

	if (elf_getphdrnum(e, &phnum))
		return 0;
	for (i = 0; i < phnum; i++) {
		if (!gelf_getphdr(e, (int)i, &ph) || ph.p_type != PT_LOAD || !(ph.p_flags & PF_X))
			continue;
		if (v >= ph.p_vaddr && v < ph.p_vaddr + ph.p_filesz)
			return v - ph.p_vaddr + ph.p_offset;
	}
	return 0;
}

/*
 * .symtab (unstripped files, static binaries) and .dynsym (shared
 * libraries) are both searched.  Indirect functions (STT_GNU_IFUNC) are not
 * taken: their symbol is the resolver, not the code that runs.
 */
/* path as an ELF file: 0 with *e and *fd open (elf_end, close), or -errno. */
static int elf_open(const char *path, Elf **e, int *fd)
{
	*e = NULL;
	if (elf_version(EV_CURRENT) == EV_NONE)
		return -EINVAL;
	*fd = open(path, O_RDONLY | O_CLOEXEC);
	if (*fd < 0)
		return -errno;
	*e = elf_begin(*fd, ELF_C_READ_MMAP, NULL);
	if (!*e || elf_kind(*e) != ELF_K_ELF) {
		if (*e)
			elf_end(*e);
		close(*fd);
		return -ENOEXEC;
	}
	return 0;
}

int symbolize_func_offsets(const char *path, const char *const *names, size_t n, uint64_t *offs)
{
	Elf_Scn *scn = NULL;
	Elf *e;
	int fd, err;

	memset(offs, 0, n * sizeof(*offs));
	err = elf_open(path, &e, &fd);
	if (err)
		return err;
	while ((scn = elf_nextscn(e, scn))) {
		GElf_Shdr sh;
		Elf_Data *data;
		size_t i, cnt;

		if (!gelf_getshdr(scn, &sh) || (sh.sh_type != SHT_SYMTAB && sh.sh_type != SHT_DYNSYM) ||
		    !sh.sh_entsize)
			continue;
		data = elf_getdata(scn, NULL);
		if (!data)
			continue;
		cnt = sh.sh_size / sh.sh_entsize;
		for (i = 0; i < cnt; i++) {
			GElf_Sym sym;
			const char *name;
			size_t j;

			if (!gelf_getsym(data, (int)i, &sym) || GELF_ST_TYPE(sym.st_info) != STT_FUNC ||
			    sym.st_shndx == SHN_UNDEF || !sym.st_value)
				continue;
			name = elf_strptr(e, sh.sh_link, sym.st_name);
			if (!name)
				continue;
			for (j = 0; j < n; j++)
				if (!offs[j] && !strcmp(name, names[j]))
					offs[j] = vaddr_to_offset(e, sym.st_value);
		}
	}
	elf_end(e);
	close(fd);
	return 0;
}

int symbolize_entry_offset(const char *path, uint64_t *off)
{
	GElf_Ehdr eh;
	Elf *e;
	int fd, err;

	*off = 0;
	err = elf_open(path, &e, &fd);
	if (err)
		return err;
	if (!gelf_getehdr(e, &eh))
		err = -ENOEXEC;
	else if (!(*off = vaddr_to_offset(e, eh.e_entry)))
		err = -ENOENT;
	elf_end(e);
	close(fd);
	return err;
}

/* ---- addresses to names ---- */

void symbolizer_frame(struct symbolizer *s, uint64_t addr, bool return_address,
		      struct sym_frame *f)
{
	/* A return address may be one past the last byte of its function. */
	uint64_t look = return_address && addr ? addr - 1 : addr;
	Dwfl_Module *mod;
	const char *name, *src, *modname;
	Dwarf_Addr start, bias = 0;
	GElf_Off off;
	GElf_Sym sym;
	Dwfl_Line *line;
	int lineno = 0;

	memset(f, 0, sizeof(*f));
	f->address = addr;
	f->offset = addr;
	mod = s ? dwfl_addrmodule(s->dwfl, look) : NULL;
	if (!mod)
		return;
	modname = dwfl_module_info(mod, NULL, &start, NULL, NULL, NULL, NULL, NULL);
	snprintf(f->module, sizeof(f->module), "%s", modname ? basename(modname) : "");

	name = dwfl_module_addrinfo(mod, look, &off, &sym, NULL, NULL, NULL);
	if (name && name[0]) {
		snprintf(f->function, sizeof(f->function), "%s", name);
		f->offset = off + (addr - look);
	} else if (dwfl_module_getelf(mod, &bias)) {
		/* No symbol: the address in the file's own terms, for addr2line. */
		f->offset = addr - bias;
	} else {
		f->offset = addr - start;
	}

	line = dwfl_module_getsrc(mod, look);
	if (line) {
		src = dwfl_lineinfo(line, NULL, &lineno, NULL, NULL, NULL);
		if (src) {
			snprintf(f->file, sizeof(f->file), "%s", src);
			f->line = lineno;
		}
	}
}

void symbolizer_close(struct symbolizer *s)
{
	if (!s)
		return;
	dwfl_end(s->dwfl);
	free(s);
}
