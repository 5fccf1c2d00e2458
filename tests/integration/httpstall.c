/*
 * httpstall.c - misbehaving TCP peers for the HTTP server tests
 * (test_http.sh).
 *
 *   httpstall stall HOST PORT [PATH]   connect with the smallest receive
 *       buffer the kernel allows, then pipeline "GET PATH HTTP/1.1" requests
 *       (default /metrics) and never read a byte of the answers.  It keeps
 *       sending until its own send has been blocked for 500 ms (the server
 *       has stopped reading because its responses cannot be written), the
 *       server closes the connection, or 20 s pass.
 *   httpstall partial HOST PORT        connect and send the first line and a
 *       header of a request, never the blank line that ends it.
 *   httpstall listen HOST              listen on HOST:0 (the kernel picks a
 *       free port), to make a port "already in use".
 *
 * stdout, one line, flushed, then the process holds the socket open (it
 * never reads it) until SIGTERM or SIGKILL:
 *   stall:   "blocked sent=N" | "closed sent=N errno=E" | "flowing sent=N"
 *   partial: "partial"
 *   listen:  "port N"
 * Exit status: 1 if it cannot connect/listen, 2 for usage errors.
 *
 * It must never read from the socket: a peer that does not read is the
 * point.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static void usage(void)
{
	fprintf(stderr, "usage: httpstall stall HOST PORT [PATH] | partial HOST PORT | listen HOST\n");
	exit(2);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int tcp_connect(const char *host, const char *port, int rcvbuf)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM };
	struct addrinfo *res, *ai;
	int fd = -1, rc;

	rc = getaddrinfo(host, port, &hints, &res);
	if (rc) {
		fprintf(stderr, "httpstall: %s:%s: %s\n", host, port, gai_strerror(rc));
		exit(1);
	}
	for (ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
		if (fd < 0)
			continue;
		/* Before connect(), so the advertised window is small from the start. */
		if (rcvbuf > 0) {
			setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
			setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &rcvbuf, sizeof(rcvbuf));
		}
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0) {
		fprintf(stderr, "httpstall: cannot connect to %s:%s: %s\n", host, port,
			strerror(errno));
		exit(1);
	}
	return fd;
}

static void hold(void)
{
	for (;;)
		pause();
}

static void stall(const char *host, const char *port, const char *path)
{
	char req[512];
	int fd = tcp_connect(host, port, 1);
	int n = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: vigil-test\r\n\r\n", path);
	unsigned long long sent = 0;
	double start = now_s();
	size_t off = 0;

	if (n < 0 || (size_t)n >= sizeof(req))
		usage();
	while (now_s() - start < 20) {
		struct pollfd p = { .fd = fd, .events = POLLOUT };
		ssize_t w;

		/* POLLOUT not coming back for 500 ms: the server stopped reading. */
		if (poll(&p, 1, 500) == 0) {
			printf("blocked sent=%llu\n", sent);
			fflush(stdout);
			hold();
		}
		w = send(fd, req + off, (size_t)n - off, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
				continue;
			printf("closed sent=%llu errno=%d\n", sent, errno);
			fflush(stdout);
			hold();
		}
		sent += (unsigned long long)w;
		off = (off + (size_t)w) % (size_t)n;
	}
	printf("flowing sent=%llu\n", sent);
	fflush(stdout);
	hold();
}

static void partial(const char *host, const char *port)
{
	static const char req[] = "GET /metrics HTTP/1.1\r\nHost: vigil-test\r\n";
	int fd = tcp_connect(host, port, 1);

	if (send(fd, req, sizeof(req) - 1, MSG_NOSIGNAL) < 0) {
		fprintf(stderr, "httpstall: send: %s\n", strerror(errno));
		exit(1);
	}
	printf("partial\n");
	fflush(stdout);
	hold();
}

static void listen_any(const char *host)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0 || inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
		fprintf(stderr, "httpstall: listen needs an IPv4 address, got '%s'\n", host);
		exit(2);
	}
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, 8) ||
	    getsockname(fd, (struct sockaddr *)&sa, &len)) {
		fprintf(stderr, "httpstall: cannot listen on %s: %s\n", host, strerror(errno));
		exit(1);
	}
	printf("port %u\n", ntohs(sa.sin_port));
	fflush(stdout);
	hold();
}

int main(int argc, char **argv)
{
	if (argc < 3)
		usage();
	if (!strcmp(argv[1], "stall") && (argc == 4 || argc == 5))
		stall(argv[2], argv[3], argc == 5 ? argv[4] : "/metrics");
	else if (!strcmp(argv[1], "partial") && argc == 4)
		partial(argv[2], argv[3]);
	else if (!strcmp(argv[1], "listen") && argc == 3)
		listen_any(argv[2]);
	usage();
}
