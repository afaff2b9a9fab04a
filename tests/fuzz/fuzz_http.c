/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer: the status server's request handling, end to end. One server
 * (libmicrohttpd, relay's routing, limits, auth and control API, with a
 * token) runs for the whole session on a loopback port; each input is
 * sent as the raw bytes of one connection, and the answer is read until
 * the server closes or 200 ms pass.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "config.h"
#include "fuzz_util.h"
#include "stats.h"
#include "status.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int port;

static int
free_port(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), p = 0;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&a, &len) == 0)
		p = ntohs(a.sin_port);
	if (fd >= 0)
		close(fd);
	return p;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static struct status_server *srv; /* lives as long as the process */
	struct config *cfg = NULL;
	char conf[1024], path[512], err[CONFIG_ERR_LEN];

	(void)argc;
	(void)argv;
	port = free_port();
	snprintf(conf, sizeof(conf),
	    "[input]\ntype = tone\n[output main]\nmount = /live.ogg\n"
	    "password = fuzz-password-1234\n[status]\n"
	    "listen = 127.0.0.1:%d\ntoken = fuzz-token-0123456789\n",
	    port);
	if (fuzz_write_file((const uint8_t *)conf, strlen(conf), ".conf", path,
		sizeof(path)) < 0 ||
	    config_load(path, &cfg, err, sizeof(err)) < 0)
		abort();
	unlink(path);
	stats_configure(cfg);
	srv = status_start(cfg, err, sizeof(err));
	if (srv == NULL)
		abort();
	config_free(cfg);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	struct pollfd pfd;
	char buf[4096];
	int fd;

	a.sin_port = htons((uint16_t)port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return 0;
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
		close(fd);
		return 0;
	}
	if (size > 0)
		(void)send(fd, data, size, MSG_NOSIGNAL);
	shutdown(fd, SHUT_WR);
	pfd.fd = fd;
	pfd.events = POLLIN;
	while (poll(&pfd, 1, 200) > 0) {
		if (recv(fd, buf, sizeof(buf), 0) <= 0)
			break;
	}
	close(fd);
	return 0;
}
