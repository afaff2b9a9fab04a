/* SPDX-License-Identifier: MIT */
/*
 * TLS trust for the connections relay opens: Icecast outputs (libshout)
 * and https feeds and status requests (libcurl). One struct tls_config
 * (config.h: [tls], overridden per [output]) says which CAs to trust,
 * which client certificate to show and the oldest TLS version accepted.
 *
 * Verification is never optional: there is no key that turns it off.
 * With ca_file or ca_dir set, only those CAs are trusted (the system store
 * is not consulted), so a station's own CA cannot be bypassed by a
 * certificate some public CA issued for the same name.
 *
 * libcrypto types stay in tls.c. libshout leaves the verification of the
 * server's certificate to a callback (output_icecast.c), which hands the
 * chain here: tls_verify_chain() checks it against the configured CAs, the
 * validity dates and the host name (DNS name or IP address), and returns
 * the leaf's subject and expiry for /api/status.
 *
 * Threads: every function is thread-safe (no shared state).
 */
#ifndef RELAY_TLS_H
#define RELAY_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "util.h"

/* A certificate that expires within this long draws warnings (log,
 * /api/status, the status page). */
#define TLS_EXPIRY_WARN_NS (14 * 24 * 3600 * NS_PER_SEC)

/* What the server showed on the last verified connection. */
struct tls_peer {
	char subject[256]; /* RFC 2253 text, "CN=radio.example,O=..." */
	char issuer[256];
	int64_t not_after_wall_ns; /* the leaf's expiry */
};

/* Checks that t's files exist and hold what they should: ca_file at least
 * one PEM certificate, ca_dir a directory, client_cert a certificate and
 * the private key that matches it. On error returns a negative errno,
 * *key names the key at fault ("ca_file", "ca_dir", "client_cert") and
 * why says what is wrong. Reads the files; main thread at load. */
RELAY_MUST_CHECK int tls_config_check(
    const struct tls_config *t, const char **key, char *why, size_t whylen);

/*
 * Verifies a server's certificate chain (PEM, the server's certificate
 * first, then whatever intermediates it sent) for host (a DNS name or an
 * IP address literal) against t's CAs, or the system store when t names
 * none. 0 and *peer filled (peer may be NULL), or -EPROTO with the reason
 * in why: "certificate has expired (notAfter 2026-11-01T00:00:00Z)",
 * "certificate is not issued for 127.0.0.1 (it names DNS:radio.example)",
 * "unable to get local issuer certificate (issuer CN=Other CA; not in
 * ca_file /etc/relay/ca.pem)". Any doubt (no certificate, a parse error,
 * out of memory) is a failure.
 */
RELAY_MUST_CHECK int tls_verify_chain(const struct tls_config *t,
    const char *host, const char *chain_pem, struct tls_peer *peer, char *why,
    size_t whylen);

/* Sets t's trust, client certificate and minimum version on a libcurl
 * easy handle (CURL *, passed as void * so that callers need not share
 * the type). Verification of peer and host stays on (curl's default, set
 * again here). 0 or a negative errno with why. */
RELAY_MUST_CHECK int tls_curl_setup(
    void *curl_easy, const struct tls_config *t, char *why, size_t whylen);

/* Of the certificates in the PEM file path, the one that expires first:
 * its subject (RFC 2253) and notAfter. 0, -ENOENT (no certificate in it)
 * or another negative errno (cannot read it). For --check. */
RELAY_MUST_CHECK int tls_file_first_expiry(const char *path, char *subject,
    size_t subject_len, int64_t *not_after_wall_ns);

/* Deep copy (dst owned: tls_config_clear). 0 or -ENOMEM. */
RELAY_MUST_CHECK int tls_config_copy(
    struct tls_config *dst, const struct tls_config *src);
void tls_config_clear(struct tls_config *t);
bool tls_config_same(const struct tls_config *a, const struct tls_config *b);

/* "1.2" or "1.3". */
const char *tls_version_name(enum tls_version v);

/* What the server is trusted by, for messages: "ca_file /x/ca.pem",
 * "ca_dir /x", "the system CA store". Returns buf. */
const char *tls_trust_text(const struct tls_config *t, char *buf, size_t len);

#endif
