/* SPDX-License-Identifier: MIT */
/* libFuzzer: the config loader (libinih, the key table, validation). */
#include <string.h>

#include "config.h"
#include "fuzz_util.h"
#include "log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[512], err[CONFIG_ERR_LEN];
	struct config *cfg = NULL;

	if (fuzz_write_file(data, size, ".conf", path, sizeof(path)) < 0)
		return 0;
	if (config_load(path, &cfg, err, sizeof(err)) == 0)
		config_free(cfg);
	unlink(path);
	return 0;
}
