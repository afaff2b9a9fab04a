/* SPDX-License-Identifier: MIT */
/* libFuzzer: control API request bodies; the first byte picks the
 * endpoint. */
#include <string.h>

#include "control.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct control_request req;
	char err[512], desc[1024];
	enum control_endpoint ep;
	int64_t now = INT64_C(1796014800) * NS_PER_SEC;

	if (size < 1)
		return 0;
	ep = (enum control_endpoint)(data[0] % 4);
	if (control_parse(ep, (const char *)data + 1, size - 1, now, &req, err,
		sizeof(err)) == 0)
		(void)control_describe(&req, desc, sizeof(desc));
	return 0;
}
