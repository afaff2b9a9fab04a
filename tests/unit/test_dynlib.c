/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of dynlib.c: loading an optional library at run time, the
 * fallback to another build of it, and the messages when it cannot be
 * (real libraries: libm, libc, libsndfile, libcurl, and a name no system
 * has).
 *
 * Threads: the main thread only.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

/* ENGINE_get_first(): deprecated in OpenSSL 3, still the one way to see
 * whether someone loaded OpenSSL's engines. */
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/engine.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "dynlib.h"
#include "test_tmpdir.h"

/* A library that is not installed: -ENOENT, the message names the file
 * and the package to install; the answer does not change on a retry. */
static void
test_missing_library(void **state)
{
	static double (*fn)(double);
	static const struct dynlib_sym syms[] = {
	    {"cos", (void **)&fn, NULL},
	    {NULL, NULL, NULL},
	};
	static struct dynlib lib =
	    DYNLIB_INIT("librelay-no-such-lib.so.9", "relay-no-such-pkg", syms);
	char err[300] = "";

	(void)state;
	assert_int_equal(dynlib_load(&lib, err, sizeof(err)), -ENOENT);
	assert_non_null(
	    strstr(err, "librelay-no-such-lib.so.9 cannot be loaded"));
	assert_non_null(
	    strstr(err, "install the Debian package relay-no-such-pkg"));
	err[0] = '\0';
	assert_int_equal(dynlib_load(&lib, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "librelay-no-such-lib.so.9"));
	assert_null(fn);
}

/* A library that could not be loaded is tried again at the next call:
 * once it is there (a package installed while relay runs), it loads. The
 * soname is a path: first an empty file, then a link to libm. */
static void
test_loads_once_installed(void **state)
{
	static double (*cos_fn)(double);
	static const struct dynlib_sym syms[] = {
	    {"cos", (void **)&cos_fn, NULL},
	    {NULL, NULL, NULL},
	};
	static char dir[300], path[400];
	static struct dynlib lib = DYNLIB_INIT(path, "libc6", syms);
	char err[600] = "";
	FILE *f;

	(void)state;
	test_tmpdir_template(dir, sizeof(dir), "dynlib");
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/libm.so.6", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fclose(f);
	assert_int_equal(dynlib_load(&lib, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "cannot be loaded"));
	assert_null(cos_fn);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(
	    symlink("/lib/x86_64-linux-gnu/libm.so.6", path) == 0 ||
		symlink("/usr/lib/libm.so.6", path) == 0,
	    1);
	err[0] = '\0';
	assert_int_equal(dynlib_load(&lib, err, sizeof(err)), 0);
	assert_non_null(cos_fn);
	assert_true(cos_fn(0.0) == 1.0);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(rmdir(dir), 0);
}

/* A library without one of the functions: -ENOSYS, nothing filled (not
 * even the functions it has). */
static void
test_missing_function(void **state)
{
	static double (*cos_fn)(double);
	static double (*bad_fn)(double);
	static const struct dynlib_sym syms[] = {
	    {"cos", (void **)&cos_fn, NULL},
	    {"relay_no_such_function", (void **)&bad_fn, NULL},
	    {NULL, NULL, NULL},
	};
	static struct dynlib lib = DYNLIB_INIT("libm.so.6", "libc6", syms);
	char err[300] = "";

	(void)state;
	assert_int_equal(dynlib_load(&lib, err, sizeof(err)), -ENOSYS);
	assert_non_null(strstr(err, "libm.so.6 has no relay_no_such_function"));
	assert_null(cos_fn);
	assert_null(bad_fn);
}

/* Plain and versioned look-ups both land on callable functions. */
static void
test_loads_and_calls(void **state)
{
	static double (*cos_fn)(double);
	static double (*sqrt_fn)(double);
	static const struct dynlib_sym syms[] = {
	    {"cos", (void **)&cos_fn, NULL},
	    {"sqrt", (void **)&sqrt_fn, "GLIBC_2.2.5"},
	    {NULL, NULL, NULL},
	};
	static struct dynlib lib = DYNLIB_INIT("libm.so.6", "libc6", syms);
	char err[300] = "";

	(void)state;
	assert_int_equal(dynlib_load(&lib, err, sizeof(err)), 0);
	assert_string_equal(err, "");
	assert_non_null(cos_fn);
	assert_non_null(sqrt_fn);
	assert_true(cos_fn(0.0) == 1.0);
	assert_true(sqrt_fn(16.0) == 4.0);
	assert_int_equal(dynlib_load(&lib, err, sizeof(err)), 0);
}

/* A library that is not there, then its fallback that is: the fallback
 * loads and says so. */
static void
test_fallback_when_missing(void **state)
{
	static double (*cos_fn)(double);
	static const struct dynlib_sym syms[] = {
	    {"cos", (void **)&cos_fn, NULL},
	    {NULL, NULL, NULL},
	};
	static struct dynlib lib =
	    DYNLIB_INIT_FALLBACK("librelay-no-such-lib.so.9",
		"relay-no-such-pkg", syms, "libm.so.6");
	char err[400] = "";

	(void)state;
	assert_int_equal(dynlib_load(&lib, err, sizeof(err)), 0);
	assert_string_equal(err, "");
	assert_string_equal(lib.loaded, "libm.so.6");
	assert_true(cos_fn(0.0) == 1.0);
}

/* The first library is there but lacks a function (libc has no cos): the
 * fallback is tried as for a missing one. */
static void
test_fallback_when_function_missing(void **state)
{
	static double (*cos_fn)(double);
	static const struct dynlib_sym syms[] = {
	    {"cos", (void **)&cos_fn, NULL},
	    {NULL, NULL, NULL},
	};
	static struct dynlib lib =
	    DYNLIB_INIT_FALLBACK("libc.so.6", "libc6", syms, "libm.so.6");
	char err[400] = "";

	(void)state;
	assert_int_equal(dynlib_load(&lib, err, sizeof(err)), 0);
	assert_string_equal(lib.loaded, "libm.so.6");
	assert_non_null(cos_fn);
}

/* Neither there: one message with both reasons (dlerror()'s text without
 * the name repeated) and the package of the first. */
static void
test_fallback_missing_too(void **state)
{
	static double (*cos_fn)(double);
	static const struct dynlib_sym syms[] = {
	    {"cos", (void **)&cos_fn, NULL},
	    {NULL, NULL, NULL},
	};
	static struct dynlib lib =
	    DYNLIB_INIT_FALLBACK("librelay-no-such-lib.so.9",
		"relay-no-such-pkg", syms, "librelay-no-such-either.so.2");
	char err[400] = "";

	(void)state;
	assert_int_equal(dynlib_load(&lib, err, sizeof(err)), -ENOENT);
	assert_string_equal(err,
	    "librelay-no-such-lib.so.9 cannot be loaded (cannot open shared "
	    "object file: No such file or directory) and "
	    "librelay-no-such-either.so.2 cannot be loaded (cannot open "
	    "shared object file: No such file or directory): install the "
	    "Debian package relay-no-such-pkg");
	assert_null(lib.loaded);
	assert_null(cos_fn);
}

/* The libsndfile table audio_file.c and source.c use. */
static void
test_sndfile_table(void **state)
{
	char err[300] = "";

	(void)state;
	assert_int_equal(dynlib_sndfile_load(err, sizeof(err)), 0);
	assert_non_null(dynlib_sf.open_fd);
	assert_non_null(dynlib_sf.close);
	assert_non_null(dynlib_sf.command);
	assert_non_null(dynlib_sf.error);
	assert_non_null(dynlib_sf.readf_float);
	assert_non_null(dynlib_sf.strerror);
	assert_non_null(dynlib_sf.strerror(NULL));
}

/* libcurl: loaded and initialised once, every function relay calls
 * there; a second call answers the same without initialising again. */
static void
test_curl_table(void **state)
{
	char err[300] = "";
	CURL *c;

	(void)state;
	assert_null(dynlib_curl_soname());
	assert_int_equal(dynlib_curl_init(err, sizeof(err)), 0);
	assert_string_equal(err, "");
	assert_int_equal(dynlib_curl_init(NULL, 0), 0);
	/* Debian's GnuTLS build (tests/deps.sh installs libcurl3-gnutls),
	 * and curl_global_init() left OpenSSL alone: neither the OpenSSL
	 * build's initialisation nor libssh2's loaded OpenSSL's engines
	 * (both do; docs/performance.md, Memory). */
	assert_string_equal(dynlib_curl_soname(), "libcurl-gnutls.so.4");
	assert_null(ENGINE_get_first());
	c = dynlib_curl.easy_init();
	assert_non_null(c);
	assert_int_equal(
	    dynlib_curl.easy_setopt(c, CURLOPT_URL, "http://127.0.0.1:9/"),
	    CURLE_OK);
	assert_string_equal(dynlib_curl.easy_strerror(CURLE_OK), "No error");
	dynlib_curl.easy_cleanup(c);
	assert_non_null(dynlib_curl.multi_init);
	assert_non_null(dynlib_curl.multi_wakeup);
	assert_non_null(dynlib_curl.free);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_missing_library),
	    cmocka_unit_test(test_missing_function),
	    cmocka_unit_test(test_loads_once_installed),
	    cmocka_unit_test(test_loads_and_calls),
	    cmocka_unit_test(test_fallback_when_missing),
	    cmocka_unit_test(test_fallback_when_function_missing),
	    cmocka_unit_test(test_fallback_missing_too),
	    cmocka_unit_test(test_sndfile_table),
	    cmocka_unit_test(test_curl_table),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
