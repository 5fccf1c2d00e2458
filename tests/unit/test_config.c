/*
 * test_config.c - agent/config.c: defaults, every key, every error kind with
 * its exact position, files, and hostile input.  Positions are 1-based, as
 * the user sees them.  The built-in default YAML is checked against
 * config_defaults() and against the copy docs/CONFIG.md shows (unit tests
 * run from the repository root, or VIGIL_SRCDIR names it).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "trace.h"

#define OBS_SIGNALS (VIGIL_OBS(VIGIL_EV_SIGNAL_GENERATE) | VIGIL_OBS(VIGIL_EV_SIGNAL_DELIVER))

static struct vigil_config cfg;
static struct vigil_config_error err;

static int load(const char *text)
{
	config_defaults(&cfg);
	memset(&err, 0, sizeof(err));
	return config_load_string(&cfg, text, strlen(text), "test.yaml", &err);
}

static void expect_ok(const char *text)
{
	int ret = load(text);

	cr_assert_eq(ret, 0, "load failed (%d): %d:%d: %s\ninput:\n%s", ret, err.line,
		     err.column, err.msg, text);
}

static void expect_error(const char *text, int line, int column, const char *needle)
{
	int ret = load(text);

	cr_assert_eq(ret, -EINVAL, "expected -EINVAL, got %d\ninput:\n%s", ret, text);
	cr_assert_str_eq(err.file, "test.yaml");
	cr_assert(strstr(err.msg, needle), "message \"%s\" lacks \"%s\"", err.msg, needle);
	cr_assert_eq(err.line, line, "line %d, want %d (%s)", err.line, line, err.msg);
	cr_assert_eq(err.column, column, "column %d, want %d (%s)", err.column, column, err.msg);
}

static char *write_temp(const char *data, size_t len)
{
	char *path = strdup("/tmp/vigil-test-config-XXXXXX");
	int fd;

	cr_assert_not_null(path);
	fd = mkstemp(path);
	cr_assert_geq(fd, 0, "mkstemp: %s", strerror(errno));
	cr_assert_eq(write(fd, data, len), (ssize_t)len);
	close(fd);
	return path;
}

static void remove_temp(char *path)
{
	unlink(path);
	free(path);
}

/* xorshift64: fixed seeds keep the "random" tests reproducible. */
static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static const char full_config[] =
	"# a node's config\n"
	"node_name: worker-7\n"
	"output: /var/log/vigil/events.jsonl\n"
	"observe:\n"
	"  fork: false\n"
	"  exec: yes\n"
	"  exit: off\n"
	"  signal: true\n"
	"ring_buffer_bytes: 64MiB\n"
	"cgroup_hierarchy: memory\n"
	"loss_report_interval_ms: 250\n";

/* ---- defaults and valid input ------------------------------------------ */

Test(config, defaults_observe_everything_into_a_16MiB_ring_on_stdout)
{
	config_defaults(&cfg);
	cr_assert_str_eq(cfg.node_name, "");
	cr_assert_str_eq(cfg.output, "-");
	cr_assert_eq(cfg.observe, VIGIL_OBS_ALL);
	cr_assert_eq(cfg.ring_buffer_bytes, 16u << 20);
	cr_assert_str_eq(cfg.cgroup_hierarchy, "auto");
	cr_assert_eq(cfg.loss_report_interval_ms, 1000);
}

Test(config, built_in_yaml_sets_every_key_to_the_same_values_as_config_defaults)
{
	struct vigil_config want, got;
	int ret;

	config_defaults(&want);
	/* Start from the opposite of every default, so a key missing from the text shows. */
	memset(&got, 0, sizeof(got));
	strcpy(got.node_name, "not-the-default");
	strcpy(got.output, "/not/the/default");
	got.observe = 0;
	got.ring_buffer_bytes = 4096;
	strcpy(got.cgroup_hierarchy, "v2");
	got.loss_report_interval_ms = 100;
	got.oom_interval_ms = 10;
	got.oom_rescan_ms = 100;
	got.leak_enabled = false;
	got.leak_interval_ms = 100;
	got.leak_history = 16;
	got.leak_max_processes = 16;
	got.n_runtime_state_dirs = 0;

	ret = config_load_string(&got, vigil_default_config_yaml,
				 strlen(vigil_default_config_yaml), "<built-in>", &err);
	cr_assert_eq(ret, 0, "%d:%d: %s", err.line, err.column, err.msg);
	cr_assert_str_eq(got.node_name, want.node_name);
	cr_assert_str_eq(got.output, want.output);
	cr_assert_eq(got.observe, want.observe);
	cr_assert_eq(got.ring_buffer_bytes, want.ring_buffer_bytes);
	cr_assert_str_eq(got.cgroup_hierarchy, want.cgroup_hierarchy);
	cr_assert_eq(got.loss_report_interval_ms, want.loss_report_interval_ms);
	cr_assert_eq(got.oom_interval_ms, want.oom_interval_ms);
	cr_assert_eq(got.oom_rescan_ms, want.oom_rescan_ms);
	cr_assert_eq(got.leak_enabled, want.leak_enabled);
	cr_assert_eq(got.leak_interval_ms, want.leak_interval_ms);
	cr_assert_eq(got.leak_history, want.leak_history);
	cr_assert_eq(got.leak_max_processes, want.leak_max_processes);
	cr_assert_eq(got.n_runtime_state_dirs, want.n_runtime_state_dirs);
	for (uint32_t i = 0; i < want.n_runtime_state_dirs; i++)
		cr_assert_str_eq(got.runtime_state_dirs[i], want.runtime_state_dirs[i]);
}

/* docs/CONFIG.md's text, malloc'd. */
static char *config_doc(void)
{
	const char *root = getenv("VIGIL_SRCDIR");
	char path[4096], *text = NULL;
	size_t len = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s%sdocs/CONFIG.md", root ? root : "", root ? "/" : "");
	f = fopen(path, "r");
	cr_assert_not_null(f, "%s: %s (run from the repository root or set VIGIL_SRCDIR)", path,
			   strerror(errno));
	cr_assert_gt(getdelim(&text, &len, 0, f), 0, "%s is empty", path);
	fclose(f);
	return text;
}

/* The ```yaml block under "## Built-in default" in doc, with its last newline; malloc'd. */
static char *default_block(const char *doc)
{
	const char *p = strstr(doc, "\n## Built-in default\n"), *end;
	char *block;

	cr_assert_not_null(p, "docs/CONFIG.md has no \"## Built-in default\" section");
	p = strstr(p, "\n```yaml\n");
	cr_assert_not_null(p, "docs/CONFIG.md: no ```yaml block under \"## Built-in default\"");
	p += strlen("\n```yaml\n");
	end = strstr(p, "\n```");
	cr_assert_not_null(end, "docs/CONFIG.md: the built-in default block is not closed");
	block = strndup(p, (size_t)(end - p) + 1);
	cr_assert_not_null(block);
	return block;
}

Test(config, docs_show_the_built_in_yaml_exactly)
{
	char *doc = config_doc(), *block = default_block(doc);
	const char *a = block, *b = vigil_default_config_yaml, *la = a, *lb = b;
	int line = 1;

	/* Name the first line that differs: a diff of two long strings helps nobody. */
	while (*a && *a == *b) {
		if (*a == '\n') {
			line++;
			la = a + 1;
			lb = b + 1;
		}
		a++;
		b++;
	}
	cr_expect(!*a && !*b, "docs/CONFIG.md's built-in default differs from the compiled-in "
		  "text at its line %d:\n  docs: %.*s\n  code: %.*s", line, (int)strcspn(la, "\n"),
		  la, (int)strcspn(lb, "\n"), lb);
	free(block);
	free(doc);
}

/*
 * Each key the built-in default sets has a row in the key table: "a: b"
 * at the top is `a`; "a:" followed by indented "  b: c" lines is `a.b`.
 */
Test(config, every_key_of_the_built_in_yaml_has_a_row_in_the_docs_table)
{
	char *doc = config_doc(), *block = strdup(vigil_default_config_yaml), *line, *save = NULL;
	char parent[64] = "", row[200];
	size_t checked = 0;

	cr_assert_not_null(block);
	for (line = strtok_r(block, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		bool nested = line[0] == ' ';
		const char *key = line + strspn(line, " "), *rest;
		int klen = (int)strcspn(key, ":");

		/* "  - item" under "a:": a list value of key a, which has its own row. */
		if (nested && key[0] == '-' && key[1] == ' ') {
			snprintf(row, sizeof(row), "\n| `%s` |", parent);
			cr_expect(*parent && strstr(doc, row), "list item without a documented key: %s",
				  line);
			continue;
		}
		cr_assert_eq(key[klen], ':', "not a key line: %s", line);
		rest = key + klen + 1;
		rest += strspn(rest, " ");
		if (!nested && (!*rest || *rest == '#')) {
			snprintf(parent, sizeof(parent), "%.*s", klen, key);
			continue;
		}
		if (!nested)
			parent[0] = 0;
		snprintf(row, sizeof(row), "\n| `%s%s%.*s` |", parent, *parent ? "." : "", klen,
			 key);
		cr_expect_not_null(strstr(doc, row), "docs/CONFIG.md's key table has no row %s",
				   row + 1);
		checked++;
	}
	cr_expect_geq(checked, 30, "only %zu keys read from the built-in default", checked);
	free(block);
	free(doc);
}

Test(config, built_in_yaml_keeps_its_comments_for_people_who_copy_it)
{
	cr_assert(strstr(vigil_default_config_yaml, "# which event types to report"));
	cr_assert(strstr(vigil_default_config_yaml, "auto | v2 | memory | pids | cpu"));
}

Test(config, full_file_sets_every_key)
{
	expect_ok(full_config);
	cr_assert_str_eq(cfg.node_name, "worker-7");
	cr_assert_str_eq(cfg.output, "/var/log/vigil/events.jsonl");
	cr_assert_eq(cfg.observe, VIGIL_OBS(VIGIL_EV_EXEC) | OBS_SIGNALS);
	cr_assert_eq(cfg.ring_buffer_bytes, 64u << 20);
	cr_assert_str_eq(cfg.cgroup_hierarchy, "memory");
	cr_assert_eq(cfg.loss_report_interval_ms, 250);
}

Test(config, flow_style_is_as_good_as_block_style)
{
	expect_ok("{output: out.jsonl, observe: {exit: false}, ring_buffer_bytes: 8192}");
	cr_assert_str_eq(cfg.output, "out.jsonl");
	cr_assert_eq(cfg.observe, VIGIL_OBS_ALL & ~VIGIL_OBS(VIGIL_EV_EXIT));
	cr_assert_eq(cfg.ring_buffer_bytes, 8192);
}

Test(config, empty_text_keeps_the_defaults)
{
	struct vigil_config want;

	config_defaults(&want);
	expect_ok("");
	cr_assert_eq(memcmp(&cfg, &want, sizeof(want)), 0);
}

Test(config, a_file_of_only_comments_keeps_the_defaults)
{
	expect_ok("# everything commented out\n\n#output: /tmp/x\n");
	cr_assert_str_eq(cfg.output, "-");
	cr_assert_eq(cfg.observe, VIGIL_OBS_ALL);
}

Test(config, an_explicit_document_end_marker_is_accepted)
{
	expect_ok("---\noutput: a\n...\n");
	cr_assert_str_eq(cfg.output, "a");
}

Test(config, loading_on_top_keeps_keys_the_file_does_not_mention)
{
	int ret;

	config_defaults(&cfg);
	cfg.ring_buffer_bytes = 4096;
	strcpy(cfg.node_name, "from-earlier");
	ret = config_load_string(&cfg, "output: x.jsonl\n", 16, "test.yaml", &err);
	cr_assert_eq(ret, 0, "%s", err.msg);
	cr_assert_str_eq(cfg.output, "x.jsonl");
	cr_assert_eq(cfg.ring_buffer_bytes, 4096);
	cr_assert_str_eq(cfg.node_name, "from-earlier");
}

Test(config, a_failed_load_leaves_the_config_untouched)
{
	struct vigil_config before;
	const char *text = "output: half-applied.jsonl\nring_buffer_bytes: 3\n";
	int ret;

	config_defaults(&cfg);
	before = cfg;
	ret = config_load_string(&cfg, text, strlen(text), "test.yaml", &err);
	cr_assert_eq(ret, -EINVAL);
	cr_assert_eq(memcmp(&cfg, &before, sizeof(cfg)), 0);
}

Test(config, observe_keys_left_out_keep_their_current_value)
{
	int ret;

	config_defaults(&cfg);
	cfg.observe = VIGIL_OBS(VIGIL_EV_FORK);
	ret = config_load_string(&cfg, "observe: {exec: true}", 21, "test.yaml", &err);
	cr_assert_eq(ret, 0, "%s", err.msg);
	cr_assert_eq(cfg.observe, VIGIL_OBS(VIGIL_EV_FORK) | VIGIL_OBS(VIGIL_EV_EXEC));
}

Test(config, signal_false_turns_off_both_generation_and_delivery)
{
	expect_ok("observe:\n  signal: false\n");
	cr_assert_eq(cfg.observe & OBS_SIGNALS, 0);
	cr_assert_eq(cfg.observe, VIGIL_OBS_ALL & ~OBS_SIGNALS);
}

Test(config, every_event_type_can_be_turned_off)
{
	expect_ok("observe: {fork: no, exec: no, exit: no, signal: no}");
	cr_assert_eq(cfg.observe, 0);
}

Test(config, booleans_accept_true_false_yes_no_on_off_in_any_case)
{
	static const char *const yes[] = { "true", "True", "TRUE", "yes", "Yes", "on", "ON", "oN" };
	static const char *const no[] = { "false", "False", "FALSE", "no", "NO", "off", "Off", "oFF" };
	char text[64];
	size_t i;

	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		snprintf(text, sizeof(text), "observe: {fork: %s}", no[i]);
		expect_ok(text);
		cr_assert_eq(cfg.observe & VIGIL_OBS(VIGIL_EV_FORK), 0, "%s", no[i]);

		config_defaults(&cfg);
		cfg.observe = 0;
		snprintf(text, sizeof(text), "observe: {fork: %s}", yes[i]);
		cr_assert_eq(config_load_string(&cfg, text, strlen(text), "t", &err), 0, "%s", yes[i]);
		cr_assert_eq(cfg.observe, VIGIL_OBS(VIGIL_EV_FORK), "%s", yes[i]);
	}
}

Test(config, ring_buffer_size_accepts_KiB_MiB_and_GiB_suffixes)
{
	static const struct { const char *text; uint32_t bytes; } cases[] = {
		{ "4KiB", 4096 },
		{ "64 KiB", 64u << 10 },
		{ "16MiB", 16u << 20 },
		{ "\"2MiB\"", 2u << 20 },
		{ "1GiB", 1u << 30 },
		{ "8192", 8192 },
		{ "1073741824", 1u << 30 },
	};
	char text[64];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(text, sizeof(text), "ring_buffer_bytes: %s\n", cases[i].text);
		expect_ok(text);
		cr_assert_eq(cfg.ring_buffer_bytes, cases[i].bytes, "%s", cases[i].text);
	}
}

Test(config, cgroup_hierarchy_accepts_each_documented_value)
{
	static const char *const values[] = { "auto", "v2", "memory", "pids", "cpu" };
	char text[64];
	size_t i;

	for (i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
		snprintf(text, sizeof(text), "cgroup_hierarchy: %s", values[i]);
		expect_ok(text);
		cr_assert_str_eq(cfg.cgroup_hierarchy, values[i]);
	}
}

Test(config, loss_report_interval_accepts_both_ends_of_its_range)
{
	expect_ok("loss_report_interval_ms: 100");
	cr_assert_eq(cfg.loss_report_interval_ms, 100);
	expect_ok("loss_report_interval_ms: 3600000");
	cr_assert_eq(cfg.loss_report_interval_ms, 3600000);
}

Test(config, a_null_node_name_means_use_the_host_name)
{
	int ret;

	config_defaults(&cfg);
	strcpy(cfg.node_name, "old");
	ret = config_load_string(&cfg, "node_name: ~\n", 13, "test.yaml", &err);
	cr_assert_eq(ret, 0, "%s", err.msg);
	cr_assert_str_eq(cfg.node_name, "");
}

Test(config, a_255_byte_node_name_fits)
{
	char text[300];

	snprintf(text, sizeof(text), "node_name: %0255d", 0);
	expect_ok(text);
	cr_assert_eq(strlen(cfg.node_name), 255);
}

Test(config, a_null_error_pointer_is_allowed)
{
	config_defaults(&cfg);
	cr_assert_eq(config_load_string(&cfg, "bogus: 1", 8, "t", NULL), -EINVAL);
	cr_assert_eq(config_load_string(&cfg, "output: a", 9, "t", NULL), 0);
	cr_assert_str_eq(cfg.output, "a");
}

/* ---- unknown keys ------------------------------------------------------- */

Test(config, a_misspelt_key_is_named_with_the_closest_valid_key)
{
	expect_error("output: \"-\"\nobserv:\n  fork: true\n", 2, 1, "unknown key");
	cr_assert_str_eq(err.msg, "unknown key 'observ' (did you mean 'observe'?)");
}

Test(config, a_swapped_pair_of_letters_still_gets_a_suggestion)
{
	expect_error("obsreve: {}\n", 1, 1, "(did you mean 'observe'?)");
}

Test(config, a_longer_near_miss_gets_a_suggestion)
{
	expect_error("ring_buffer_size: 4096\n", 1, 1,
		     "unknown key 'ring_buffer_size' (did you mean 'ring_buffer_bytes'?)");
}

Test(config, an_unrelated_key_lists_the_valid_keys_instead_of_guessing)
{
	expect_error("node_name: a\n  \nlisten: 9100\n", 3, 1, "unknown key 'listen'");
	cr_assert(strstr(err.msg, "valid keys: node_name, output, observe, ring_buffer_bytes, "
				  "cgroup_hierarchy, loss_report_interval_ms"), "%s", err.msg);
	cr_assert_null(strstr(err.msg, "did you mean"), "%s", err.msg);
	/* The whole list, not cut short: the later sections are named too. */
	cr_assert(strstr(err.msg, ", trust, oom, leak"), "%s", err.msg);
	cr_assert_eq(err.msg[strlen(err.msg) - 1], ')', "%s", err.msg);
}

Test(config, an_unknown_key_under_observe_names_its_parent)
{
	expect_error("observe:\n  fork: true\n  execs: true\n", 3, 3,
		     "unknown key 'execs' in 'observe' (did you mean 'exec'?)");
}

Test(config, key_case_matters_but_the_suggestion_ignores_it)
{
	expect_error("observe:\n  FORK: true\n", 2, 3,
		     "unknown key 'FORK' in 'observe' (did you mean 'fork'?)");
}

Test(config, control_characters_in_an_unknown_key_are_not_echoed)
{
	expect_error("\"a\\x01b\\nc\": 1\n", 1, 1, "unknown key 'a?b?c'");
}

Test(config, a_very_long_unknown_key_is_cut_short_in_the_message)
{
	char text[400], run[42];

	memset(text, 'k', 300);
	strcpy(text + 300, ": 1\n");
	expect_error(text, 1, 1, "...'");
	memset(run, 'k', 41);
	run[41] = 0;
	cr_assert_null(strstr(err.msg, run), "the key is echoed whole: %s", err.msg);
}

/* ---- wrong types -------------------------------------------------------- */

Test(config, a_sequence_where_a_string_belongs_is_a_type_error)
{
	expect_error("node_name: n\noutput: [a, b]\n", 2, 9,
		     "'output' must be a string, found a sequence");
}

Test(config, a_mapping_where_a_boolean_belongs_is_a_type_error)
{
	expect_error("observe:\n  exit:\n    now: true\n", 3, 5,
		     "'observe.exit' must be a boolean");
	cr_assert(strstr(err.msg, "found a mapping"), "%s", err.msg);
}

Test(config, a_scalar_where_observe_wants_a_mapping_is_a_type_error)
{
	expect_error("observe: all\n", 1, 10,
		     "'observe' must be a mapping of event types to booleans, found a scalar");
}

Test(config, a_sequence_where_an_integer_belongs_is_a_type_error)
{
	expect_error("loss_report_interval_ms:\n  - 100\n", 2, 3,
		     "'loss_report_interval_ms' must be an integer (milliseconds), found a sequence");
}

Test(config, a_key_with_no_value_is_reported_at_the_key)
{
	expect_error("output: a\nring_buffer_bytes:\n", 2, 1,
		     "'ring_buffer_bytes' has no value");
}

Test(config, observe_with_nothing_under_it_has_no_value)
{
	expect_error("observe:\nnode_name: n\n", 1, 1,
		     "'observe' has no value (expected a mapping of event types to booleans)");
}

Test(config, a_non_scalar_key_is_rejected)
{
	expect_error("? [output]\n: a\n", 1, 3, "a key must be a plain name, found a sequence");
}

Test(config, aliases_are_rejected_where_they_are_used)
{
	expect_error("output: &o out.jsonl\nnode_name: *o\n", 2, 12,
		     "'node_name': aliases are not supported");
}

/* ---- bad values --------------------------------------------------------- */

Test(config, a_bad_boolean_names_the_accepted_spellings)
{
	expect_error("observe:\n  fork: maybe\n", 2, 9,
		     "'observe.fork' must be a boolean (true/false, yes/no, on/off), got 'maybe'");
}

Test(config, numbers_are_not_booleans)
{
	expect_error("observe: {exec: 1}\n", 1, 17, "'observe.exec' must be a boolean");
}

Test(config, a_non_numeric_size_is_rejected)
{
	expect_error("ring_buffer_bytes: lots\n", 1, 20,
		     "'ring_buffer_bytes' must be a size in bytes, optionally with a KiB, MiB or GiB suffix, got 'lots'");
}

Test(config, decimal_megabytes_and_fractions_are_not_sizes)
{
	expect_error("ring_buffer_bytes: 16MB\n", 1, 20, "got '16MB'");
	expect_error("ring_buffer_bytes: 1.5MiB\n", 1, 20, "got '1.5MiB'");
	expect_error("ring_buffer_bytes: 16mib\n", 1, 20, "KiB, MiB or GiB suffix");
	expect_error("ring_buffer_bytes: 0x1000\n", 1, 20, "must be a size in bytes");
}

Test(config, a_ring_buffer_below_4KiB_is_out_of_range)
{
	expect_error("ring_buffer_bytes: 2048\n", 1, 20,
		     "'ring_buffer_bytes' must be between 4096 (4KiB) and 1073741824 (1GiB), got '2048'");
}

Test(config, a_ring_buffer_above_1GiB_is_out_of_range)
{
	expect_error("ring_buffer_bytes: 2GiB\n", 1, 20, "must be between 4096 (4KiB) and 1073741824 (1GiB)");
}

Test(config, negative_and_overflowing_sizes_are_out_of_range)
{
	expect_error("ring_buffer_bytes: -4096\n", 1, 20, "must be between");
	expect_error("ring_buffer_bytes: 99999999999999999999999\n", 1, 20, "must be between");
	expect_error("ring_buffer_bytes: 17179869184GiB\n", 1, 20, "must be between");
}

Test(config, a_ring_buffer_that_is_not_a_power_of_two_names_its_neighbours)
{
	expect_error("ring_buffer_bytes: 5000\n", 1, 20,
		     "'ring_buffer_bytes' must be a power of two, got '5000' (nearest: 4096 or 8192)");
	expect_error("ring_buffer_bytes: 3MiB\n", 1, 20, "(nearest: 2097152 or 4194304)");
}

Test(config, a_loss_interval_outside_100_to_3600000_is_rejected)
{
	expect_error("loss_report_interval_ms: 99\n", 1, 26,
		     "'loss_report_interval_ms' must be between 100 and 3600000, got '99'");
	expect_error("loss_report_interval_ms: 3600001\n", 1, 26, "between 100 and 3600000");
}

Test(config, a_loss_interval_takes_no_unit)
{
	expect_error("loss_report_interval_ms: 1s\n", 1, 26,
		     "'loss_report_interval_ms' must be an integer (milliseconds), got '1s'");
	expect_error("loss_report_interval_ms: 1KiB\n", 1, 26, "must be an integer");
}

Test(config, a_bad_cgroup_hierarchy_lists_the_valid_ones)
{
	expect_error("cgroup_hierarchy: v1\n", 1, 19,
		     "'cgroup_hierarchy' must be one of auto, v2, memory, pids, cpu; got 'v1'");
	expect_error("cgroup_hierarchy: V2\n", 1, 19, "got 'V2'");
}

Test(config, an_empty_output_suggests_the_dash_for_stdout)
{
	expect_error("output: \"\"\n", 1, 9, "'output' must not be empty (use \"-\" for stdout)");
	expect_error("output:\n", 1, 1, "'output' must not be empty");
}

Test(config, a_node_name_longer_than_255_bytes_is_rejected)
{
	char text[300];

	snprintf(text, sizeof(text), "node_name: %0256d", 0);
	expect_error(text, 1, 12, "'node_name' is too long (256 bytes, at most 255)");
}

Test(config, a_node_name_with_a_newline_is_rejected)
{
	expect_error("node_name: \"a\\nb\"\n", 1, 12, "'node_name' must not contain control characters");
}

Test(config, a_nul_byte_in_a_path_is_rejected)
{
	expect_error("output: \"/tmp/a\\0b\"\n", 1, 9, "'output' must not contain a NUL byte");
}

/* ---- duplicates --------------------------------------------------------- */

Test(config, a_duplicate_key_points_at_the_second_one_and_names_the_first)
{
	expect_error("output: a\nnode_name: n\noutput: b\n", 3, 1,
		     "duplicate key 'output' (first set at line 1, column 1)");
}

Test(config, a_duplicate_key_under_observe_is_caught)
{
	expect_error("observe:\n  fork: true\n  exit: true\n  fork: false\n", 4, 3,
		     "duplicate key 'fork' (first set at line 2, column 3)");
}

Test(config, a_duplicate_key_in_flow_style_is_caught)
{
	expect_error("{output: a, output: b}\n", 1, 13, "duplicate key 'output' (first set at line 1, column 2)");
}

/* ---- document shape ----------------------------------------------------- */

Test(config, a_lone_document_marker_is_an_empty_document)
{
	expect_error("# nothing yet\n---\n", 2, 1,
		     "the document is empty; expected a mapping of config keys");
}

Test(config, a_top_level_sequence_is_rejected)
{
	expect_error("- output: a\n", 1, 1,
		     "expected a mapping of config keys at the top level, found a sequence");
}

Test(config, a_top_level_scalar_is_rejected)
{
	expect_error("\n  just text\n", 2, 3,
		     "expected a mapping of config keys at the top level, found a scalar");
}

Test(config, a_second_document_is_rejected_at_its_start)
{
	expect_error("output: a\n---\noutput: b\n", 2, 1,
		     "more than one document; put every key in a single document");
}

/* ---- YAML syntax -------------------------------------------------------- */

Test(config, a_syntax_error_is_reported_at_libyamls_problem_mark)
{
	expect_error("output: a: b\n", 1, 10,
		     "syntax error: mapping values are not allowed in this context");
}

Test(config, an_unclosed_flow_sequence_names_where_it_opened)
{
	expect_error("output: [a, b\nnode_name: x\n", 2, 10,
		     "(while parsing a flow sequence at line 1, column 9)");
	cr_assert(strncmp(err.msg, "syntax error: ", 14) == 0, "%s", err.msg);
}

Test(config, an_unterminated_quote_is_a_syntax_error)
{
	expect_error("output: \"abc\n", 2, 1, "syntax error: found unexpected end of stream");
}

Test(config, a_bad_indent_is_a_syntax_error)
{
	expect_error("observe:\n  fork: true\n exec: true\n", 3, 2,
		     "syntax error: did not find expected key");
}

Test(config, an_unquoted_dash_for_stdout_gets_a_hint)
{
	expect_error("output: -\n", 1, 9, "(a lone - starts a list; write \"-\" in quotes for stdout)");
}

Test(config, a_tab_indent_says_it_is_a_tab)
{
	expect_error("observe:\n\tfork: true\n", 2, 1, "(a tab; indent YAML with spaces)");
}

Test(config, a_syntax_error_wins_over_an_earlier_unknown_key)
{
	expect_error("observ: {}\noutput: [\n", 3, 1, "syntax error:");
}

Test(config, invalid_utf8_is_reported_at_the_bad_byte)
{
	expect_error("output: a\nnode_name: caf\xc3\xa9-\xff\n", 2, 17,
		     "invalid input: invalid leading UTF-8 octet (byte 0xff)");
}

Test(config, control_characters_in_the_text_are_rejected)
{
	expect_error("output: a\x01\n", 1, 10, "control characters are not allowed (byte 0x01)");
}

Test(config, nesting_deeper_than_32_levels_is_refused_early)
{
	char text[200];

	memset(text, '[', 100);
	text[100] = '\0';
	expect_error(text, 1, 33, "nested too deeply (more than 32 levels)");
}

/* ---- files -------------------------------------------------------------- */

Test(config, a_file_is_read_and_applied)
{
	char *path = write_temp(full_config, strlen(full_config));
	int ret;

	config_defaults(&cfg);
	ret = config_load_file(&cfg, path, &err);
	cr_assert_eq(ret, 0, "%s", err.msg);
	cr_assert_str_eq(cfg.node_name, "worker-7");
	cr_assert_eq(cfg.ring_buffer_bytes, 64u << 20);
	remove_temp(path);
}

Test(config, an_empty_file_keeps_the_defaults)
{
	char *path = write_temp("", 0);
	int ret;

	config_defaults(&cfg);
	ret = config_load_file(&cfg, path, &err);
	cr_assert_eq(ret, 0, "%s", err.msg);
	cr_assert_eq(cfg.observe, VIGIL_OBS_ALL);
	cr_assert_str_eq(cfg.output, "-");
	remove_temp(path);
}

Test(config, errors_in_a_file_name_the_path_given)
{
	const char *text = "observe:\n  fork: nope\n";
	char *path = write_temp(text, strlen(text));
	char want[512], got[1024];

	config_defaults(&cfg);
	cr_assert_eq(config_load_file(&cfg, path, &err), -EINVAL);
	cr_assert_str_eq(err.file, path);
	config_error_format(&err, got, sizeof(got));
	snprintf(want, sizeof(want),
		 "%s:2:9: 'observe.fork' must be a boolean (true/false, yes/no, on/off), got 'nope'",
		 path);
	cr_assert_str_eq(got, want);
	remove_temp(path);
}

Test(config, a_missing_file_returns_ENOENT_without_a_position)
{
	const char *path = "/nonexistent/vigil/config.yaml";
	char got[512];

	config_defaults(&cfg);
	cr_assert_eq(config_load_file(&cfg, path, &err), -ENOENT);
	cr_assert_str_eq(err.msg, "cannot open: No such file or directory");
	cr_assert_eq(err.line, 0);
	config_error_format(&err, got, sizeof(got));
	cr_assert_str_eq(got, "/nonexistent/vigil/config.yaml: cannot open: No such file or directory");
}

Test(config, a_directory_is_not_a_config_file)
{
	config_defaults(&cfg);
	cr_assert_eq(config_load_file(&cfg, "/tmp", &err), -EISDIR);
	cr_assert_str_eq(err.msg, "cannot read: Is a directory");
	cr_assert_str_eq(err.file, "/tmp");
}

Test(config, a_file_over_1MiB_is_refused)
{
	size_t len = (1u << 20) + 1;
	char *big = malloc(len), *path;

	cr_assert_not_null(big);
	memset(big, '\n', len);
	path = write_temp(big, len);
	free(big);
	config_defaults(&cfg);
	cr_assert_eq(config_load_file(&cfg, path, &err), -EFBIG);
	cr_assert(strstr(err.msg, "too large"), "%s", err.msg);
	remove_temp(path);
}

Test(config, a_file_of_exactly_1MiB_is_still_read)
{
	size_t len = 1u << 20;
	char *big = malloc(len), *path;
	int ret;

	cr_assert_not_null(big);
	memset(big, '\n', len);
	memcpy(big, "output: big\n", 12);
	path = write_temp(big, len);
	free(big);
	config_defaults(&cfg);
	ret = config_load_file(&cfg, path, &err);
	cr_assert_eq(ret, 0, "%d %s", ret, err.msg);
	cr_assert_str_eq(cfg.output, "big");
	remove_temp(path);
}

/* ---- formatting --------------------------------------------------------- */

Test(config, an_error_with_a_position_formats_as_file_line_column)
{
	struct vigil_config_error e = { .file = "a.yaml", .line = 3, .column = 7, .msg = "bad" };
	char buf[64];

	config_error_format(&e, buf, sizeof(buf));
	cr_assert_str_eq(buf, "a.yaml:3:7: bad");
}

Test(config, an_error_without_a_position_formats_as_file_and_message)
{
	struct vigil_config_error e = { .file = "a.yaml", .line = 0, .msg = "cannot open: x" };
	char buf[64];

	config_error_format(&e, buf, sizeof(buf));
	cr_assert_str_eq(buf, "a.yaml: cannot open: x");
}

Test(config, formatting_into_a_small_buffer_truncates_safely)
{
	struct vigil_config_error e = { .file = "a.yaml", .line = 3, .column = 7, .msg = "bad" };
	char buf[8];

	memset(buf, 'X', sizeof(buf));
	config_error_format(&e, buf, sizeof(buf));
	cr_assert_str_eq(buf, "a.yaml:");
}

/* ---- hostile input ------------------------------------------------------ */

Test(config, random_bytes_are_rejected_without_crashing)
{
	uint64_t seed = 0x9e3779b97f4a7c15ull;
	char buf[512];
	int i, ret;

	for (i = 0; i < 2000; i++) {
		size_t len = 16 + rnd(&seed) % (sizeof(buf) - 16), j;

		for (j = 0; j < len; j++)
			buf[j] = (char)rnd(&seed);
		config_defaults(&cfg);
		ret = config_load_string(&cfg, buf, len, "fuzz", &err);
		cr_assert_eq(ret, -EINVAL, "round %d returned %d", i, ret);
		cr_assert_neq(err.msg[0], '\0', "round %d left no message", i);
		cr_assert_gt(err.line, 0, "round %d: %s", i, err.msg);
	}
}

Test(config, random_yaml_punctuation_is_rejected_without_crashing)
{
	static const char alphabet[] = "[]{}:,-?*&!|>'\"#%@` \n\t";
	uint64_t seed = 12345;
	char buf[256];
	int i, ret;

	for (i = 0; i < 2000; i++) {
		size_t len = 8 + rnd(&seed) % (sizeof(buf) - 8), j;

		for (j = 0; j < len; j++)
			buf[j] = alphabet[rnd(&seed) % (sizeof(alphabet) - 1)];
		/* A leading letter makes every round non-empty, so every round must fail. */
		buf[0] = 'x';
		config_defaults(&cfg);
		ret = config_load_string(&cfg, buf, len, "fuzz", &err);
		cr_assert_eq(ret, -EINVAL, "round %d returned %d: %.*s", i, ret, (int)len, buf);
		cr_assert_gt(err.line, 0, "round %d: %s", i, err.msg);
	}
}

Test(config, every_prefix_of_a_valid_file_either_loads_or_says_where_it_broke)
{
	size_t len, total = strlen(full_config);
	int ret;

	for (len = 0; len <= total; len++) {
		config_defaults(&cfg);
		ret = config_load_string(&cfg, full_config, len, "prefix", &err);
		cr_assert(ret == 0 || ret == -EINVAL, "prefix %zu returned %d", len, ret);
		if (ret)
			cr_assert_gt(err.line, 0, "prefix %zu: %s", len, err.msg);
	}
	cr_assert_eq(ret, 0, "the whole file must load: %s", err.msg);
}

Test(config, flipped_bytes_in_a_valid_file_never_crash_and_errors_have_positions)
{
	uint64_t seed = 777;
	char buf[sizeof(full_config)];
	size_t len = strlen(full_config);
	int i, k, ret, failures = 0;

	for (i = 0; i < 3000; i++) {
		memcpy(buf, full_config, len);
		for (k = 0; k < 3; k++)
			buf[rnd(&seed) % len] = (char)rnd(&seed);
		config_defaults(&cfg);
		ret = config_load_string(&cfg, buf, len, "flip", &err);
		cr_assert(ret == 0 || ret == -EINVAL, "round %d returned %d", i, ret);
		if (ret) {
			failures++;
			cr_assert_gt(err.line, 0, "round %d: %s", i, err.msg);
			cr_assert_neq(err.msg[0], '\0');
		}
	}
	/* Three random bytes almost always break something; a parser accepting all is broken. */
	cr_assert_gt(failures, 2000, "only %d of 3000 mutated files were rejected", failures);
}

Test(config, a_million_open_brackets_fail_fast, .timeout = 10)
{
	size_t len = 1u << 20;
	char *text = malloc(len);
	int ret;

	cr_assert_not_null(text);
	memset(text, '[', len);
	config_defaults(&cfg);
	ret = config_load_string(&cfg, text, len, "deep", &err);
	free(text);
	cr_assert_eq(ret, -EINVAL);
	cr_assert(strstr(err.msg, "nested too deeply"), "%s", err.msg);
}

Test(config, deeply_nested_block_mappings_are_rejected)
{
	char text[64 * 80];
	size_t off = 0;
	int i;

	for (i = 0; i < 64; i++)
		off += (size_t)snprintf(text + off, sizeof(text) - off, "%*sk%d:\n", i, "", i);
	expect_error(text, 33, 33, "nested too deeply");
}

Test(config, a_deep_value_under_observe_is_a_type_error_not_a_crash)
{
	char text[256];
	int n = 20;

	snprintf(text, sizeof(text), "observe:\n  fork: %.*s%.*s\n", n,
		 "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[", n, "]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]");
	expect_error(text, 2, 9, "'observe.fork' must be a boolean, found a sequence");
}

Test(config, an_alias_bomb_is_rejected_without_expanding_it, .timeout = 10)
{
	/* Expanded, this is 9^9 (387 million) scalars; walked as events it is a few hundred. */
	const char *text =
		"a: &a [x, x, x, x, x, x, x, x, x]\n"
		"b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
		"c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
		"d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
		"e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]\n"
		"f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]\n"
		"g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]\n"
		"h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g]\n"
		"i: &i [*h, *h, *h, *h, *h, *h, *h, *h, *h]\n"
		"output: *i\n";

	expect_error(text, 1, 1, "unknown key 'a'");
}

Test(config, trust_keys_are_read)
{
	expect_ok("trust:\n  store_dir: /srv/trust\n  bpffs: /sys/fs/bpf/x\n  max_entries: 4096\n"
		  "  on_agent_loss: open\n  fail_open_after_ms: 2500\n  hash_cache_entries: 64\n");
	cr_assert_str_eq(cfg.trust_store_dir, "/srv/trust");
	cr_assert_str_eq(cfg.trust_bpffs, "/sys/fs/bpf/x");
	cr_assert_eq(cfg.trust_max_entries, 4096);
	cr_assert(cfg.trust_fail_open);
	cr_assert_eq(cfg.trust_fail_open_after_ms, 2500);
	cr_assert_eq(cfg.trust_hash_cache_entries, 64);
	expect_ok("trust: {on_agent_loss: closed}\n");
	cr_assert_not(cfg.trust_fail_open);
}

Test(config, oom_keys_are_read)
{
	expect_ok("oom:\n  interval_ms: 20\n  rescan_ms: 500\n");
	cr_assert_eq(cfg.oom_interval_ms, 20);
	cr_assert_eq(cfg.oom_rescan_ms, 500);
	expect_ok("oom: {}\n");
	cr_assert_eq(cfg.oom_interval_ms, 50);
	cr_assert_eq(cfg.oom_rescan_ms, 2000);
	expect_error("oom:\n  interval_ms: 5\n", 2, 16, "interval_ms");
	expect_error("oom:\n  rescan_ms: 99999999\n", 2, 14, "rescan_ms");
	expect_error("oom:\n  interval: 50\n", 2, 3, "unknown key");
}

Test(config, leak_defaults_sample_every_10s_with_an_hour_of_history)
{
	config_defaults(&cfg);
	cr_assert(cfg.leak_enabled);
	cr_assert_eq(cfg.leak_interval_ms, 10000);
	cr_assert_eq(cfg.leak_history, 360);
	cr_assert_eq(cfg.leak_max_processes, 32768);
}

Test(config, leak_keys_are_read)
{
	expect_ok("leak:\n  enabled: false\n  interval_ms: 250\n  history: 64\n"
		  "  max_processes: 1000\n");
	cr_assert_not(cfg.leak_enabled);
	cr_assert_eq(cfg.leak_interval_ms, 250);
	cr_assert_eq(cfg.leak_history, 64);
	cr_assert_eq(cfg.leak_max_processes, 1000);
	expect_ok("leak: {enabled: off}\n");
	cr_assert_not(cfg.leak_enabled);
	cr_assert_eq(cfg.leak_interval_ms, 10000, "a key left out keeps its default");
	expect_ok("leak: {}\n");
	cr_assert(cfg.leak_enabled);
	cr_assert_eq(cfg.leak_history, 360);
}

Test(config, leak_numbers_accept_both_ends_of_their_ranges)
{
	expect_ok("leak: {interval_ms: 100, history: 16, max_processes: 16}\n");
	cr_assert_eq(cfg.leak_interval_ms, 100);
	cr_assert_eq(cfg.leak_history, 16);
	cr_assert_eq(cfg.leak_max_processes, 16);
	expect_ok("leak: {interval_ms: 3600000, history: 4096, max_processes: 1048576}\n");
	cr_assert_eq(cfg.leak_interval_ms, 3600000);
	cr_assert_eq(cfg.leak_history, 4096);
	cr_assert_eq(cfg.leak_max_processes, 1048576);
}

Test(config, leak_numbers_out_of_range_point_at_the_value)
{
	expect_error("leak:\n  interval_ms: 99\n", 2, 16,
		     "'leak.interval_ms' must be between 100 and 3600000, got '99'");
	expect_error("leak:\n  interval_ms: 3600001\n", 2, 16,
		     "'leak.interval_ms' must be between 100 and 3600000, got '3600001'");
	expect_error("leak:\n  history: 15\n", 2, 12,
		     "'leak.history' must be between 16 and 4096, got '15'");
	expect_error("leak:\n  history: 4097\n", 2, 12,
		     "'leak.history' must be between 16 and 4096, got '4097'");
	expect_error("leak:\n  max_processes: 15\n", 2, 18,
		     "'leak.max_processes' must be between 16 and 1048576, got '15'");
	expect_error("leak:\n  max_processes: 1048577\n", 2, 18,
		     "'leak.max_processes' must be between 16 and 1048576, got '1048577'");
	expect_error("leak:\n  history: -1\n", 2, 12,
		     "'leak.history' must be between 16 and 4096, got '-1'");
	expect_error("leak:\n  interval_ms: 99999999999999999999999\n", 2, 16,
		     "'leak.interval_ms' must be between 100 and 3600000");
}

Test(config, bad_leak_values_say_what_is_expected)
{
	expect_error("leak:\n  interval_ms: 10s\n", 2, 16,
		     "'leak.interval_ms' must be an integer, got '10s'");
	expect_error("leak:\n  history: 1KiB\n", 2, 12,
		     "'leak.history' must be an integer, got '1KiB'");
	expect_error("leak:\n  enabled: sometimes\n", 2, 12,
		     "'leak.enabled' must be a boolean (true/false, yes/no, on/off), got "
		     "'sometimes'");
	expect_error("leak:\n  enabled: 1\n", 2, 12, "'leak.enabled' must be a boolean");
	expect_error("leak:\n  max_processes: [1]\n", 2, 18,
		     "'leak.max_processes' must be an integer, found a sequence");
	expect_error("leak:\n  history:\n", 2, 3,
		     "'leak.history' has no value (expected an integer)");
	expect_error("leak:\n  interval: 500\n", 2, 3,
		     "unknown key 'interval' in 'leak' (did you mean 'interval_ms'?)");
	expect_error("leak:\n  samples: 500\n", 2, 3,
		     "unknown key 'samples' in 'leak' (valid keys: enabled, interval_ms, history, "
		     "max_processes)");
	expect_error("leak:\n  history: 64\n  history: 65\n", 3, 3,
		     "duplicate key 'history' (first set at line 2, column 3)");
	expect_error("leak: true\n", 1, 7,
		     "'leak' must be a mapping of leak sampling settings, found a scalar");
	expect_error("leak:\n", 1, 1,
		     "'leak' has no value (expected a mapping of leak sampling settings)");
	expect_error("leaks: {}\n", 1, 1, "unknown key 'leaks' (did you mean 'leak'?)");
}

Test(config, bad_trust_values_point_at_the_value)
{
	expect_error("trust:\n  on_agent_loss: maybe\n", 2, 18, "closed, open");
	expect_error("trust:\n  max_entries: 10\n", 2, 16, "max_entries");
	expect_error("trust:\n  fail_open_after_ms: 0\n", 2, 23, "fail_open_after_ms");
	expect_error("trust:\n  store_dir: \"\"\n", 2, 14, "store_dir");
	expect_error("trust:\n  store: /x\n", 2, 3, "unknown key");
}

/* ---- runtime_state_dirs ---------------------------------------------------- */

Test(config, runtime_state_dirs_default_to_containerd_and_crio_state)
{
	config_defaults(&cfg);
	cr_assert_eq(cfg.n_runtime_state_dirs, 2);
	cr_expect_str_eq(cfg.runtime_state_dirs[0], "/run/containerd/io.containerd.runtime.v2.task");
	cr_expect_str_eq(cfg.runtime_state_dirs[1], "/run/containers/storage/overlay-containers");
}

Test(config, runtime_state_dirs_takes_a_block_or_flow_list_and_replaces_the_default)
{
	static const char block[] = "runtime_state_dirs:\n"
				    "  - /run/k3s/containerd/io.containerd.runtime.v2.task\n"
				    "  - \"/var/run/crio state\"\n";
	int ret;

	config_defaults(&cfg);
	ret = config_load_string(&cfg, block, strlen(block), "t.yaml", &err);
	cr_assert_eq(ret, 0, "%s", err.msg);
	cr_assert_eq(cfg.n_runtime_state_dirs, 2);
	cr_expect_str_eq(cfg.runtime_state_dirs[0], "/run/k3s/containerd/io.containerd.runtime.v2.task");
	cr_expect_str_eq(cfg.runtime_state_dirs[1], "/var/run/crio state");

	ret = config_load_string(&cfg, "runtime_state_dirs: [/a]", 24, "t.yaml", &err);
	cr_assert_eq(ret, 0, "%s", err.msg);
	cr_assert_eq(cfg.n_runtime_state_dirs, 1);
	cr_expect_str_eq(cfg.runtime_state_dirs[0], "/a");
}

Test(config, an_empty_runtime_state_dirs_list_turns_lookups_off)
{
	int ret;

	config_defaults(&cfg);
	ret = config_load_string(&cfg, "runtime_state_dirs: []\n", 23, "t.yaml", &err);
	cr_assert_eq(ret, 0, "%s", err.msg);
	cr_expect_eq(cfg.n_runtime_state_dirs, 0);
}

Test(config, runtime_state_dirs_must_be_a_list_of_absolute_distinct_paths)
{
	char text[8192];
	size_t n;

	expect_error("runtime_state_dirs: /run/containerd\n", 1, 21,
		     "'runtime_state_dirs' must be a list of directories (use [] for none), found a scalar");
	expect_error("runtime_state_dirs:\n", 1, 20,
		     "'runtime_state_dirs' must be a list of directories");
	expect_error("runtime_state_dirs: {a: b}\n", 1, 21, "found a mapping");
	expect_error("runtime_state_dirs:\n  - run/containerd\n", 2, 5,
		     "'runtime_state_dirs[0]' must be an absolute path, got 'run/containerd'");
	expect_error("runtime_state_dirs: [/a, \"\"]\n", 1, 26,
		     "'runtime_state_dirs[1]' must not be empty");
	expect_error("runtime_state_dirs: [/a, [/b]]\n", 1, 26,
		     "'runtime_state_dirs[1]' must be a string, found a sequence");
	expect_error("runtime_state_dirs: [/a, /b, /a]\n", 1, 30,
		     "'runtime_state_dirs[2]' repeats '/a' (entry 0)");
	expect_error("runtime_state_dirs: [/1, /2, /3, /4, /5, /6, /7, /8, /9]\n", 1, 54,
		     "'runtime_state_dirs' has more than 8 directories");
	n = (size_t)snprintf(text, sizeof(text), "runtime_state_dirs: [/");
	memset(text + n, 'x', 255);
	snprintf(text + n + 255, sizeof(text) - n - 255, "]\n");
	expect_error(text, 1, 22, "'runtime_state_dirs[0]' is too long (256 bytes, at most 255)");
}

Test(config, a_refused_runtime_state_dirs_leaves_the_previous_list)
{
	config_defaults(&cfg);
	cr_assert_neq(config_load_string(&cfg, "runtime_state_dirs: [/a, b]\n", 28, "t.yaml", &err), 0);
	cr_assert_eq(cfg.n_runtime_state_dirs, 2);
	cr_expect_str_eq(cfg.runtime_state_dirs[0], "/run/containerd/io.containerd.runtime.v2.task");
}
