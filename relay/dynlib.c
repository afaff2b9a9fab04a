/* SPDX-License-Identifier: MIT */
/*
 * Run-time loading of optional libraries: see dynlib.h.
 */
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "dynlib.h"

struct dynlib_sndfile dynlib_sf;

static const struct dynlib_sym sndfile_syms[] = {
    {"sf_open_fd", (void **)&dynlib_sf.open_fd, NULL},
    {"sf_close", (void **)&dynlib_sf.close, NULL},
    {"sf_command", (void **)&dynlib_sf.command, NULL},
    {"sf_error", (void **)&dynlib_sf.error, NULL},
    {"sf_strerror", (void **)&dynlib_sf.strerror, NULL},
    {"sf_readf_float", (void **)&dynlib_sf.readf_float, NULL},
    {NULL, NULL, NULL},
};

static struct dynlib sndfile_lib =
    DYNLIB_INIT("libsndfile.so.1", "libsndfile1", sndfile_syms);

struct dynlib_curl dynlib_curl;

static const struct dynlib_sym curl_syms[] = {
    {"curl_easy_cleanup", (void **)&dynlib_curl.easy_cleanup, NULL},
    {"curl_easy_escape", (void **)&dynlib_curl.easy_escape, NULL},
    {"curl_easy_getinfo", (void **)&dynlib_curl.easy_getinfo, NULL},
    {"curl_easy_init", (void **)&dynlib_curl.easy_init, NULL},
    {"curl_easy_pause", (void **)&dynlib_curl.easy_pause, NULL},
    {"curl_easy_perform", (void **)&dynlib_curl.easy_perform, NULL},
    {"curl_easy_setopt", (void **)&dynlib_curl.easy_setopt, NULL},
    {"curl_easy_strerror", (void **)&dynlib_curl.easy_strerror, NULL},
    {"curl_free", (void **)&dynlib_curl.free, NULL},
    {"curl_global_init", (void **)&dynlib_curl.global_init, NULL},
    {"curl_multi_add_handle", (void **)&dynlib_curl.multi_add_handle, NULL},
    {"curl_multi_cleanup", (void **)&dynlib_curl.multi_cleanup, NULL},
    {"curl_multi_info_read", (void **)&dynlib_curl.multi_info_read, NULL},
    {"curl_multi_init", (void **)&dynlib_curl.multi_init, NULL},
    {"curl_multi_perform", (void **)&dynlib_curl.multi_perform, NULL},
    {"curl_multi_poll", (void **)&dynlib_curl.multi_poll, NULL},
    {"curl_multi_remove_handle", (void **)&dynlib_curl.multi_remove_handle,
	NULL},
    {"curl_multi_strerror", (void **)&dynlib_curl.multi_strerror, NULL},
    {"curl_multi_wakeup", (void **)&dynlib_curl.multi_wakeup, NULL},
    {NULL, NULL, NULL},
};

static struct dynlib curl_lib =
    DYNLIB_INIT("libcurl.so.4", "libcurl4", curl_syms);

static pthread_mutex_t curl_init_lock = PTHREAD_MUTEX_INITIALIZER;
static int curl_init_rc = 1; /* under curl_init_lock; 1: not done yet */
static char curl_init_err[240];

static void *
lookup(void *h, const struct dynlib_sym *s)
{
	return s->version != NULL ? dlvsym(h, s->name, s->version)
				  : dlsym(h, s->name);
}

/* Runs on: the first caller, under lib->lock. */
static int
load_locked(struct dynlib *lib)
{
	const struct dynlib_sym *s;
	const char *why;
	void *h;

	/* RTLD_NOW: a missing symbol deep inside fails here, at open, not
	 * later on an audio thread. */
	h = dlopen(lib->soname, RTLD_NOW | RTLD_LOCAL);
	if (h == NULL) {
		why = dlerror();
		snprintf(lib->err, sizeof(lib->err),
		    "%s cannot be loaded (%s): install the Debian package %s",
		    lib->soname, why != NULL ? why : "unknown error",
		    lib->package);
		return -ENOENT;
	}
	/* Look everything up before filling anything: a failed load leaves
	 * no half-filled table behind. */
	for (s = lib->syms; s->name != NULL; s++) {
		if (lookup(h, s) == NULL) {
			snprintf(lib->err, sizeof(lib->err),
			    "%s has no %s%s%s: install the Debian package %s",
			    lib->soname, s->name, s->version != NULL ? "@" : "",
			    s->version != NULL ? s->version : "", lib->package);
			dlclose(h);
			return -ENOSYS;
		}
	}
	for (s = lib->syms; s->name != NULL; s++)
		*s->slot = lookup(h, s);
	return 0;
}

int
dynlib_load(struct dynlib *lib, char *err, size_t errlen)
{
	int rc;

	pthread_mutex_lock(&lib->lock);
	/* A failure is not kept: the next use tries again, so a package
	 * installed while relay runs is found by the input's next retry or
	 * the next segment, without a restart. */
	if (lib->rc != 0)
		lib->rc = load_locked(lib);
	rc = lib->rc;
	if (rc < 0 && errlen > 0)
		snprintf(err, errlen, "%s", lib->err);
	pthread_mutex_unlock(&lib->lock);
	return rc;
}

int
dynlib_sndfile_load(char *err, size_t errlen)
{
	return dynlib_load(&sndfile_lib, err, errlen);
}

int
dynlib_curl_init(char *err, size_t errlen)
{
	CURLcode cc;
	int rc;

	pthread_mutex_lock(&curl_init_lock);
	/* Tried again after a failure, as dynlib_load() does. */
	if (curl_init_rc != 0) {
		curl_init_rc = dynlib_load(
		    &curl_lib, curl_init_err, sizeof(curl_init_err));
		if (curl_init_rc == 0 &&
		    (cc = dynlib_curl.global_init(CURL_GLOBAL_DEFAULT)) !=
			CURLE_OK) {
			snprintf(curl_init_err, sizeof(curl_init_err),
			    "libcurl failed to initialise: %s",
			    dynlib_curl.easy_strerror(cc));
			curl_init_rc = -EIO;
		}
	}
	rc = curl_init_rc;
	if (rc < 0 && err != NULL && errlen > 0)
		snprintf(err, errlen, "%s", curl_init_err);
	pthread_mutex_unlock(&curl_init_lock);
	return rc;
}
