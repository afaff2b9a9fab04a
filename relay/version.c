/* SPDX-License-Identifier: MIT */
/*
 * Build identification. The Makefile passes RELAY_GIT_REV for this file.
 *
 * Threads: any.
 */
#include "version.h"

#ifndef RELAY_GIT_REV
#define RELAY_GIT_REV "unknown"
#endif

const char *
relay_git_rev(void)
{
	return RELAY_GIT_REV;
}
