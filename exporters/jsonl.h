/*
 * jsonl.h - the JSON-lines sink: one object per event, the common fields of
 * DESIGN.md §5 plus the type's own.  It formats and writes; it decides
 * nothing.  Output is flushed by jsonl_flush(), which the event loop calls
 * after every batch it drains from the ring buffer.
 */
#ifndef VIGIL_JSONL_H
#define VIGIL_JSONL_H

#include <stdint.h>
#include <stdio.h>

#include "events.h"
#include "reload.h"

#include "jsonw.h"

struct vigil_output;

struct vigil_jsonl {
	FILE *out;		/* either a stdio stream ... */
	struct vigil_output *output;	/* ... or a rotating output file (exporters/output.h) */
	char node[256];
	uint64_t write_errors;	/* lines not written: formatting failures, and stdio errors */
	struct jsonw w;		/* reused for every line */
	uint64_t ts_sec;	/* second that ts_prefix formats */
	char ts_prefix[32];	/* "YYYY-MM-DDTHH:MM:SS" */
};

void jsonl_init(struct vigil_jsonl *j, FILE *out, const char *node);
/* Write through a vigil_output: one output_write() per line, so rotation never splits one. */
void jsonl_init_output(struct vigil_jsonl *j, struct vigil_output *o, const char *node);
void jsonl_free(struct vigil_jsonl *j);
int jsonl_write_event(struct vigil_jsonl *j, const struct vigil_event_view *v);
/* {"type":"events_lost", "lost": {"total":N, "<type>":N...}} with per-type totals. */
/* A policy_reload event: what a policy load attempt did. */
int jsonl_write_reload(struct vigil_jsonl *j, const struct vigil_reload_info *r);
int jsonl_write_lost(struct vigil_jsonl *j, uint64_t time_ns, const uint64_t lost[VIGIL_EV__MAX]);
int jsonl_flush(struct vigil_jsonl *j);

/* RFC 3339 UTC with nanoseconds; buf needs 40 bytes. */
char *format_rfc3339_ns(uint64_t realtime_ns, char *buf, size_t len);

#endif
