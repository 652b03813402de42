/*
 * The metrics endpoint: libevent's evhttp serving GET /metrics (the
 * Prometheus text format, metrics_text.c) and GET / (a page that links
 * to it), on a thread and event base of its own, so that a scrape never
 * runs on a worker's loop and a slow HTTP client never waits in one.
 * The data path knows nothing of it: workers only add to their counter
 * slots (stats.c), which this thread reads.
 *
 * A client may not hold it up: requests are small (headers of at most
 * METRICS_MAX_HEADERS bytes, no body), and a request not whole within
 * METRICS_TIMEOUT seconds is dropped.  evhttp serves every client from
 * one loop without blocking, so a half-sent request costs a descriptor
 * until its timeout, not the endpoint.  Nor may many clients take the
 * descriptors the echo service needs, which share the process's limit:
 * with METRICS_MAX_CLIENTS connected, the endpoint stops accepting until
 * one leaves, and further clients wait in the listen queue.  evhttp
 * (libevent 2.1) has no such limit of its own; iod counts the clients
 * it hands evhttp and asks evhttp to say when each closes.
 *
 * The socket is opened with the listeners (metrics_open), before
 * privileges are dropped, and served once workers run (metrics_start).
 * A reload does not move it: metrics_listen needs a restart.
 */
#include <sys/eventfd.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/listener.h>
#include <event2/keyvalq_struct.h>

#include "conf.h"
#include "listen.h"
#include "log.h"
#include "metrics.h"
#include "metrics_text.h"

#define METRICS_MAX_HEADERS	8192	/* bytes of request line and headers */
#define METRICS_MAX_BODY	1024	/* a GET has none */
#define METRICS_TIMEOUT		5	/* seconds for a whole request */
#define METRICS_BACKLOG		16
#define METRICS_MAX_CLIENTS	32	/* connected at once */

static int		 metrics_fd = -1;	/* the listening socket */
static int		 metrics_stop_fd = -1;	/* eventfd: stop */
static struct event_base *metrics_base;
static struct evhttp	*metrics_http;
static pthread_t	 metrics_thread;
static int		 metrics_running;
static char		 metrics_engine[64];
static struct evconnlistener *metrics_listener;	/* evhttp's, for pausing */
static int		 metrics_clients;	/* connected, on its thread */

static void	*metrics_main(void *);
static void	 metrics_request_cb(struct evhttp_request *, void *);
static struct bufferevent *metrics_client_new(struct event_base *, void *);
static void	 metrics_client_watch(evutil_socket_t, short, void *);
static void	 metrics_client_gone(struct evhttp_connection *, void *);
static void	 metrics_stop_cb(evutil_socket_t, short, void *);
static void	 metrics_reply(struct evhttp_request *, int, const char *,
		    const char *, struct evbuffer *);

/*
 * Open the socket of metrics_listen, if set, and say where it is; the
 * port is the one bound, for metrics_listen with port 0.  Return -1 and
 * a cause naming the address on failure.
 */
int
metrics_open(const struct iod_conf *conf, char *cause, size_t len)
{
	struct listen_addr	la;
	char			why[256], name[128];

	if (conf->metrics_listen == NULL)
		return (0);
	if (listen_parse(conf->metrics_listen, &la, why, sizeof(why)) == -1 ||
	    (metrics_fd = listen_open(&la, METRICS_BACKLOG, conf->unix_mode,
	    why, sizeof(why))) == -1) {
		snprintf(cause, len, "metrics_listen %s: %s",
		    conf->metrics_listen, why);
		return (-1);
	}
	if (listen_name(metrics_fd, name, sizeof(name)) == -1)
		snprintf(name, sizeof(name), "%s", conf->metrics_listen);
	log_info("metrics endpoint on %s%s/metrics", la.la_family == AF_UNIX ?
	    "" : "http://", name);
	return (0);
}

/*
 * Serve the socket metrics_open() opened, if any, on a thread of its
 * own, for an iod running engine.  Return -1 and a cause on failure.
 */
int
metrics_start(const char *engine, char *cause, size_t len)
{
	struct evhttp_bound_socket *bound;
	struct event	*ev;
	int		 fd;

	if (metrics_fd == -1)
		return (0);
	snprintf(metrics_engine, sizeof(metrics_engine), "%s", engine);
	if ((metrics_base = event_base_new()) == NULL ||
	    (metrics_http = evhttp_new(metrics_base)) == NULL) {
		snprintf(cause, len, "metrics: cannot create an HTTP server");
		return (-1);
	}
	evhttp_set_max_headers_size(metrics_http, METRICS_MAX_HEADERS);
	evhttp_set_max_body_size(metrics_http, METRICS_MAX_BODY);
	evhttp_set_timeout(metrics_http, METRICS_TIMEOUT);
	evhttp_set_allowed_methods(metrics_http, EVHTTP_REQ_GET |
	    EVHTTP_REQ_HEAD | EVHTTP_REQ_POST | EVHTTP_REQ_PUT |
	    EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS | EVHTTP_REQ_PATCH);
	evhttp_set_gencb(metrics_http, metrics_request_cb, NULL);
	evhttp_set_bevcb(metrics_http, metrics_client_new, NULL);
	/*
	 * evhttp closes the descriptor it serves when freed; iod keeps its
	 * own, so that metrics_stop() removes a unix socket's file as
	 * listen_close() does for every listener.
	 */
	if ((fd = fcntl(metrics_fd, F_DUPFD_CLOEXEC, 0)) == -1 ||
	    (bound = evhttp_accept_socket_with_handle(metrics_http,
	    fd)) == NULL) {
		snprintf(cause, len, "metrics: cannot serve its socket");
		if (fd != -1)
			close(fd);
		return (-1);
	}
	metrics_listener = evhttp_bound_socket_get_listener(bound);
	if ((metrics_stop_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) == -1) {
		snprintf(cause, len, "metrics: eventfd: %s", strerror(errno));
		return (-1);
	}
	ev = event_new(metrics_base, metrics_stop_fd, EV_READ, metrics_stop_cb,
	    NULL);
	if (ev == NULL || event_add(ev, NULL) == -1) {
		snprintf(cause, len, "metrics: cannot watch for stop");
		return (-1);
	}
	if ((errno = pthread_create(&metrics_thread, NULL, metrics_main,
	    ev)) != 0) {
		snprintf(cause, len, "metrics: thread: %s", strerror(errno));
		return (-1);
	}
	metrics_running = 1;
	return (0);
}

/*
 * Stop serving and free everything; the listening socket closes too, and
 * a unix socket's file is removed.
 */
void
metrics_stop(void)
{
	uint64_t	one = 1;

	if (!metrics_running)
		return;
	if (write(metrics_stop_fd, &one, sizeof(one)) == -1)
		log_warn("metrics: stop");
	pthread_join(metrics_thread, NULL);
	metrics_running = 0;
	/* evhttp frees its listener before its clients: let none resume it. */
	metrics_listener = NULL;
	evhttp_free(metrics_http);
	event_base_free(metrics_base);
	close(metrics_stop_fd);
	listen_close(metrics_fd);
	metrics_http = NULL;
	metrics_base = NULL;
	metrics_stop_fd = -1;
	metrics_fd = -1;
}

/* The endpoint's thread: its loop, until metrics_stop(). */
static void *
metrics_main(void *arg)
{
	struct event	*ev = arg;

	event_base_dispatch(metrics_base);
	event_free(ev);
	return (NULL);
}

/* metrics_stop() asked: leave the loop. */
static void
metrics_stop_cb(evutil_socket_t fd, short what, void *arg)
{
	event_base_loopbreak(metrics_base);
}

/*
 * evhttp's bufferevent for a client just accepted, made here only to
 * count the client: the METRICS_MAX_CLIENTS-th pauses the listener.
 * evhttp sets its callbacks on it, their argument the client's
 * evhttp_connection, only after this returns; metrics_client_watch(),
 * run from the loop next, reads that connection from it and asks to be
 * told of its close.  The reference taken here keeps the bufferevent
 * (and, with BEV_OPT_CLOSE_ON_FREE, its descriptor) alive until then,
 * even if evhttp is done with the client first.  If anything fails,
 * evhttp makes a bufferevent of its own, which goes uncounted.
 */
static struct bufferevent *
metrics_client_new(struct event_base *base, void *arg)
{
	static const struct timeval	now = { 0, 0 };
	struct bufferevent		*bev;

	if ((bev = bufferevent_socket_new(base, -1,
	    BEV_OPT_CLOSE_ON_FREE)) == NULL)
		return (NULL);
	bufferevent_incref(bev);
	if (event_base_once(base, -1, EV_TIMEOUT, metrics_client_watch, bev,
	    &now) == -1) {
		bufferevent_decref(bev);
		bufferevent_free(bev);
		return (NULL);
	}
	if (++metrics_clients == METRICS_MAX_CLIENTS &&
	    metrics_listener != NULL)
		evconnlistener_disable(metrics_listener);
	return (bev);
}

/*
 * The client of bufferevent arg has been handed to evhttp: be told when
 * it closes, or, if evhttp has already let it go (bufferevent_free()
 * and evhttp's reset clear its callbacks), count it gone now.
 */
static void
metrics_client_watch(evutil_socket_t fd, short what, void *arg)
{
	struct bufferevent	*bev = arg;
	bufferevent_event_cb	 eventcb;
	void			*evcon;

	bufferevent_getcb(bev, NULL, NULL, &eventcb, &evcon);
	if (eventcb != NULL && evcon != NULL)
		evhttp_connection_set_closecb(evcon, metrics_client_gone,
		    NULL);
	else
		metrics_client_gone(NULL, NULL);
	bufferevent_decref(bev);
}

/* A client has closed or been closed: make room for the next. */
static void
metrics_client_gone(struct evhttp_connection *evcon, void *arg)
{
	if (metrics_clients-- == METRICS_MAX_CLIENTS &&
	    metrics_listener != NULL)
		evconnlistener_enable(metrics_listener);
}

/* Every request: /metrics, /, or an error. */
static void
metrics_request_cb(struct evhttp_request *req, void *arg)
{
	const struct evhttp_uri	*uri = evhttp_request_get_evhttp_uri(req);
	const char		*path = uri != NULL ?
				    evhttp_uri_get_path(uri) : NULL;
	enum evhttp_cmd_type	 cmd = evhttp_request_get_command(req);
	struct evbuffer		*body;

	if (path == NULL || (strcmp(path, "/metrics") != 0 &&
	    strcmp(path, "/") != 0)) {
		metrics_reply(req, HTTP_NOTFOUND, "Not Found", NULL, NULL);
		return;
	}
	if (cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_HEAD) {
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Allow", "GET, HEAD");
		metrics_reply(req, 405, "Method Not Allowed", NULL, NULL);
		return;
	}
	/* A reply to HEAD has the headers of a GET and no body. */
	if ((body = evbuffer_new()) == NULL) {
		metrics_reply(req, HTTP_INTERNAL, "Internal Server Error",
		    NULL, NULL);
		return;
	}
	if (strcmp(path, "/metrics") == 0) {
		if (cmd == EVHTTP_REQ_GET)
			metrics_text(body, metrics_engine);
		metrics_reply(req, HTTP_OK, "OK",
		    "text/plain; version=0.0.4; charset=utf-8", body);
	} else {
		if (cmd == EVHTTP_REQ_GET)
			evbuffer_add_printf(body, "<!DOCTYPE html>\n<html>"
			    "<head><title>iod</title></head><body><h1>iod"
			    "</h1>\n<p><a href=\"/metrics\">Metrics</a></p>"
			    "</body></html>\n");
		metrics_reply(req, HTTP_OK, "OK", "text/html; charset=utf-8",
		    body);
	}
	evbuffer_free(body);
}

/* Answer req with code and reason, and body of type, if any. */
static void
metrics_reply(struct evhttp_request *req, int code, const char *reason,
    const char *type, struct evbuffer *body)
{
	struct evkeyvalq	*h = evhttp_request_get_output_headers(req);

	if (type != NULL)
		evhttp_add_header(h, "Content-Type", type);
	else
		evhttp_add_header(h, "Content-Type",
		    "text/plain; charset=utf-8");
	if (body == NULL) {
		struct evbuffer *b = evbuffer_new();

		if (b != NULL)
			evbuffer_add_printf(b, "%d %s\n", code, reason);
		evhttp_send_reply(req, code, reason, b);
		if (b != NULL)
			evbuffer_free(b);
		return;
	}
	evhttp_send_reply(req, code, reason, body);
}
