/* SPDX-License-Identifier: MIT */
/*
 * Dropping root (see privilege.h). The order matters: supplementary
 * groups and the group while still root, the user last, then a check that
 * setuid(0) now fails.
 */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include "log.h"
#include "privilege.h"

#define MOD "main"
#define NAME_BUF_BYTES 16384

int
privilege_drop(const char *user, const char *group, char *err, size_t errlen)
{
	struct passwd pw, *pwp = NULL;
	struct group gr, *grp = NULL;
	char *buf;
	gid_t gid;
	uid_t uid;
	int rc;

	if (geteuid() != 0) {
		if (user == NULL)
			return 0;
		buf = malloc(NAME_BUF_BYTES);
		if (buf == NULL)
			return -ENOMEM;
		rc = getpwnam_r(user, &pw, buf, NAME_BUF_BYTES, &pwp);
		uid = pwp != NULL ? pwp->pw_uid : (uid_t)-1;
		free(buf);
		if (rc == 0 && pwp != NULL && uid == geteuid())
			return 0;
		snprintf(err, errlen,
		    "[station] user %s: relay must be started as root to "
		    "become another user (it runs as uid %u)",
		    user, (unsigned)geteuid());
		return -EPERM;
	}
	if (user == NULL) {
		log_warn(MOD, "running as root: set [station] user (for "
			      "example relay) so that relay drops root once "
			      "it has bound its port; under systemd, use the "
			      "unit's User= or DynamicUser=");
		return 0;
	}
	buf = malloc(NAME_BUF_BYTES);
	if (buf == NULL)
		return -ENOMEM;
	rc = getpwnam_r(user, &pw, buf, NAME_BUF_BYTES, &pwp);
	if (rc != 0 || pwp == NULL) {
		snprintf(err, errlen, "[station] user %s: no such user%s%s",
		    user, rc != 0 ? ": " : "", rc != 0 ? strerror(rc) : "");
		free(buf);
		return -ENOENT;
	}
	uid = pw.pw_uid;
	gid = pw.pw_gid;
	if (uid == 0) {
		snprintf(err, errlen,
		    "[station] user %s: is root; name an unprivileged user",
		    user);
		free(buf);
		return -EINVAL;
	}
	if (group != NULL) {
		char *gbuf = malloc(NAME_BUF_BYTES);

		if (gbuf == NULL) {
			free(buf);
			return -ENOMEM;
		}
		rc = getgrnam_r(group, &gr, gbuf, NAME_BUF_BYTES, &grp);
		if (rc == 0 && grp != NULL)
			gid = grp->gr_gid;
		free(gbuf);
		if (rc != 0 || grp == NULL) {
			snprintf(err, errlen,
			    "[station] group %s: no such group", group);
			free(buf);
			return -ENOENT;
		}
	}
	if (initgroups(pw.pw_name, gid) != 0 || setgid(gid) != 0 ||
	    setuid(uid) != 0) {
		rc = errno;
		snprintf(err, errlen,
		    "[station] user %s: cannot switch to it: %s", user,
		    strerror(rc));
		free(buf);
		return -rc;
	}
	free(buf);
	if (setuid(0) == 0 || geteuid() == 0) {
		snprintf(err, errlen,
		    "[station] user %s: root could be regained after the "
		    "switch; refusing to run",
		    user);
		return -EPERM;
	}
	log_info(MOD, "running as user %s (uid %u, gid %u)", user,
	    (unsigned)uid, (unsigned)gid);
	return 0;
}
