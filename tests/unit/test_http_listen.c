/* test_http_listen.c — the HTTP layer's listening socket (ADR 0120): a port
 * in use is refused with its number, never shared (no SO_REUSEPORT), and a
 * stopped server's port can be taken again at once (SO_REUSEADDR). */
#include "test.h"

#include "common/error.h"
#include "common/http_client.h"
#include "common/http_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

static int ok_end(struct http_request *req)
{
	http_respond_bytes(req, 200, "text/plain", "ok", 2);
	return 0;
}

static const struct http_route routes[] = {
	{ "GET", "/ok", "ok", NULL, NULL, ok_end, NULL, 0, 0 },
};

static struct http_server *start_on(const char *bind, struct lh_error *err)
{
	struct http_server_config cfg = { .service = "test", .bind = bind,
					  .routes = routes, .nroutes = 1 };
	return http_server_start(&cfg, err);
}

TEST(http_listen_port_in_use_is_refused_with_its_number)
{
	struct lh_error err = { 0 };
	struct http_server *first = start_on("127.0.0.1:0", &err);
	CHECK(first != NULL);
	unsigned port = http_server_port(first);
	CHECK(port != 0);
	char bind[64], want[64];
	snprintf(bind, sizeof bind, "127.0.0.1:%u", port);
	struct http_server *second = start_on(bind, &err);
	if (second)
		http_server_stop(second);
	CHECK(second == NULL);
	CHECK_EQ_STR(err.code, "bind_failed");
	snprintf(want, sizeof want, "port %u is already in use", port);
	CHECK(strstr(err.msg, want) != NULL);
	CHECK(strstr(err.msg, bind) != NULL);
	CHECK(strstr(err.msg, "port 0") == NULL);
	lh_error_clear(&err);
	http_server_stop(first);
}

/* A foreign listener that itself allows SO_REUSEPORT must not be joined. */
TEST(http_listen_never_shares_a_reuseport_listener)
{
	struct lh_error err = { 0 };
	int fd = socket(AF_INET, SOCK_STREAM, 0), on = 1;
	CHECK(fd >= 0);
	CHECK(setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof on) == 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof a;
	CHECK(bind(fd, (struct sockaddr *)&a, sizeof a) == 0);
	CHECK(listen(fd, 4) == 0);
	CHECK(getsockname(fd, (struct sockaddr *)&a, &len) == 0);
	char bind_s[64];
	snprintf(bind_s, sizeof bind_s, "127.0.0.1:%u", (unsigned)ntohs(a.sin_port));
	struct http_server *srv = start_on(bind_s, &err);
	if (srv)
		http_server_stop(srv);
	close(fd);
	CHECK(srv == NULL);
	CHECK_EQ_STR(err.code, "bind_failed");
	lh_error_clear(&err);
}

/* A restart takes the port back at once, even with a connection the old
 * server closed still in TIME_WAIT. */
TEST(http_listen_restart_on_the_same_port)
{
	struct lh_error err = { 0 };
	struct http_server *srv = start_on("127.0.0.1:0", &err);
	CHECK(srv != NULL);
	char bind[64], url[128];
	snprintf(bind, sizeof bind, "127.0.0.1:%u", http_server_port(srv));
	snprintf(url, sizeof url, "%s/ok", http_server_url(srv));
	struct http_client_response resp;
	CHECK(http_client_json("GET", url, NULL, NULL, &resp, &err) == 0);
	CHECK_EQ_INT(resp.status, 200);
	http_client_response_free(&resp);
	http_server_stop(srv);   /* closes the kept-alive connection: TIME_WAIT here */

	srv = start_on(bind, &err);
	CHECK(srv != NULL);
	CHECK(http_client_json("GET", url, NULL, NULL, &resp, &err) == 0);
	CHECK_EQ_INT(resp.status, 200);
	http_client_response_free(&resp);
	http_server_stop(srv);
}
