/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer: the Ogg feed reader (source_stream.c: libcurl, vorbisfile
 * callbacks, chained streams whose rate or channel count change, mixing
 * and resampling). A loopback HTTP server thread in this process answers
 * each request with the current input as an application/ogg body.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "fuzz_util.h"
#include "source_stream.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int listen_fd = -1, port;
static pthread_mutex_t body_lock = PTHREAD_MUTEX_INITIALIZER;
static uint8_t *body; /* a copy: a late request may outlive the input */
static size_t body_len;

/* Serves every connection the current body, then closes it. */
static void *
server_thread(void *arg)
{
	char req[2048], head[128];
	int fd;

	(void)arg;
	while ((fd = accept(listen_fd, NULL, NULL)) >= 0) {
		(void)recv(fd, req, sizeof(req), 0);
		pthread_mutex_lock(&body_lock);
		snprintf(head, sizeof(head),
		    "HTTP/1.0 200 OK\r\nContent-Type: application/ogg\r\n"
		    "Content-Length: %zu\r\n\r\n",
		    body_len);
		(void)send(fd, head, strlen(head), MSG_NOSIGNAL);
		if (body_len > 0)
			(void)send(fd, body, body_len, MSG_NOSIGNAL);
		pthread_mutex_unlock(&body_lock);
		close(fd);
	}
	return NULL;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t len = sizeof(a);
	pthread_t t;

	(void)argc;
	(void)argv;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (listen_fd < 0 ||
	    bind(listen_fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
	    listen(listen_fd, 8) != 0 ||
	    getsockname(listen_fd, (struct sockaddr *)&a, &len) != 0)
		abort();
	port = ntohs(a.sin_port);
	if (pthread_create(&t, NULL, server_thread, NULL) != 0)
		abort();
	pthread_detach(t);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static float frames[4096 * 2];
	struct source_stream *st = NULL;
	atomic_bool stop = false;
	char url[64], err[512];
	int i;

	pthread_mutex_lock(&body_lock);
	free(body);
	body = malloc(size > 0 ? size : 1);
	if (body != NULL && size > 0)
		memcpy(body, data, size);
	body_len = body != NULL ? size : 0;
	pthread_mutex_unlock(&body_lock);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/feed.ogg", port);
	if (source_stream_open(url, NULL, "fuzz", 44100, 2, &stop, &st, err,
		sizeof(err)) == 0) {
		/* Bounded: the body is at most what the fuzzer gave. */
		for (i = 0; i < 256; i++) {
			if (source_stream_read(st, frames, 4096) <= 0)
				break;
		}
		source_stream_close(st);
	}
	return 0;
}
