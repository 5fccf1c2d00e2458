/*
 * prometheus.h - the HTTP endpoints: /metrics (Prometheus text exposition
 * 0.0.4, rendered from the registry), /healthz and /readyz.  It formats
 * and serves; health and readiness are decided by the caller's callbacks.
 *
 * The server runs on the agent's libevent base, in the agent's one thread:
 * no locks around the registry, and non-blocking sockets, so a client that
 * never reads only fills its own output buffer (dropped after a timeout).
 */
#ifndef VIGIL_PROMETHEUS_H
#define VIGIL_PROMETHEUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "metrics.h"

#define VIGIL_METRICS_DEFAULT_ADDR "127.0.0.1:9867"

struct event_base;
struct evhttp;

struct vigil_http_status {
	/* Return true if fine; otherwise fill why. */
	bool (*healthy)(void *ctx, char *why, size_t len);
	bool (*ready)(void *ctx, char *why, size_t len);
	void *ctx;
};

/*
 * An extra GET endpoint (the leak scorer's /leaks): fn renders the body for
 * the query string ("" when none) into a malloc'd *body.  0 or -errno.
 */
typedef int (*vigil_http_render_fn)(void *ctx, const char *query, char **body, size_t *len);

#define VIGIL_HTTP_MAX_ROUTES 4

struct vigil_http_route {
	char path[32];
	const char *ctype;
	vigil_http_render_fn fn;
	void *ctx;
};

struct vigil_prom {
	struct evhttp *http;
	int fd;
	struct vigil_metrics *metrics;
	struct vigil_http_status status;
	uint64_t scrapes;
	char addr[64];
	struct vigil_http_route routes[VIGIL_HTTP_MAX_ROUTES];
	unsigned nroutes;
};

/* Serve path ("/leaks") with fn.  0, or -ENOSPC / -EINVAL. */
int prometheus_route(struct vigil_prom *p, const char *path, const char *ctype,
		     vigil_http_render_fn fn, void *ctx);

/* Render every family (after running the collectors). 0 or -ENOMEM; *buf is malloc'd. */
int prometheus_render(struct vigil_metrics *m, char **buf, size_t *len);

/*
 * Parse "HOST:PORT" ("127.0.0.1:9867", "0.0.0.0:9867", "[::1]:9867",
 * ":9867" = all interfaces).  Numeric hosts only, so a bad address fails
 * here, not at some later DNS lookup.  0 or -EINVAL with why filled.
 */
int prometheus_parse_addr(const char *s, struct sockaddr_storage *ss, socklen_t *sslen,
			  char *why, size_t whylen);

/* Bind, listen and serve on base.  0 or -errno (EADDRINUSE, EACCES...) with why. */
int prometheus_start(struct vigil_prom *p, struct event_base *base, const char *addr,
		     struct vigil_metrics *m, const struct vigil_http_status *st,
		     char *why, size_t whylen);
void prometheus_stop(struct vigil_prom *p);

#endif
