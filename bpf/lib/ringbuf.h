/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * ringbuf.h - the event ring buffer and its loss counters.
 *
 * Every program that emits events reserves through vigil_reserve(), so a
 * failed reserve is always counted: per CPU (no atomics on the hot path),
 * indexed by event type.  The agent sums the CPUs when it reports losses.
 * The ring size here is only the default; the agent resizes the map between
 * open and load.
 */
#ifndef VIGIL_BPF_LIB_RINGBUF_H
#define VIGIL_BPF_LIB_RINGBUF_H

#define VIGIL_LOST_SLOTS 16

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 16 << 20);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, VIGIL_LOST_SLOTS);
	__type(key, u32);
	__type(value, u64);
} lost SEC(".maps");

/*
 * Wakeup batching: waking the agent for every event costs a context switch
 * per event.  Below this many unread bytes, submit without a wakeup; the
 * agent drains on a short timer anyway (VIGIL_DRAIN_MS in the agent), so an
 * event waits at most that long.  0 = wake for every event.
 */
const volatile u64 vigil_wakeup_bytes = 0;

static __always_inline void vigil_submit(void *e)
{
	u64 flags = 0;

	if (vigil_wakeup_bytes)
		flags = bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) >= vigil_wakeup_bytes ?
			BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP;
	bpf_ringbuf_submit(e, flags);
}

/* Wake the agent now: for records it must act on before what follows them. */
static __always_inline void vigil_submit_now(void *e)
{
	bpf_ringbuf_submit(e, BPF_RB_FORCE_WAKEUP);
}

static __always_inline void vigil_fill_hdr(struct vigil_event_hdr *h, u32 type)
{
	h->type = type;
	h->cpu = bpf_get_smp_processor_id();
	h->ts_ns = bpf_ktime_get_ns();
}

static __always_inline void *vigil_reserve(u32 size, u32 type)
{
	void *e = bpf_ringbuf_reserve(&events, size, 0);

	if (!e) {
		u64 *cnt = bpf_map_lookup_elem(&lost, &type);

		if (cnt)
			*cnt += 1;
	}
	return e;
}

#endif
