/*
 * symbolize.h - user-space addresses of one process -> function, file:line
 * and module, with elfutils' libdwfl.
 *
 * A symbolizer is opened while the process is alive: it reads the process's
 * memory map then and loads every mapped file's ELF (and debug info, where
 * any is found), through /proc/PID/root so a containerized process's own
 * files are read.  After that it needs nothing from the process, so the
 * stacks of a process that has exited can still be symbolized.
 *
 * Also the reverse for uprobes: a function's name to its file offset.
 */
#ifndef VIGIL_SYMBOLIZE_H
#define VIGIL_SYMBOLIZE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct symbolizer;

struct sym_frame {
	uint64_t address;	/* as given */
	char function[256];	/* "" when no symbol covers the address (stripped) */
	/*
	 * With a function: address - the function's start.  Without one: the
	 * address in the module's own ELF address space (what addr2line -e
	 * MODULE takes), or the raw address if no module maps it.
	 */
	uint64_t offset;
	char file[512];		/* source file (as the debug info names it), "" if unknown */
	int line;		/* 0 if unknown */
	char module[256];	/* basename of the mapped file, "" if none, "[vdso]" etc. */
};

/*
 * Open a symbolizer for live process pid.  0 or -errno; on failure *why
 * says what failed.  Modules whose ELF cannot be read are still reported
 * (their frames get a module name but no function).
 */
int symbolizer_open(struct symbolizer **out, pid_t pid, char *why, size_t whylen);

/*
 * Describe addr.  return_address: addr is a return address (every frame of
 * a stack walk is), so the call instruction before it is looked up: that is
 * the line the frame is in, and a call at the very end of a function still
 * resolves to that function.
 */
void symbolizer_frame(struct symbolizer *s, uint64_t addr, bool return_address,
		      struct sym_frame *f);

void symbolizer_close(struct symbolizer *s);

/*
 * File offsets (what a uprobe is attached by) of the named functions in ELF
 * file path: offs[i] = 0 when names[i] is not defined there.  0 or -errno
 * (-ENOEXEC: not an ELF file).
 */
int symbolize_func_offsets(const char *path, const char *const *names, size_t n, uint64_t *offs);

/* File offset of the ELF entry point of path.  0 or -errno. */
int symbolize_entry_offset(const char *path, uint64_t *off);

#endif
