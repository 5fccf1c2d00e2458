// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * leaktrace.bpf.c - outstanding allocations of one process, by call stack
 * (`vigil leaks --trace PID`; agent side: agent/leaktrace.c).
 *
 * The agent attaches these programs as uprobes and uretprobes on the
 * allocator functions of the process's libc (or of its executable, when the
 * allocator is linked in), for that process only.  An entry probe remembers
 * what was asked, keyed by thread; the return probe stores address ->
 * {size, time, stack id}; free, munmap and realloc delete.  Nothing is sent
 * to user space while tracing: the agent reads the maps once, at the end.
 *
 * Frees delete at entry, before the allocator can hand the address to
 * another thread; allocations are recorded at return, when the address is
 * known.  Sampling (sample_every = N) is decided per allocation at entry, so
 * an unsampled call costs the uprobe traps and one random number; a free is
 * always looked up (an address that was never recorded is simply not
 * found).
 *
 * What must not happen here: printing, ring buffer traffic per call, or
 * losing anything silently - every allocation that is not tracked for a
 * reason other than sampling is counted (enum lt_counter).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "leaktrace.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define MAP_ANONYMOUS_ 0x20
#define MAP_FAILED_ ((u64)-1)
#define EEXIST 17

/* Set by the agent between open and load. */
const volatile u32 targ_tgid = 0;
const volatile u32 sample_every = 1;
/*
 * The allocator library's address range in the process ([lo, hi)).  mmap
 * calls made from inside it are malloc's own large chunks (or thread
 * stacks): the malloc that caused them is already recorded, so recording
 * the mmap too would count the same memory twice.  0/0 when the allocator
 * lives in the executable (static binaries): then nothing is skipped.
 */
const volatile u64 allocator_lo = 0;
const volatile u64 allocator_hi = 0;

struct lt_pending {
	u64 size;
	u64 memptr;	/* posix_memalign: where the result is written */
	u64 ts_ns;	/* entry time: tells a nested call from a lost return */
	u32 kind;	/* enum lt_kind */
	u32 _pad;
};

/*
 * A call still pending after this long never returned through its return
 * probe (longjmp out of it, or the thread died inside it); a younger one
 * means the new call is nested inside it (an allocator built on malloc, or
 * malloc's own mmap in a static binary), and only the outer call counts.
 */
#define LT_STALE_NS 1000000000ull

/* Thread (pid_tgid) -> the allocator call it is inside. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, LT_MAX_PENDING);
	__type(key, u64);
	__type(value, struct lt_pending);
} pending SEC(".maps");

/* Address -> outstanding sampled allocation.  Sizing: bpf/leaktrace.h. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, LT_MAX_ALLOCS);
	__type(key, u64);
	__type(value, struct lt_alloc);
} allocs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__uint(max_entries, LT_MAX_STACKS);
	__uint(key_size, sizeof(u32));
	__uint(value_size, LT_STACK_DEPTH * sizeof(u64));
} stacks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, LT_CTR__COUNT);
	__type(key, u32);
	__type(value, u64);
} counters SEC(".maps");

static __always_inline void count(u32 which)
{
	u64 *c = bpf_map_lookup_elem(&counters, &which);

	if (c)
		*c += 1;
}

/*
 * The trace window, opened by the agent once every probe is attached and
 * closed when the trace ends.  Detaching uprobes takes a grace period per
 * probe (about 0.1 s each), so without it calls made while the probes are
 * being removed would stretch the window unevenly.
 */
bool tracing_on = false;

static __always_inline bool ours(void)
{
	return tracing_on && (u32)(bpf_get_current_pid_tgid() >> 32) == targ_tgid;
}

/* Sampled: about one in sample_every allocations is tracked. */
static __always_inline bool sampled(void)
{
	return sample_every <= 1 || bpf_get_prandom_u32() % sample_every == 0;
}

static __always_inline int enter(u32 kind, u64 size, u64 memptr)
{
	u64 tid = bpf_get_current_pid_tgid();
	struct lt_pending p = { .size = size, .memptr = memptr, .kind = kind };
	struct lt_pending *old;
	long err;

	count(LT_CTR_CALLS);
	if (!sampled())
		return 0;
	p.ts_ns = bpf_ktime_get_ns();
	err = bpf_map_update_elem(&pending, &tid, &p, BPF_NOEXIST);
	if (err == -EEXIST) {
		old = bpf_map_lookup_elem(&pending, &tid);
		if (old && p.ts_ns - old->ts_ns < LT_STALE_NS) {
			count(LT_CTR_NESTED);
			return 0;
		}
		count(LT_CTR_MISSED_RETURN);
		err = bpf_map_update_elem(&pending, &tid, &p, BPF_ANY);
	}
	if (err)
		count(LT_CTR_PENDING_FULL);
	return 0;
}

/*
 * The return probe runs with the registers as they are on return to the
 * caller: the instruction pointer is the return address inside the caller,
 * and the frame pointer is the caller's again.  So a frame-pointer walk from
 * here starts in the caller, and the direct caller of malloc is the first
 * frame.  (Walking at the entry probe would lose it: there the return
 * address sits on top of the stack, not in the frame chain.)
 */
static __always_inline void record(void *ctx, u64 addr, u64 size)
{
	struct lt_alloc a = { .size = size, .ts_ns = bpf_ktime_get_ns() };

	a.stack_id = bpf_get_stackid(ctx, &stacks, BPF_F_USER_STACK);
	if (a.stack_id == -EEXIST)
		count(LT_CTR_STACK_COLLISION);
	else if (a.stack_id < 0)
		count(LT_CTR_STACK_LOST);
	if (bpf_map_update_elem(&allocs, &addr, &a, BPF_ANY))
		count(LT_CTR_MAP_FULL);
	else
		count(LT_CTR_RECORDED);
}

/* The pending call of this thread, if it is of `kind`; removed from the map. */
static __always_inline bool take(u32 kind, struct lt_pending *out)
{
	u64 tid = bpf_get_current_pid_tgid();
	struct lt_pending *p = bpf_map_lookup_elem(&pending, &tid);

	if (!p) {
		if (sample_every <= 1)
			count(LT_CTR_RETURN_UNSEEN);
		return false;
	}
	if (p->kind != kind)
		return false;
	*out = *p;
	bpf_map_delete_elem(&pending, &tid);
	return true;
}

static __always_inline int leave(void *ctx, u32 kind, u64 addr)
{
	struct lt_pending p;

	if (!take(kind, &p))
		return 0;
	if (!addr) {
		count(LT_CTR_FAILED);
		return 0;
	}
	record(ctx, addr, p.size);
	return 0;
}

static __always_inline void forget(u64 addr)
{
	if (addr && bpf_map_delete_elem(&allocs, &addr) == 0)
		count(LT_CTR_FREED);
}

SEC("uprobe")
int BPF_KPROBE(lt_malloc, u64 size)
{
	return ours() ? enter(LT_MALLOC, size, 0) : 0;
}

SEC("uretprobe")
int BPF_KRETPROBE(lt_malloc_ret, u64 ret)
{
	return ours() ? leave(ctx, LT_MALLOC, ret) : 0;
}

SEC("uprobe")
int BPF_KPROBE(lt_calloc, u64 nmemb, u64 size)
{
	return ours() ? enter(LT_CALLOC, nmemb * size, 0) : 0;
}

SEC("uretprobe")
int BPF_KRETPROBE(lt_calloc_ret, u64 ret)
{
	return ours() ? leave(ctx, LT_CALLOC, ret) : 0;
}

/* realloc is a free of the old block now and an allocation at return. */
SEC("uprobe")
int BPF_KPROBE(lt_realloc, u64 ptr, u64 size)
{
	if (!ours())
		return 0;
	forget(ptr);
	return enter(LT_REALLOC, size, 0);
}

SEC("uretprobe")
int BPF_KRETPROBE(lt_realloc_ret, u64 ret)
{
	struct lt_pending p;

	if (!ours() || !take(LT_REALLOC, &p))
		return 0;
	/* realloc(p, 0) may free and return NULL: not a failure. */
	if (!ret) {
		if (p.size)
			count(LT_CTR_FAILED);
		return 0;
	}
	record(ctx, ret, p.size);
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(lt_free, u64 ptr)
{
	if (ours())
		forget(ptr);
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(lt_posix_memalign, u64 memptr, u64 align, u64 size)
{
	return ours() ? enter(LT_POSIX_MEMALIGN, size, memptr) : 0;
}

SEC("uretprobe")
int BPF_KRETPROBE(lt_posix_memalign_ret, int ret)
{
	struct lt_pending p;
	u64 addr = 0;

	if (!ours() || !take(LT_POSIX_MEMALIGN, &p))
		return 0;
	if (ret != 0 || bpf_probe_read_user(&addr, sizeof(addr), (void *)p.memptr) || !addr) {
		count(LT_CTR_FAILED);
		return 0;
	}
	record(ctx, addr, p.size);
	return 0;
}

/* aligned_alloc(align, size) and memalign(align, size). */
SEC("uprobe")
int BPF_KPROBE(lt_aligned_alloc, u64 align, u64 size)
{
	return ours() ? enter(LT_ALIGNED_ALLOC, size, 0) : 0;
}

/* valloc(size) and pvalloc(size): one argument. */
SEC("uprobe")
int BPF_KPROBE(lt_valloc, u64 size)
{
	return ours() ? enter(LT_ALIGNED_ALLOC, size, 0) : 0;
}

SEC("uretprobe")
int BPF_KRETPROBE(lt_aligned_alloc_ret, u64 ret)
{
	return ours() ? leave(ctx, LT_ALIGNED_ALLOC, ret) : 0;
}

/* The return address of the function being entered (x86-64: top of stack). */
static __always_inline u64 caller_of(struct pt_regs *ctx)
{
	u64 ra = 0;

#if defined(__TARGET_ARCH_x86)
	bpf_probe_read_user(&ra, sizeof(ra), (void *)PT_REGS_SP(ctx));
#elif defined(__TARGET_ARCH_arm64)
	ra = PT_REGS_RET(ctx);	/* x30, the link register */
#endif
	return ra;
}

SEC("uprobe")
int BPF_KPROBE(lt_mmap, u64 addr, u64 len, u64 prot, u64 flags)
{
	u64 ra;

	if (!ours())
		return 0;
	if (!(flags & MAP_ANONYMOUS_)) {
		count(LT_CTR_MMAP_FILE);
		return 0;
	}
	ra = caller_of(ctx);
	if (allocator_hi && ra >= allocator_lo && ra < allocator_hi) {
		count(LT_CTR_MMAP_ALLOCATOR);
		return 0;
	}
	return enter(LT_MMAP, len, 0);
}

SEC("uretprobe")
int BPF_KRETPROBE(lt_mmap_ret, u64 ret)
{
	return ours() ? leave(ctx, LT_MMAP, ret == MAP_FAILED_ ? 0 : ret) : 0;
}

SEC("uprobe")
int BPF_KPROBE(lt_munmap, u64 addr)
{
	if (ours())
		forget(addr);
	return 0;
}
