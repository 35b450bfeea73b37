/* wire.c — the frames queryd and its worker processes exchange over one
 * socketpair (worker.c is one end, pool.c the other).
 *
 * A frame is one type byte, a 4-byte little-endian payload length, then the
 * payload (at most WIRE_MAX_PAYLOAD bytes; result data comes in frames of
 * at most WIRE_DATA_CHUNK). Both sides write whole frames
 * with blocking writes (MSG_NOSIGNAL: a dead peer is an error, not SIGPIPE);
 * the parent reads with a deadline (wire_wait) so a stuck worker can never
 * hold a request thread past its time limit.
 */
#include "queryd/queryd_int.h"

#include "common/clock.h"
#include "common/xmalloc.h"

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int write_all(int fd, const void *p, size_t n)
{
	const char *s = p;
	while (n > 0) {
		ssize_t w = send(fd, s, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		s += w;
		n -= (size_t)w;
	}
	return 0;
}

static int read_all(int fd, void *p, size_t n)
{
	char *s = p;
	while (n > 0) {
		ssize_t r = read(fd, s, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		s += r;
		n -= (size_t)r;
	}
	return 0;
}

int wire_send(int fd, char type, const void *payload, size_t n)
{
	unsigned char hdr[5];
	if (n > WIRE_MAX_PAYLOAD)
		return -2;
	hdr[0] = (unsigned char)type;
	hdr[1] = (unsigned char)(n & 0xff);
	hdr[2] = (unsigned char)((n >> 8) & 0xff);
	hdr[3] = (unsigned char)((n >> 16) & 0xff);
	hdr[4] = (unsigned char)((n >> 24) & 0xff);
	if (write_all(fd, hdr, sizeof hdr))
		return -1;
	return n ? write_all(fd, payload, n) : 0;
}

int wire_send_json(int fd, char type, const json_t *doc)
{
	char *s = json_dumps(doc, JSON_COMPACT);
	int rc = s ? wire_send(fd, type, s, strlen(s)) : -2;
	free(s);
	return rc;
}

int wire_recv(int fd, char *type, char **payload, size_t *n)
{
	unsigned char hdr[5];
	*payload = NULL;
	*n = 0;
	if (read_all(fd, hdr, sizeof hdr))
		return -1;
	size_t len = (size_t)hdr[1] | (size_t)hdr[2] << 8 | (size_t)hdr[3] << 16 |
		     (size_t)hdr[4] << 24;
	if (len > WIRE_MAX_PAYLOAD)
		return -1;
	char *p = xmalloc(len + 1);
	if (len && read_all(fd, p, len)) {
		free(p);
		return -1;
	}
	p[len] = '\0';
	*type = (char)hdr[0];
	*payload = p;
	*n = len;
	return 0;
}

int wire_wait(int fd, int client_fd, double deadline_ms)
{
	for (;;) {
		double left = deadline_ms - clock_mono_ms();
		if (left <= 0)
			return WIRE_WAIT_TIMEOUT;
		/* Wake at least every 200 ms: poll's POLLRDHUP is reliable, but a
		 * bounded slice keeps the deadline exact whatever happens. */
		int slice = left > 200 ? 200 : (int)left + 1;
		struct pollfd p[2] = { { .fd = fd, .events = POLLIN },
				       { .fd = client_fd, .events = POLLRDHUP } };
		int r = poll(p, client_fd >= 0 ? 2 : 1, slice);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return WIRE_WAIT_ERROR;
		if (p[0].revents)
			return WIRE_WAIT_READY;   /* data, EOF or error: wire_recv tells */
		if (client_fd >= 0 && (p[1].revents & (POLLRDHUP | POLLHUP | POLLERR)))
			return WIRE_WAIT_CLIENT_GONE;
	}
}
