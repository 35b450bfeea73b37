/* test_queryd_wire.c — wire.c: frames survive the socket whole (empty,
 * binary, the largest size), an oversized frame is refused on both ends, EOF
 * mid-frame is an error, and wire_wait honours its deadline and notices a
 * client that hung up. (pool.c and worker.c are driven for real by
 * tests/integration/test_engine_containment.py.) */
#include "test.h"

#include "common/xmalloc.h"
#include "queryd/queryd_int.h"

#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

TEST(queryd_wire_frames_round_trip)
{
	int sv[2];
	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	char bin[5] = { 'a', 0, 'b', '\n', (char)0xff };
	CHECK(wire_send(sv[0], WIRE_START, NULL, 0) == 0);
	CHECK(wire_send(sv[0], WIRE_DATA, bin, sizeof bin) == 0);
	json_t *doc = json_pack("{s:i}", "rows", 3);
	CHECK(wire_send_json(sv[0], WIRE_END, doc) == 0);
	json_decref(doc);

	char type, *p = NULL;
	size_t n;
	CHECK(wire_recv(sv[1], &type, &p, &n) == 0);
	CHECK_EQ_INT(type, WIRE_START);
	CHECK_EQ_INT(n, 0);
	free(p);
	CHECK(wire_recv(sv[1], &type, &p, &n) == 0);
	CHECK_EQ_INT(type, WIRE_DATA);
	CHECK_EQ_INT(n, sizeof bin);
	CHECK(memcmp(p, bin, sizeof bin) == 0);
	free(p);
	CHECK(wire_recv(sv[1], &type, &p, &n) == 0);
	CHECK_EQ_INT(type, WIRE_END);
	CHECK_EQ_STR(p, "{\"rows\":3}");
	free(p);
	close(sv[0]);
	CHECK(wire_recv(sv[1], &type, &p, &n) == -1);   /* EOF */
	CHECK(p == NULL);
	close(sv[1]);
}

TEST(queryd_wire_size_limits)
{
	int sv[2];
	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	/* Refused before anything is written (-2: the socket is still usable). */
	CHECK(wire_send(sv[0], WIRE_DATA, "", (size_t)WIRE_MAX_PAYLOAD + 1) == -2);
	/* A header announcing too much is refused by the reader. */
	unsigned char hdr[5] = { WIRE_DATA, 0xff, 0xff, 0xff, 0x7f };
	CHECK(write(sv[0], hdr, sizeof hdr) == (ssize_t)sizeof hdr);
	char type, *p = NULL;
	size_t n;
	CHECK(wire_recv(sv[1], &type, &p, &n) == -1);
	close(sv[0]);
	close(sv[1]);

	/* The largest frame goes through whole (a writer thread is not needed:
	 * the reader drains while the writer blocks, so use a child). */
	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		char *big = xcalloc(1, WIRE_MAX_PAYLOAD);
		big[WIRE_MAX_PAYLOAD - 1] = 'z';
		_exit(wire_send(sv[0], WIRE_DATA, big, WIRE_MAX_PAYLOAD) == 0 ? 0 : 1);
	}
	CHECK(wire_recv(sv[1], &type, &p, &n) == 0);
	CHECK_EQ_INT(n, WIRE_MAX_PAYLOAD);
	CHECK_EQ_INT(p[WIRE_MAX_PAYLOAD - 1], 'z');
	free(p);
	close(sv[0]);
	close(sv[1]);
}

TEST(queryd_wire_truncated_frame)
{
	int sv[2];
	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	unsigned char hdr[5] = { WIRE_DATA, 10, 0, 0, 0 };
	CHECK(write(sv[0], hdr, sizeof hdr) == (ssize_t)sizeof hdr);
	CHECK(write(sv[0], "abc", 3) == 3);
	close(sv[0]);   /* the worker died mid-frame */
	char type, *p = NULL;
	size_t n;
	CHECK(wire_recv(sv[1], &type, &p, &n) == -1);
	CHECK(p == NULL);
	close(sv[1]);
}

TEST(queryd_wire_wait_deadline_and_hang_up)
{
	int w[2], c[2];
	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, w) == 0);
	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, c) == 0);
	double t0 = mono_ms();
	CHECK_EQ_INT(wire_wait(w[1], c[1], t0 + 150), WIRE_WAIT_TIMEOUT);
	double took = mono_ms() - t0;
	CHECK(took >= 140 && took < 1000);
	/* A past deadline answers at once. */
	CHECK_EQ_INT(wire_wait(w[1], c[1], t0), WIRE_WAIT_TIMEOUT);
	/* A readable worker socket wins. */
	CHECK(wire_send(w[0], WIRE_START, NULL, 0) == 0);
	CHECK_EQ_INT(wire_wait(w[1], c[1], mono_ms() + 1000), WIRE_WAIT_READY);
	char type, *p = NULL;
	size_t n;
	CHECK(wire_recv(w[1], &type, &p, &n) == 0);
	free(p);
	/* A client that hangs up is noticed well before the deadline; data the
	 * client sends (a pipelined request) is not a hang-up. */
	CHECK(write(c[0], "x", 1) == 1);
	CHECK_EQ_INT(wire_wait(w[1], c[1], mono_ms() + 100), WIRE_WAIT_TIMEOUT);
	close(c[0]);
	t0 = mono_ms();
	CHECK_EQ_INT(wire_wait(w[1], c[1], t0 + 5000), WIRE_WAIT_CLIENT_GONE);
	CHECK(mono_ms() - t0 < 1000);
	/* EOF from a dead worker reads as ready; wire_recv then says -1. */
	close(w[0]);
	CHECK_EQ_INT(wire_wait(w[1], -1, mono_ms() + 1000), WIRE_WAIT_READY);
	CHECK(wire_recv(w[1], &type, &p, &n) == -1);
	close(w[1]);
	close(c[1]);
}
