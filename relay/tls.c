/* SPDX-License-Identifier: MIT */
/*
 * TLS trust: checking the configured files, verifying a server's chain for
 * libshout's certificate callback, and the same settings on libcurl. See
 * tls.h.
 *
 * DESIGN
 * libshout 2.4.6 completes the TLS handshake without verifying (its
 * SSL_CTX runs with SSL_VERIFY_NONE) and only then judges the certificate,
 * first asking the application through SHOUT_EVENT_TLS_CHECK_PEER_
 * CERTIFICATE. Its own judgement trusts the system store plus ca_file,
 * matches host names only (an IP address never matches) and says only
 * "bad certificate". relay answers the callback itself with
 * tls_verify_chain(): the same X509_verify_cert() OpenSSL runs inside a
 * verifying handshake, but against exactly the configured CAs, with the
 * host name or IP checked by OpenSSL's verify parameters, and with a reason
 * an operator can act on. Nothing is sent on the connection before the
 * callback said yes (libshout writes its request only afterwards), and the
 * handshake itself has already proved that the server holds the
 * certificate's key.
 *
 * Threads: no state; each call builds and frees its own OpenSSL objects.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include "dynlib.h"
#include "tls.h"

/* Opens path as a read-only BIO without blocking on a FIFO. NULL with
 * errno-style rc in *rc. */
static BIO *
open_bio(const char *path, int *rc)
{
	FILE *fp;
	int fd = util_open_regular(path);

	if (fd < 0) {
		*rc = fd;
		return NULL;
	}
	fp = fdopen(fd, "r");
	if (fp == NULL) {
		*rc = -errno;
		close(fd);
		return NULL;
	}
	*rc = 0;
	return BIO_new_fp(fp, BIO_CLOSE);
}

static int
check_ca_file(const char *path, char *why, size_t whylen)
{
	X509_STORE *store;
	X509 *x;
	BIO *bio;
	int rc, n = 0;
	bool ok;

	bio = open_bio(path, &rc);
	if (bio == NULL) {
		snprintf(why, whylen, "cannot open \"%s\": %s", path,
		    rc < 0 ? util_open_strerror(rc) : "out of memory");
		return rc < 0 ? rc : -ENOMEM;
	}
	while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
		X509_free(x);
		n++;
	}
	ERR_clear_error();
	BIO_free(bio);
	if (n == 0) {
		snprintf(why, whylen,
		    "\"%s\" holds no PEM certificate (expected one or more "
		    "-----BEGIN CERTIFICATE----- blocks)",
		    path);
		return -EINVAL;
	}
	/* The loader every connection uses (tls_verify_chain(), and
	 * libcurl's CAINFO) refuses the whole file for one broken block
	 * that the count above stops at: a good CA followed by a damaged
	 * one passed here and then failed every connection. */
	store = X509_STORE_new();
	if (store == NULL) {
		snprintf(why, whylen, "out of memory");
		return -ENOMEM;
	}
	ok = X509_STORE_load_file(store, path) == 1;
	X509_STORE_free(store);
	ERR_clear_error();
	if (!ok) {
		snprintf(why, whylen,
		    "\"%s\": OpenSSL cannot load it whole (its first %d "
		    "certificate(s) read, then a damaged PEM block or a "
		    "certificate it cannot parse)",
		    path, n);
		return -EINVAL;
	}
	return 0;
}

static int
check_client_cert(const char *path, char *why, size_t whylen)
{
	X509 *x = NULL;
	EVP_PKEY *key = NULL;
	BIO *bio;
	int rc;

	bio = open_bio(path, &rc);
	if (bio == NULL) {
		snprintf(why, whylen, "cannot open \"%s\": %s", path,
		    rc < 0 ? util_open_strerror(rc) : "out of memory");
		return rc < 0 ? rc : -ENOMEM;
	}
	x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
	if (x == NULL) {
		snprintf(why, whylen, "\"%s\" holds no PEM certificate", path);
		rc = -EINVAL;
		goto out;
	}
	/* The key may come before or after the certificate. */
	(void)BIO_reset(bio);
	key = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
	if (key == NULL) {
		snprintf(why, whylen,
		    "\"%s\" holds no unencrypted PEM private key (libshout "
		    "needs the certificate and its key in one file)",
		    path);
		rc = -EINVAL;
		goto out;
	}
	if (X509_check_private_key(x, key) != 1) {
		snprintf(why, whylen,
		    "in \"%s\" the private key does not belong to the "
		    "certificate",
		    path);
		rc = -EINVAL;
		goto out;
	}
	rc = 0;
out:
	ERR_clear_error();
	EVP_PKEY_free(key);
	X509_free(x);
	BIO_free(bio);
	return rc;
}

int
tls_config_check(
    const struct tls_config *t, const char **key, char *why, size_t whylen)
{
	struct stat st;
	int rc;

	*key = NULL;
	if (t->ca_file != NULL &&
	    (rc = check_ca_file(t->ca_file, why, whylen)) < 0) {
		*key = "ca_file";
		return rc;
	}
	if (t->ca_dir != NULL) {
		errno = 0;
		if (stat(t->ca_dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
			snprintf(why, whylen, "\"%s\" is not a directory%s%s",
			    t->ca_dir, errno != 0 ? ": " : "",
			    errno != 0 ? strerror(errno) : "");
			*key = "ca_dir";
			return -ENOTDIR;
		}
	}
	if (t->client_cert != NULL &&
	    (rc = check_client_cert(t->client_cert, why, whylen)) < 0) {
		*key = "client_cert";
		return rc;
	}
	return 0;
}

/* RFC 2253 text of a name into buf. */
static void
name_text(const X509_NAME *name, char *buf, size_t len)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *data;
	long n;

	buf[0] = '\0';
	if (bio == NULL)
		return;
	if (X509_NAME_print_ex(bio, name, 0, XN_FLAG_RFC2253) >= 0) {
		n = BIO_get_mem_data(bio, &data);
		if (n > 0) {
			if ((size_t)n >= len)
				n = (long)len - 1;
			memcpy(buf, data, (size_t)n);
			buf[n] = '\0';
		}
	}
	BIO_free(bio);
}

static int64_t
asn1_time_wall_ns(const ASN1_TIME *t)
{
	struct tm tm;

	if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1)
		return 0;
	return (int64_t)timegm(&tm) * NS_PER_SEC;
}

/* The names a certificate is issued for, "DNS:a, IP:127.0.0.1". */
static void
san_text(X509 *x, char *buf, size_t len)
{
	GENERAL_NAMES *names;
	size_t used = 0;
	int i;

	buf[0] = '\0';
	names = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	for (i = 0; names != NULL && i < sk_GENERAL_NAME_num(names); i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(names, i);
		char item[128];

		item[0] = '\0';
		if (g->type == GEN_DNS) {
			snprintf(item, sizeof(item), "DNS:%.100s",
			    (const char *)ASN1_STRING_get0_data(g->d.dNSName));
		} else if (g->type == GEN_IPADD &&
			   (ASN1_STRING_length(g->d.iPAddress) == 4 ||
			       ASN1_STRING_length(g->d.iPAddress) == 16)) {
			char ip[INET6_ADDRSTRLEN];
			int af = ASN1_STRING_length(g->d.iPAddress) == 4
				     ? AF_INET
				     : AF_INET6;
			if (inet_ntop(af, ASN1_STRING_get0_data(g->d.iPAddress),
				ip, sizeof(ip)) != NULL)
				snprintf(item, sizeof(item), "IP:%s", ip);
		}
		if (item[0] != '\0' && used + strlen(item) + 3 < len)
			used += (size_t)snprintf(buf + used, len - used, "%s%s",
			    used > 0 ? ", " : "", item);
	}
	GENERAL_NAMES_free(names);
	if (buf[0] == '\0') {
		char cn[128];
		X509_NAME_get_text_by_NID(
		    X509_get_subject_name(x), NID_commonName, cn, sizeof(cn));
		snprintf(buf, len, "no subjectAltName; CN %s", cn);
	}
}

static bool
is_ip_literal(const char *host)
{
	unsigned char addr[16];

	return inet_pton(AF_INET, host, addr) == 1 ||
	       inet_pton(AF_INET6, host, addr) == 1;
}

const char *
tls_trust_text(const struct tls_config *t, char *buf, size_t len)
{
	if (t->ca_file != NULL && t->ca_dir != NULL)
		snprintf(
		    buf, len, "ca_file %s, ca_dir %s", t->ca_file, t->ca_dir);
	else if (t->ca_file != NULL)
		snprintf(buf, len, "ca_file %s", t->ca_file);
	else if (t->ca_dir != NULL)
		snprintf(buf, len, "ca_dir %s", t->ca_dir);
	else
		snprintf(buf, len, "the system CA store");
	return buf;
}

/* Explains a failed X509_verify_cert() with what the operator needs. */
static void
explain(const struct tls_config *t, const char *host, X509 *leaf, int e,
    char *why, size_t whylen)
{
	char text[300], when[40], trust[600];
	const char *msg = X509_verify_cert_error_string(e);

	switch (e) {
	case X509_V_ERR_CERT_HAS_EXPIRED:
		util_format_iso8601(asn1_time_wall_ns(X509_get0_notAfter(leaf)),
		    false, when, sizeof(when));
		name_text(X509_get_subject_name(leaf), text, sizeof(text));
		snprintf(why, whylen,
		    "certificate has expired (%s, notAfter %s)", text, when);
		break;
	case X509_V_ERR_CERT_NOT_YET_VALID:
		util_format_iso8601(
		    asn1_time_wall_ns(X509_get0_notBefore(leaf)), false, when,
		    sizeof(when));
		snprintf(why, whylen,
		    "certificate is not valid yet (notBefore %s; check the "
		    "clocks)",
		    when);
		break;
	case X509_V_ERR_HOSTNAME_MISMATCH:
	case X509_V_ERR_IP_ADDRESS_MISMATCH:
		san_text(leaf, text, sizeof(text));
		snprintf(why, whylen,
		    "certificate is not issued for %s (it names %s)", host,
		    text);
		break;
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
	case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
	case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
		name_text(X509_get_issuer_name(leaf), text, sizeof(text));
		snprintf(why, whylen,
		    "certificate not trusted: %s (issuer %s; trusted: %s)", msg,
		    text, tls_trust_text(t, trust, sizeof(trust)));
		break;
	default:
		snprintf(why, whylen, "certificate rejected: %s", msg);
		break;
	}
}

int
tls_verify_chain(const struct tls_config *t, const char *host,
    const char *chain_pem, struct tls_peer *peer, char *why, size_t whylen)
{
	STACK_OF(X509) *untrusted = NULL;
	X509_STORE_CTX *ctx = NULL;
	X509_STORE *store = NULL;
	X509_VERIFY_PARAM *vp;
	X509 *leaf = NULL, *x;
	BIO *bio = NULL;
	int rc = -EPROTO;

	if (chain_pem == NULL || chain_pem[0] == '\0') {
		snprintf(why, whylen, "the server sent no certificate");
		return -EPROTO;
	}
	bio = BIO_new_mem_buf(chain_pem, -1);
	untrusted = sk_X509_new_null();
	store = X509_STORE_new();
	ctx = X509_STORE_CTX_new();
	if (bio == NULL || untrusted == NULL || store == NULL || ctx == NULL) {
		snprintf(
		    why, whylen, "out of memory verifying the certificate");
		goto out;
	}
	leaf = PEM_read_bio_X509(bio, NULL, NULL, NULL);
	if (leaf == NULL) {
		snprintf(why, whylen, "cannot parse the server's certificate");
		goto out;
	}
	while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
		if (sk_X509_push(untrusted, x) <= 0) {
			X509_free(x);
			snprintf(why, whylen, "out of memory");
			goto out;
		}
	}
	ERR_clear_error();
	if (t->ca_file == NULL && t->ca_dir == NULL) {
		if (X509_STORE_set_default_paths(store) != 1) {
			snprintf(
			    why, whylen, "cannot load the system CA store");
			goto out;
		}
	} else if ((t->ca_file != NULL &&
		       X509_STORE_load_file(store, t->ca_file) != 1) ||
		   (t->ca_dir != NULL &&
		       X509_STORE_load_path(store, t->ca_dir) != 1)) {
		snprintf(why, whylen,
		    "cannot load %s (it was readable when the configuration "
		    "loaded)",
		    t->ca_file != NULL ? t->ca_file : t->ca_dir);
		goto out;
	}
	if (X509_STORE_CTX_init(ctx, store, leaf, untrusted) != 1) {
		snprintf(why, whylen, "cannot set up certificate verification");
		goto out;
	}
	vp = X509_STORE_CTX_get0_param(ctx);
	X509_VERIFY_PARAM_set_purpose(vp, X509_PURPOSE_SSL_SERVER);
	X509_VERIFY_PARAM_set_hostflags(
	    vp, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
	if ((is_ip_literal(host)
		    ? X509_VERIFY_PARAM_set1_ip_asc(vp, host)
		    : X509_VERIFY_PARAM_set1_host(vp, host, 0)) != 1) {
		snprintf(why, whylen, "cannot check the name \"%s\"", host);
		goto out;
	}
	if (X509_verify_cert(ctx) != 1) {
		explain(
		    t, host, leaf, X509_STORE_CTX_get_error(ctx), why, whylen);
		goto out;
	}
	if (peer != NULL) {
		name_text(X509_get_subject_name(leaf), peer->subject,
		    sizeof(peer->subject));
		name_text(X509_get_issuer_name(leaf), peer->issuer,
		    sizeof(peer->issuer));
		peer->not_after_wall_ns =
		    asn1_time_wall_ns(X509_get0_notAfter(leaf));
	}
	rc = 0;
out:
	ERR_clear_error();
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	sk_X509_pop_free(untrusted, X509_free);
	X509_free(leaf);
	BIO_free(bio);
	return rc;
}

int
tls_file_first_expiry(const char *path, char *subject, size_t subject_len,
    int64_t *not_after_wall_ns)
{
	X509 *x;
	BIO *bio;
	int rc, n = 0;
	int64_t t;

	*not_after_wall_ns = 0;
	subject[0] = '\0';
	bio = open_bio(path, &rc);
	if (bio == NULL)
		return rc < 0 ? rc : -ENOMEM;
	while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
		t = asn1_time_wall_ns(X509_get0_notAfter(x));
		if (n == 0 || t < *not_after_wall_ns) {
			*not_after_wall_ns = t;
			name_text(
			    X509_get_subject_name(x), subject, subject_len);
		}
		X509_free(x);
		n++;
	}
	ERR_clear_error();
	BIO_free(bio);
	return n > 0 ? 0 : -ENOENT;
}

int
tls_curl_setup(
    void *curl_easy, const struct tls_config *t, char *why, size_t whylen)
{
	CURL *c = curl_easy;
	CURLcode cc;
	long version = t->min_version == TLS_VERSION_1_3
			   ? CURL_SSLVERSION_TLSv1_3
			   : CURL_SSLVERSION_TLSv1_2;

	if ((cc = dynlib_curl.easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L)) !=
		CURLE_OK ||
	    (cc = dynlib_curl.easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L)) !=
		CURLE_OK ||
	    (cc = dynlib_curl.easy_setopt(c, CURLOPT_SSLVERSION, version)) !=
		CURLE_OK)
		goto fail;
	/* Either given: exactly those CAs, without the built-in bundle or
	 * directory (NULL switches a location off). */
	if (t->ca_file != NULL || t->ca_dir != NULL) {
		if ((cc = dynlib_curl.easy_setopt(
			 c, CURLOPT_CAINFO, t->ca_file)) != CURLE_OK ||
		    (cc = dynlib_curl.easy_setopt(
			 c, CURLOPT_CAPATH, t->ca_dir)) != CURLE_OK)
			goto fail;
	}
	if (t->client_cert != NULL &&
	    ((cc = dynlib_curl.easy_setopt(
		  c, CURLOPT_SSLCERT, t->client_cert)) != CURLE_OK ||
		(cc = dynlib_curl.easy_setopt(
		     c, CURLOPT_SSLKEY, t->client_cert)) != CURLE_OK))
		goto fail;
	return 0;
fail:
	snprintf(why, whylen, "libcurl TLS settings: %s",
	    dynlib_curl.easy_strerror(cc));
	return -EINVAL;
}

static int
copy_opt(char **dst, const char *src)
{
	*dst = NULL;
	if (src == NULL)
		return 0;
	*dst = strdup(src);
	return *dst != NULL ? 0 : -ENOMEM;
}

int
tls_config_copy(struct tls_config *dst, const struct tls_config *src)
{
	memset(dst, 0, sizeof(*dst));
	dst->min_version = src->min_version;
	if (copy_opt(&dst->ca_file, src->ca_file) < 0 ||
	    copy_opt(&dst->ca_dir, src->ca_dir) < 0 ||
	    copy_opt(&dst->client_cert, src->client_cert) < 0) {
		tls_config_clear(dst);
		return -ENOMEM;
	}
	return 0;
}

void
tls_config_clear(struct tls_config *t)
{
	free(t->ca_file);
	free(t->ca_dir);
	free(t->client_cert);
	memset(t, 0, sizeof(*t));
}

bool
tls_config_same(const struct tls_config *a, const struct tls_config *b)
{
	return util_str_same(a->ca_file, b->ca_file) &&
	       util_str_same(a->ca_dir, b->ca_dir) &&
	       util_str_same(a->client_cert, b->client_cert) &&
	       a->min_version == b->min_version;
}

const char *
tls_version_name(enum tls_version v)
{
	return v == TLS_VERSION_1_3 ? "1.3" : "1.2";
}
