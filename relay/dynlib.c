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

struct dynlib_soxr dynlib_soxr;

static const struct dynlib_sym soxr_syms[] = {
    {"soxr_create", (void **)&dynlib_soxr.create, NULL},
    {"soxr_delete", (void **)&dynlib_soxr.delete_, NULL},
    {"soxr_process", (void **)&dynlib_soxr.process, NULL},
    {"soxr_delay", (void **)&dynlib_soxr.delay, NULL},
    {"soxr_io_spec", (void **)&dynlib_soxr.io_spec, NULL},
    {"soxr_quality_spec", (void **)&dynlib_soxr.quality_spec, NULL},
    {"soxr_runtime_spec", (void **)&dynlib_soxr.runtime_spec, NULL},
    {NULL, NULL, NULL},
};

static struct dynlib soxr_lib =
    DYNLIB_INIT("libsoxr.so.0", "libsoxr0", soxr_syms);

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

/* Debian's GnuTLS build of libcurl first: libmicrohttpd has already mapped
 * and initialised gnutls, where the OpenSSL build's curl_global_init()
 * pages in ~2 MB more of libcrypto (docs/performance.md, Memory). The API
 * and ABI are the same (one source package, one version); the OpenSSL
 * build, whose headers relay compiles against, is the fallback. */
static struct dynlib curl_lib = DYNLIB_INIT_FALLBACK(
    "libcurl-gnutls.so.4", "libcurl3-gnutls", curl_syms, "libcurl.so.4");

static pthread_mutex_t curl_init_lock = PTHREAD_MUTEX_INITIALIZER;
static int curl_init_rc = 1; /* under curl_init_lock; 1: not done yet */
static char curl_init_err[sizeof(((struct dynlib *)0)->err)];

static void *
lookup(void *h, const struct dynlib_sym *s)
{
	return s->version != NULL ? dlvsym(h, s->name, s->version)
				  : dlsym(h, s->name);
}

/* Opens soname and looks every function of lib up in it. 0 and *hp, or a
 * negative errno with why ("cannot be loaded (reason)", "has no f"). */
static int
open_one(const struct dynlib *lib, const char *soname, void **hp, char *why,
    size_t whylen)
{
	const struct dynlib_sym *s;
	const char *msg;
	size_t n = strlen(soname);
	void *h;

	/* RTLD_NOW: a missing symbol deep inside fails here, at open, not
	 * later on an audio thread. */
	h = dlopen(soname, RTLD_NOW | RTLD_LOCAL);
	if (h == NULL) {
		msg = dlerror();
		if (msg == NULL)
			msg = "unknown error";
		/* dlerror() repeats the name the message starts with. */
		if (strncmp(msg, soname, n) == 0 &&
		    strncmp(msg + n, ": ", 2) == 0)
			msg += n + 2;
		snprintf(why, whylen, "cannot be loaded (%s)", msg);
		return -ENOENT;
	}
	/* Look everything up before filling anything: a failed load leaves
	 * no half-filled table behind. */
	for (s = lib->syms; s->name != NULL; s++) {
		if (lookup(h, s) == NULL) {
			snprintf(why, whylen, "has no %s%s%s", s->name,
			    s->version != NULL ? "@" : "",
			    s->version != NULL ? s->version : "");
			dlclose(h);
			return -ENOSYS;
		}
	}
	*hp = h;
	return 0;
}

/* Runs on: the first caller, under lib->lock. */
static int
load_locked(struct dynlib *lib)
{
	const struct dynlib_sym *s;
	char why[200], why_fb[200];
	const char *name = lib->soname;
	void *h = NULL;
	int rc;

	rc = open_one(lib, name, &h, why, sizeof(why));
	if (rc < 0 && lib->fallback != NULL) {
		if (open_one(lib, lib->fallback, &h, why_fb, sizeof(why_fb)) ==
		    0) {
			name = lib->fallback;
			rc = 0;
		} else {
			snprintf(lib->err, sizeof(lib->err),
			    "%s %s and %s %s: install the Debian package %s",
			    lib->soname, why, lib->fallback, why_fb,
			    lib->package);
			return rc;
		}
	}
	if (rc < 0) {
		snprintf(lib->err, sizeof(lib->err),
		    "%s %s: install the Debian package %s", lib->soname, why,
		    lib->package);
		return rc;
	}
	for (s = lib->syms; s->name != NULL; s++)
		*s->slot = lookup(h, s);
	lib->loaded = name;
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
dynlib_soxr_load(char *err, size_t errlen)
{
	return dynlib_load(&soxr_lib, err, errlen);
}

/* libssh2.h's LIBSSH2_INIT_NO_CRYPTO (no -dev package for one flag). */
#define SSH2_INIT_NO_CRYPTO 0x0001

/* curl_global_init() calls libssh2_init(0), and Debian's libssh2 (linked
 * by every libcurl flavour) then loads OpenSSL's engines and algorithms:
 * ~1.5 MB of libcrypto paged in, for SSH, which relay never speaks (its
 * handles allow http and https only). libssh2 sets its crypto up on the
 * first libssh2_init() only and counts the later ones, so a first call
 * here without crypto makes curl's a no-op. Nothing when libcurl came
 * without libssh2. Runs on: the first caller, under curl_init_lock. */
static void
ssh_init_without_crypto(void)
{
	int (*init)(int) = NULL;
	void *h = dlopen("libssh2.so.1", RTLD_NOW | RTLD_NOLOAD);

	if (h == NULL)
		return;
	*(void **)&init = dlsym(h, "libssh2_init");
	if (init != NULL)
		(void)init(SSH2_INIT_NO_CRYPTO);
	/* Drops the reference RTLD_NOLOAD took; libcurl keeps its own. */
	dlclose(h);
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
		if (curl_init_rc == 0)
			ssh_init_without_crypto();
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

const char *
dynlib_curl_soname(void)
{
	const char *name;

	pthread_mutex_lock(&curl_lib.lock);
	name = curl_lib.rc == 0 ? curl_lib.loaded : NULL;
	pthread_mutex_unlock(&curl_lib.lock);
	return name;
}
