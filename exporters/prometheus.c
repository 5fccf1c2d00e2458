/*
 * prometheus.c - /metrics, /healthz, /readyz over libevent's evhttp
 * (see prometheus.h).
 *
 * Text format rules applied here: HELP text escapes \ and newline; label
 * values escape \, " and newline; label values and help are UTF-8, so
 * invalid bytes (cgroup and comm names are arbitrary bytes) become U+FFFD.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "prometheus.h"
#include "strbuf.h"

static void put_escaped(struct strbuf *b, const char *s, bool quote)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t n = strlen(s), i = 0, k;

	while (i < n) {
		if (u[i] == '\\') {
			strbuf_put(b, "\\\\", 2);
		} else if (u[i] == '\n') {
			strbuf_put(b, "\\n", 2);
		} else if (quote && u[i] == '"') {
			strbuf_put(b, "\\\"", 2);
		} else if (u[i] >= 0x80) {
			k = utf8_seq(u + i, n - i);
			if (k) {
				strbuf_put(b, s + i, k);
				i += k;
			} else {
				strbuf_put(b, "\xef\xbf\xbd", 3);
				i++;
			}
			continue;
		} else {
			strbuf_putc(b, s[i]);
		}
		i++;
	}
}

static void put_value(struct strbuf *b, double v)
{
	if (isnan(v))
		strbuf_puts(b, "NaN");
	else if (isinf(v))
		strbuf_puts(b, v > 0 ? "+Inf" : "-Inf");
	else if (fabs(v) < 9007199254740992.0 && v == (double)(int64_t)v)
		strbuf_printf(b, "%lld", (long long)v);	/* integral: exact, no exponent */
	else
		strbuf_printf(b, "%.17g", v);
}

int prometheus_render(struct vigil_metrics *m, char **buf, size_t *len)
{
	struct strbuf b = { 0 };

	metrics_collect(m);
	strbuf_reserve(&b, 4096);
	for (struct vigil_metric_family *f = m->families; f; f = f->next) {
		strbuf_printf(&b, "# HELP %s ", f->name);
		put_escaped(&b, f->help, false);
		strbuf_printf(&b, "\n# TYPE %s %s\n", f->name,
			      f->type == VIGIL_METRIC_COUNTER ? "counter" : "gauge");
		for (struct vigil_metric_series *s = f->series; s; s = s->next) {
			strbuf_puts(&b, f->name);
			if (f->nlabels) {
				strbuf_putc(&b, '{');
				for (unsigned i = 0; i < f->nlabels; i++) {
					strbuf_printf(&b, "%s%s=\"", i ? "," : "", f->label_names[i]);
					put_escaped(&b, s->labels[i], true);
					strbuf_putc(&b, '"');
				}
				strbuf_putc(&b, '}');
			}
			strbuf_putc(&b, ' ');
			put_value(&b, s->value);
			strbuf_putc(&b, '\n');
		}
	}
	if (b.oom) {
		strbuf_free(&b);
		return -ENOMEM;
	}
	*buf = strbuf_detach(&b, len);
	return 0;
}

int prometheus_parse_addr(const char *s, struct sockaddr_storage *ss, socklen_t *sslen,
			  char *why, size_t whylen)
{
	struct sockaddr_in *in4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
	const char *colon, *host_end, *host = s;
	char hostbuf[64], *end;
	unsigned long port;

	memset(ss, 0, sizeof(*ss));
	colon = strrchr(s, ':');
	if (!colon) {
		snprintf(why, whylen, "'%s': want HOST:PORT, e.g. 127.0.0.1:9867 or [::1]:9867", s);
		return -EINVAL;
	}
	errno = 0;
	/* strtoul would take a sign or blanks; a port is digits only. */
	port = colon[1] >= '0' && colon[1] <= '9' ? strtoul(colon + 1, &end, 10) : 0;
	end = port ? end : (char *)colon + 1;
	if (errno || end == colon + 1 || *end || port == 0 || port > 65535) {
		snprintf(why, whylen, "'%s': port must be 1-65535", s);
		return -EINVAL;
	}
	host_end = colon;
	if (*host == '[') {
		if (host_end == host || host_end[-1] != ']') {
			snprintf(why, whylen, "'%s': an IPv6 host needs brackets: [::1]:9867", s);
			return -EINVAL;
		}
		host++;
		host_end--;
	}
	if ((size_t)(host_end - host) >= sizeof(hostbuf)) {
		snprintf(why, whylen, "'%s': host too long", s);
		return -EINVAL;
	}
	memcpy(hostbuf, host, host_end - host);
	hostbuf[host_end - host] = 0;
	/* "::1:80" is itself an IPv6 address: without brackets the port is ambiguous. */
	if (host == s && strchr(hostbuf, ':')) {
		snprintf(why, whylen, "'%s': an IPv6 host needs brackets: [::1]:9867", s);
		return -EINVAL;
	}
	if (!hostbuf[0]) {
		in6->sin6_family = AF_INET6;	/* ":PORT": every interface, v4 and v6 */
		in6->sin6_addr = in6addr_any;
		in6->sin6_port = htons(port);
		*sslen = sizeof(*in6);
		return 0;
	}
	if (inet_pton(AF_INET, hostbuf, &in4->sin_addr) == 1) {
		in4->sin_family = AF_INET;
		in4->sin_port = htons(port);
		*sslen = sizeof(*in4);
		return 0;
	}
	if (inet_pton(AF_INET6, hostbuf, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(port);
		*sslen = sizeof(*in6);
		return 0;
	}
	snprintf(why, whylen, "'%s': host must be a numeric IPv4 or [IPv6] address", s);
	return -EINVAL;
}

/*
 * Each connection's bufferevent stops reading once 16 KiB of request bytes
 * wait unprocessed.  Without it a client that pipelines requests and never
 * reads the replies makes the agent buffer everything it sends.
 */
#define HTTP_READ_HIGH_WATER (16 * 1024)

static struct bufferevent *new_conn_bev(struct event_base *base, void *arg)
{
	struct bufferevent *bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);

	if (bev)
		bufferevent_setwatermark(bev, EV_READ, 0, HTTP_READ_HIGH_WATER);
	return bev;
}

static void reply(struct evhttp_request *req, int code, const char *reason,
		  const char *ctype, const char *body, size_t len)
{
	struct evbuffer *out = evbuffer_new();

	if (!out) {
		evhttp_send_error(req, HTTP_INTERNAL, "out of memory");
		return;
	}
	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", ctype);
	if (evhttp_request_get_command(req) != EVHTTP_REQ_HEAD)
		evbuffer_add(out, body, len);
	evhttp_send_reply(req, code, reason, out);
	evbuffer_free(out);
}

/* An extra route's reply; false if no route has this path. */
static bool route_request(struct vigil_prom *p, struct evhttp_request *req, const char *uri,
			  size_t plen)
{
	for (unsigned i = 0; i < p->nroutes; i++) {
		struct vigil_http_route *r = &p->routes[i];
		char *body = NULL;
		size_t len = 0;

		if (strlen(r->path) != plen || strncmp(uri, r->path, plen))
			continue;
		if (r->fn(r->ctx, uri[plen] == '?' ? uri + plen + 1 : "", &body, &len) < 0) {
			reply(req, HTTP_INTERNAL, "Internal Server Error", "text/plain",
			      "cannot render\n", 14);
		} else {
			reply(req, HTTP_OK, "OK", r->ctype, body, len);
		}
		free(body);
		return true;
	}
	return false;
}

static void on_request(struct evhttp_request *req, void *arg)
{
	struct vigil_prom *p = arg;
	const char *uri = evhttp_request_get_uri(req);
	enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
	char why[256], body[300];
	size_t plen = strcspn(uri, "?");
	char *text;
	size_t len;

	if (cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_HEAD) {
		reply(req, 405, "Method Not Allowed", "text/plain", "GET only\n", 9);
		return;
	}
	if (plen == 8 && !strncmp(uri, "/metrics", 8)) {
		p->scrapes++;
		if (prometheus_render(p->metrics, &text, &len) < 0) {
			reply(req, HTTP_INTERNAL, "Internal Server Error", "text/plain", "out of memory\n", 14);
			return;
		}
		reply(req, HTTP_OK, "OK", "text/plain; version=0.0.4; charset=utf-8", text, len);
		free(text);
	} else if ((plen == 8 && !strncmp(uri, "/healthz", 8)) ||
		   (plen == 7 && !strncmp(uri, "/readyz", 7))) {
		bool health = uri[1] == 'h';
		bool (*check)(void *, char *, size_t) = health ? p->status.healthy : p->status.ready;

		why[0] = 0;
		if (!check || check(p->status.ctx, why, sizeof(why))) {
			reply(req, HTTP_OK, "OK", "text/plain", "ok\n", 3);
		} else {
			len = snprintf(body, sizeof(body), "%s\n", why);
			reply(req, 503, "Service Unavailable", "text/plain", body,
			      len < sizeof(body) ? len : sizeof(body) - 1);
		}
	} else if (route_request(p, req, uri, plen)) {
		return;
	} else {
		reply(req, HTTP_NOTFOUND, "Not Found", "text/plain",
		      "not found: try /metrics, /healthz, /readyz\n", 43);
	}
}

int prometheus_route(struct vigil_prom *p, const char *path, const char *ctype,
		     vigil_http_render_fn fn, void *ctx)
{
	struct vigil_http_route *r;

	if (!fn || path[0] != '/' || strlen(path) >= sizeof(r->path))
		return -EINVAL;
	if (p->nroutes == VIGIL_HTTP_MAX_ROUTES)
		return -ENOSPC;
	r = &p->routes[p->nroutes++];
	snprintf(r->path, sizeof(r->path), "%s", path);
	r->ctype = ctype;
	r->fn = fn;
	r->ctx = ctx;
	return 0;
}

int prometheus_start(struct vigil_prom *p, struct event_base *base, const char *addr,
		     struct vigil_metrics *m, const struct vigil_http_status *st,
		     char *why, size_t whylen)
{
	struct sockaddr_storage ss;
	socklen_t sslen;
	int one = 1, err;

	memset(p, 0, sizeof(*p));
	p->fd = -1;
	err = prometheus_parse_addr(addr, &ss, &sslen, why, whylen);
	if (err)
		return err;
	snprintf(p->addr, sizeof(p->addr), "%s", addr);
	/* Our own socket, so a bind failure comes back with its errno. */
	p->fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (p->fd < 0)
		goto sys_fail;
	setsockopt(p->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(p->fd, (struct sockaddr *)&ss, sslen) < 0 || listen(p->fd, 64) < 0)
		goto sys_fail;
	p->http = evhttp_new(base);
	if (!p->http) {
		err = -ENOMEM;
		snprintf(why, whylen, "metrics server on %s: out of memory", addr);
		goto fail;
	}
	/* A client that stalls mid-request or never reads is dropped after this. */
	evhttp_set_timeout(p->http, 10);
	evhttp_set_max_headers_size(p->http, 8192);
	evhttp_set_max_body_size(p->http, 1024);
	evhttp_set_gencb(p->http, on_request, p);
	evhttp_set_bevcb(p->http, new_conn_bev, p);
	if (!evhttp_accept_socket_with_handle(p->http, p->fd)) {
		close(p->fd);	/* not the server's to close until accepted */
		p->fd = -1;
		err = -EIO;
		snprintf(why, whylen, "metrics server on %s: cannot accept on the socket", addr);
		goto fail;
	}
	p->metrics = m;
	if (st)
		p->status = *st;
	return 0;
sys_fail:
	err = -errno;
	snprintf(why, whylen, "metrics server on %s: %s%s", addr, strerror(errno),
		 errno == EADDRINUSE ? " (another process listens there; pick another --metrics-addr)" : "");
fail:
	prometheus_stop(p);
	return err;
}

void prometheus_stop(struct vigil_prom *p)
{
	if (p->http)
		evhttp_free(p->http);	/* closes the bound socket too */
	else if (p->fd >= 0)
		close(p->fd);
	p->http = NULL;
	p->fd = -1;
}
