/* http_client.h — HTTP requests to other services, on libcurl.
 *
 * Services talk to each other only over HTTP (ADR 0001). This is the one file
 * pair that wraps libcurl. Bodies can come from memory, a file descriptor or a
 * callback, and responses can go to a capped memory buffer, a file descriptor
 * or a callback, so large objects stream without being held in memory.
 *
 * Failures to reach the peer become a 502 "upstream_unavailable" (504
 * "upstream_timeout" for time-outs) in `err`; an HTTP answer of any status is
 * a success of this layer (check resp->status).
 */
#ifndef LH_HTTP_CLIENT_H
#define LH_HTTP_CLIENT_H
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct lh_error;

/* Called with each chunk of the response body; return 0 to go on, -1 to stop. */
typedef int (*http_client_sink_fn)(void *ctx, const char *data, size_t n);
/* Fill up to `max` bytes of request body; return count, 0 at end, -1 to abort. */
typedef ssize_t (*http_client_source_fn)(void *ctx, char *buf, size_t max);
/* Optional response-header hook: called for each header line of the final
 * response (`name` and `value` NUL-terminated, value trimmed), then once with
 * name == NULL and value == NULL when the header block is complete, before the
 * first body byte reaches the sink. Interim 1xx responses are not reported.
 * Return 0 to go on, -1 to abort the transfer. (Used by the gateway to start
 * its response as soon as the upstream's status and headers are known.) */
typedef int (*http_client_header_fn)(void *ctx, long status, const char *name,
				      const char *value);

struct http_client_request {
	const char *method;              /* "GET", "PUT", "POST", "DELETE", "HEAD" */
	const char *url;
	const char *const *headers;      /* NULL-terminated "Name: value" list, or NULL;
					  * "Expect: 100-continue" here turns on the
					  * 100-continue handshake (off by default) */
	const char *request_id;          /* sent as X-Request-Id when set */
	const char *bearer_token;        /* sent as "Authorization: Bearer <t>" when
					  * set and non-empty (service-to-service
					  * calls, auth.h auth_service_token) */
	/* Body: at most one of these. */
	const void *body;  size_t body_len;          /* memory */
	int body_fd;       uint64_t body_fd_len;     /* file; -1 = unused (set it!) */
	http_client_source_fn body_source; void *body_source_ctx; /* chunked */
	uint64_t body_source_len;        /* body_source: total length, sent as
					  * Content-Length; 0 = unknown (chunked) */
	/* Response: sink if set, else fd if >= 0, else memory (capped). */
	http_client_sink_fn sink; void *sink_ctx;
	int response_fd;                 /* -1 = unused */
	size_t max_buffered;             /* memory cap; 0 = LH_HTTP_CLIENT_MAX_BUFFERED */
	unsigned timeout_ms;             /* 0 = LH_HTTP_CLIENT_TIMEOUT_MS */
	http_client_header_fn on_header; void *on_header_ctx; /* optional */
	/* Optional AWS Signature V4 (S3 and compatible stores): the provider
	 * string of CURLOPT_AWS_SIGV4, e.g. "aws:amz:us-east-1:s3", with the
	 * access key id and secret as username/password. The payload is not
	 * hashed: "x-amz-content-sha256: UNSIGNED-PAYLOAD" is sent (and signed)
	 * unless `headers` already carries that header. All borrowed. */
	const char *aws_sigv4;
	const char *username;
	const char *password;
	/* Optional OUT: set to 1 when the request failed before any byte
	 * reached the peer (no connection: refused, unresolvable host, connect
	 * time-out), else 0. Such a request is safe to send elsewhere whatever
	 * its method (upstream.c, ADR 0075). */
	int *not_sent;
	/* Optional: polled by curl while the transfer runs (about once a
	 * second when nothing moves, more often when data flows); returning
	 * nonzero aborts the transfer. The gateway uses it to drop an upstream
	 * request whose client has hung up. */
	int (*cancelled)(void *ctx); void *cancelled_ctx;
};

struct http_client_response {
	long status;
	char *body;          /* memory responses: NUL-terminated, owned */
	size_t body_len;
	char *content_type;  /* owned, or NULL */
	char *etag;          /* owned, or NULL */
	uint64_t content_length; /* from the header, or UINT64_MAX */
};

/* Initialise a request with every field unused (fds = -1). */
void http_client_request_init(struct http_client_request *r);
/* Perform the request. Returns 0 with *resp filled, or -1 with err. */
int http_client_do(const struct http_client_request *r,
		   struct http_client_response *resp, struct lh_error *err);
/* Free the response's data, not the struct. */
void http_client_response_free(struct http_client_response *resp);

/* Convenience: JSON request/response to a service. `body` may be NULL.
 * Returns 0 with resp filled (any status), -1 with err on transport failure. */
int http_client_json(const char *method, const char *url, const char *body,
		     const char *request_id, struct http_client_response *resp,
		     struct lh_error *err);
/* The same with a bearer token (NULL or "" = none). */
int http_client_json_auth(const char *method, const char *url, const char *body,
			  const char *request_id, const char *bearer_token,
			  struct http_client_response *resp, struct lh_error *err);

/* Once per process, before threads start. */
void http_client_global_init(void);

#endif
