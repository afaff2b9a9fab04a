/* SPDX-License-Identifier: MIT */
/*
 * Secrets in the configuration: the output passwords and the [status]
 * token. Each comes from exactly one of KEY, KEY_file (a file read at
 * load) or KEY_env (an environment variable); the loader records which,
 * so that relay --check and startup can warn when the secret itself sits
 * in a file every user may read (the config, or the password or token
 * file), and when a password is so short that messages blank it only as
 * a whole word (config_short_password()). config_validate.c calls the two
 * loaders below at their turn in the cross-key checks.
 *
 * Threads: main thread only, like the loader.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "config.h"
#include "config_internal.h"

/*
 * Resolves one secret from exactly one of KEY, KEY_file, KEY_env. *out is
 * set (owned) or left NULL when none is given and !required.
 */
static int
resolve_secret(struct parse_state *ps, struct section_state *s, const char *key,
    char *inline_value, char *file, char *env, bool required, char **out)
{
	char label[160], kfile[64], kenv[64];
	int n = (inline_value != NULL) + (file != NULL) + (env != NULL);
	char *secret = NULL;
	int rc;

	config_section_label(s, label, sizeof(label));
	snprintf(kfile, sizeof(kfile), "%s_file", key);
	snprintf(kenv, sizeof(kenv), "%s_env", key);
	if (n > 1) {
		const char *second =
		    file != NULL && inline_value != NULL ? kfile : kenv;
		config_set_err(ps, config_line_of(s, second),
		    "%s %s: give exactly one of %s, %s, %s", label, second, key,
		    kfile, kenv);
		return -EINVAL;
	}
	if (n == 0) {
		if (required) {
			config_set_err(ps, s->header_line,
			    "%s %s: missing (set %s, %s or %s)", label, key,
			    key, kfile, kenv);
			return -EINVAL;
		}
		*out = NULL;
		return 0;
	}
	if (inline_value != NULL) {
		secret = strdup(inline_value);
	} else if (file != NULL) {
		rc = util_read_small_file(file, 4096, &secret);
		if (rc < 0) {
			config_set_err(ps, config_line_of(s, kfile),
			    "%s %s: cannot read \"%s\": %s", label, kfile, file,
			    util_open_strerror(rc));
			return -EINVAL;
		}
	} else {
		const char *v = getenv(env);
		if (v == NULL) {
			config_set_err(ps, config_line_of(s, kenv),
			    "%s %s: environment variable %s is not set", label,
			    kenv, env);
			return -EINVAL;
		}
		secret = strdup(v);
	}
	if (secret == NULL) {
		config_set_err(
		    ps, s->header_line, "%s %s: out of memory", label, key);
		return -ENOMEM;
	}
	*out = secret;
	return 0;
}

static const char *
secret_key_used(
    const struct section_state *s, const char *key, char *buf, size_t len)
{
	char k[64];

	snprintf(k, sizeof(k), "%s_file", key);
	if (config_has_key(s, k)) {
		snprintf(buf, len, "%s %s", k, s->password_file);
		return buf;
	}
	snprintf(k, sizeof(k), "%s_env", key);
	if (config_has_key(s, k)) {
		snprintf(buf, len, "%s %s", k, s->password_env);
		return buf;
	}
	snprintf(buf, len, "%s", key);
	return buf;
}

static bool
weak_password(const char *p)
{
	return p[0] == '\0' || strcmp(p, "hackme") == 0;
}

int
config_secret_output_password(struct parse_state *ps, struct section_state *s,
    const char *label, struct output_config *o)
{
	char *inline_pw = o->password;
	char used[300];

	o->password = NULL;
	if (resolve_secret(ps, s, "password", inline_pw, s->password_file,
		s->password_env, true, &o->password) < 0) {
		free(inline_pw);
		return -EINVAL;
	}
	free(inline_pw);
	o->password_from =
	    strdup(secret_key_used(s, "password", used, sizeof(used)));
	*strchrnul(used, ' ') = '\0';
	o->password_line = config_line_of(s, used);
	if (weak_password(o->password)) {
		char kbuf[300];
		const char *which =
		    secret_key_used(s, "password", kbuf, sizeof(kbuf));
		char key[64];
		int wl;
		snprintf(key, sizeof(key), "%s", which);
		if (strchr(key, ' ') != NULL)
			*strchr(key, ' ') = '\0';
		wl = config_line_of(s, key);
		config_set_err(ps, wl,
		    "%s %s: refusing %s password (set a real source "
		    "password in Icecast and here)",
		    label, key,
		    o->password[0] == '\0' ? "an empty"
					   : "the default \"hackme\"");
		return -EINVAL;
	}
	return 0;
}

int
config_secret_status_token(struct parse_state *ps, struct section_state *s)
{
	struct config *cfg = ps->cfg;
	char *inline_tok = cfg->status.token;

	cfg->status.token_inline = inline_tok != NULL;
	cfg->status.token = NULL;
	if (resolve_secret(ps, s, "token", inline_tok, s->token_file,
		s->token_env, false, &cfg->status.token) < 0) {
		free(inline_tok);
		return -EINVAL;
	}
	free(inline_tok);
	if (s->token_file != NULL && cfg->status.token != NULL)
		cfg->status.token_file = strdup(s->token_file);
	if (cfg->status.token != NULL && strlen(cfg->status.token) < 16) {
		/* Name the key the user wrote: a short token_file or
		 * token_env must not be reported as "token", a key that is
		 * not in the file. */
		const char *what =
		    cfg->status.token[0] == '\0' ? "empty" : "too short";
		char where[300];
		const char *key = "token";

		where[0] = '\0';
		if (s->token_file != NULL) {
			key = "token_file";
			snprintf(where, sizeof(where), ": \"%s\" is %s",
			    s->token_file, what);
		} else if (s->token_env != NULL) {
			key = "token_env";
			snprintf(where, sizeof(where),
			    ": environment variable %s is %s", s->token_env,
			    what);
		} else {
			snprintf(where, sizeof(where), ": %s", what);
		}
		config_set_err(ps, config_line_of(s, key),
		    "[status] %s%s (the token needs at least 16 random "
		    "characters)",
		    key, where);
		return -EINVAL;
	}
	return 0;
}

const char *
config_exposed_secret(const struct config *cfg)
{
	struct stat st;
	const char *what = NULL;
	size_t i;

	for (i = 0; i < cfg->n_outputs && what == NULL; i++) {
		const char *from = cfg->outputs[i].password_from;
		if (from != NULL && strcmp(from, "password") == 0)
			what = "a password";
	}
	if (what == NULL && cfg->status.token_inline &&
	    cfg->status.token != NULL)
		what = "the [status] token";
	if (what == NULL || stat(cfg->path, &st) != 0 ||
	    (st.st_mode & S_IROTH) == 0)
		return NULL;
	return what;
}

/* True when path exists and every user may read it. */
static bool
readable_by_others(const char *path)
{
	struct stat st;

	return path != NULL && stat(path, &st) == 0 &&
	       (st.st_mode & S_IROTH) != 0;
}

const char *
config_exposed_secret_file(const struct config *cfg, char *buf, size_t len)
{
	static const char prefix[] = "password_file ";
	size_t i;

	for (i = 0; i < cfg->n_outputs; i++) {
		const struct output_config *o = &cfg->outputs[i];
		const char *from = o->password_from;

		if (from == NULL ||
		    strncmp(from, prefix, sizeof(prefix) - 1) != 0 ||
		    !readable_by_others(from + sizeof(prefix) - 1))
			continue;
		snprintf(buf, len, "password file %s ([output %s])",
		    from + sizeof(prefix) - 1, o->name);
		return buf;
	}
	if (readable_by_others(cfg->status.token_file)) {
		snprintf(buf, len, "token file %s ([status])",
		    cfg->status.token_file);
		return buf;
	}
	return NULL;
}

size_t
config_short_password(
    const struct config *cfg, size_t i, char *where, size_t len)
{
	const struct output_config *o = &cfg->outputs[i];
	size_t n;

	if (o->type != OUTPUT_ICECAST || o->password == NULL)
		return 0;
	n = strlen(o->password);
	if (n == 0 || n >= UTIL_REDACT_WORDS_BELOW)
		return 0;
	snprintf(where, len, "%s:%d: [output %s] %.*s", cfg->path,
	    o->password_line, o->name,
	    (int)strcspn(
		o->password_from != NULL ? o->password_from : "password", " "),
	    o->password_from != NULL ? o->password_from : "password");
	return n;
}
