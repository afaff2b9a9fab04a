/* SPDX-License-Identifier: MIT */
/*
 * Libraries that only some configurations use, loaded with dlopen() the
 * first time one of them is needed instead of linked: libsndfile (audio
 * files: the file input, schedule segments, the fallback file), alsa-lib
 * (the ALSA input), libcurl (the Icecast poller, listen-back, Ogg
 * feeds, `relay status`) and libsoxr (resampling: an encoding or a source
 * at another rate than the programme; it brings OpenMP's libgomp, ~0.4 MB
 * resident that a station without resampling does not pay). A linked library is
 * mapped, relocated and partly paged in at every start whether the
 * configuration uses it or not (libsndfile brings libFLAC and libmpg123 along,
 * libcurl brings Kerberos, LDAP, libssh2 and nghttp2). A station streaming from
 * stdin paid ~0.6 MB of resident memory for the first two, and one without the
 * poller ~3.6 MB for libcurl (docs/performance.md, Memory). libcurl is
 * Debian's GnuTLS build when installed: the OpenSSL build's
 * curl_global_init() initialises OpenSSL (~2 MB of libcrypto paged in),
 * where gnutls is already mapped and initialised by libmicrohttpd.
 *
 * A library that cannot be loaded is an error of the configuration that
 * needs it, reported where that part opens ("libsndfile.so.1 cannot be
 * loaded (...): install the Debian package libsndfile1"), never at start
 * for a station that does not use it. A library is loaded at most once
 * and never unloaded; a load that failed is tried again at the next use
 * (a retry of the input, the next segment), so installing the package
 * while relay runs is enough.
 *
 * Threads: dynlib_load(), dynlib_sndfile_load(), dynlib_soxr_load(),
 * dynlib_curl_init() and
 * dynlib_curl_soname() may be called from any thread (the first call loads
 * under a lock); the function pointers they fill are written once, before
 * the first successful return, and only read afterwards.
 */
#ifndef RELAY_DYNLIB_H
#define RELAY_DYNLIB_H

#include <pthread.h>
#include <stddef.h>

#include <curl/curl.h>
#include <sndfile.h>
#include <soxr.h>

#include "util.h"

/* One function to look up: its name, where its address goes (the address
 * of a function pointer of the right type, as void **), and the symbol
 * version the header's declaration binds to when the library exports
 * several (NULL: the default one). */
struct dynlib_sym {
	const char *name;
	void **slot;
	const char *version;
};

/* A library and the functions relay calls in it. Define one statically
 * with DYNLIB_INIT; the fields after syms belong to dynlib.c. */
struct dynlib {
	const char *soname;	       /* "libasound.so.2" */
	const char *package;	       /* Debian package that ships it */
	const struct dynlib_sym *syms; /* ended by a NULL name */
	/* Tried when soname cannot be loaded or lacks a function: another
	 * build of the same API (libcurl.so.4 behind libcurl-gnutls.so.4);
	 * NULL: none. */
	const char *fallback;
	pthread_mutex_t lock;
	int rc; /* 1: not tried yet; 0: loaded; < 0: failed (tried again) */
	const char *loaded; /* soname or fallback, once rc is 0 */
	char err[320];
};

#define DYNLIB_INIT(soname, package, syms)                                     \
	DYNLIB_INIT_FALLBACK(soname, package, syms, NULL)
#define DYNLIB_INIT_FALLBACK(soname, package, syms, fallback)                  \
	{                                                                      \
		(soname), (package), (syms), (fallback),                       \
		    PTHREAD_MUTEX_INITIALIZER, 1, NULL, ""                     \
	}

/* Loads lib (its soname, else its fallback) and fills every slot of its
 * syms, the first time; later calls return the first call's result. 0, or
 * a negative errno with err filled (the soname, dlerror()'s reason, the
 * fallback's, the package to install). Nothing is filled when a function
 * is missing. */
RELAY_MUST_CHECK int dynlib_load(struct dynlib *lib, char *err, size_t errlen);

/* The libsndfile functions relay uses, valid after dynlib_sndfile_load()
 * returned 0. */
struct dynlib_sndfile {
	__typeof__(sf_open_fd) *open_fd;
	__typeof__(sf_close) *close;
	__typeof__(sf_command) *command;
	__typeof__(sf_error) *error;
	__typeof__(sf_strerror) *strerror;
	__typeof__(sf_readf_float) *readf_float;
};
extern struct dynlib_sndfile dynlib_sf;

/* dynlib_load() of libsndfile into dynlib_sf. */
RELAY_MUST_CHECK int dynlib_sndfile_load(char *err, size_t errlen);

/* The libsoxr functions relay uses, valid after dynlib_soxr_load()
 * returned 0. */
struct dynlib_soxr {
	__typeof__(soxr_create) *create;
	__typeof__(soxr_delete) *delete_;
	__typeof__(soxr_process) *process;
	__typeof__(soxr_delay) *delay;
	__typeof__(soxr_io_spec) *io_spec;
	__typeof__(soxr_quality_spec) *quality_spec;
	__typeof__(soxr_runtime_spec) *runtime_spec;
};
extern struct dynlib_soxr dynlib_soxr;
/* dynlib_load() of libsoxr into dynlib_soxr. */
RELAY_MUST_CHECK int dynlib_soxr_load(char *err, size_t errlen);

/* The libcurl functions relay uses, valid after dynlib_curl_init()
 * returned 0. Called through these pointers, curl_easy_setopt() loses the
 * type checks curl.h adds under GCC: pass long, curl_off_t and pointer
 * arguments exactly as libcurl documents them. */
struct dynlib_curl {
	__typeof__(curl_easy_cleanup) *easy_cleanup;
	__typeof__(curl_easy_escape) *easy_escape;
	__typeof__(curl_easy_getinfo) *easy_getinfo;
	__typeof__(curl_easy_init) *easy_init;
	__typeof__(curl_easy_pause) *easy_pause;
	__typeof__(curl_easy_perform) *easy_perform;
	__typeof__(curl_easy_setopt) *easy_setopt;
	__typeof__(curl_easy_strerror) *easy_strerror;
	__typeof__(curl_free) *free;
	__typeof__(curl_global_init) *global_init;
	__typeof__(curl_multi_add_handle) *multi_add_handle;
	__typeof__(curl_multi_cleanup) *multi_cleanup;
	__typeof__(curl_multi_info_read) *multi_info_read;
	__typeof__(curl_multi_init) *multi_init;
	__typeof__(curl_multi_perform) *multi_perform;
	__typeof__(curl_multi_poll) *multi_poll;
	__typeof__(curl_multi_remove_handle) *multi_remove_handle;
	__typeof__(curl_multi_strerror) *multi_strerror;
	__typeof__(curl_multi_wakeup) *multi_wakeup;
};
extern struct dynlib_curl dynlib_curl;

/* dynlib_load() of libcurl into dynlib_curl, then curl_global_init()
 * (once per process, never undone). 0, or a negative errno with err
 * filled: the library cannot be loaded, or it failed to initialise. err
 * may be NULL (errlen 0). Loads Debian's GnuTLS build, libcurl-gnutls.so.4
 * (package libcurl3-gnutls), or else the OpenSSL one, libcurl.so.4. */
RELAY_MUST_CHECK int dynlib_curl_init(char *err, size_t errlen);

/* Which libcurl was loaded ("libcurl-gnutls.so.4", "libcurl.so.4"), or NULL
 * before a load succeeded. */
const char *dynlib_curl_soname(void);

#endif
