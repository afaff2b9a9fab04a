/* SPDX-License-Identifier: MIT */
/* libFuzzer: Icecast's /status-json.xsl as the poller reads it. */
#include "icecast_poll.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct icecast_mount_status st;

	(void)icecast_status_parse((const char *)data, size, "/live.ogg", &st);
	return 0;
}
