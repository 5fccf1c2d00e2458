/*
 * table.h - the human-readable sink of `vigil trace`: one line per event in
 * execsnoop/killsnoop-style columns.  Formats only.
 */
#ifndef VIGIL_TABLE_H
#define VIGIL_TABLE_H

#include <stdio.h>
#include "events.h"

void table_header(FILE *out);
void table_write_event(FILE *out, const struct vigil_event_view *v);

#endif
