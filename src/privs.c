/* Dropping root for a configured user and group, and proving it stuck. */
#include <sys/types.h>

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "privs.h"

static int	privs_lookup(const char *, const char *, uid_t *, gid_t *,
		    char *, size_t);
static int	privs_verify(uid_t, gid_t, char *, size_t);

/* Find the uid of user and the gid of group, or of the user's group. */
static int
privs_lookup(const char *user, const char *group, uid_t *uid, gid_t *gid,
    char *cause, size_t len)
{
	struct passwd	*pw;
	struct group	*gr;

	if ((pw = getpwnam(user)) == NULL) {
		snprintf(cause, len, "no such user \"%s\"", user);
		return (-1);
	}
	*uid = pw->pw_uid;
	*gid = pw->pw_gid;
	if (group == NULL)
		return (0);
	if ((gr = getgrnam(group)) == NULL) {
		snprintf(cause, len, "no such group \"%s\"", group);
		return (-1);
	}
	*gid = gr->gr_gid;
	return (0);
}

/* Check that real, effective and saved ids all changed and root is gone. */
static int
privs_verify(uid_t uid, gid_t gid, char *cause, size_t len)
{
	uid_t	ruid, euid, suid;
	gid_t	rgid, egid, sgid;

	if (getresgid(&rgid, &egid, &sgid) == -1) {
		snprintf(cause, len, "getresgid: %s", strerror(errno));
		return (-1);
	}
	if (rgid != gid || egid != gid || sgid != gid) {
		snprintf(cause, len, "group ids are %u/%u/%u, not %u",
		    (unsigned)rgid, (unsigned)egid, (unsigned)sgid,
		    (unsigned)gid);
		return (-1);
	}
	if (getresuid(&ruid, &euid, &suid) == -1) {
		snprintf(cause, len, "getresuid: %s", strerror(errno));
		return (-1);
	}
	if (ruid != uid || euid != uid || suid != uid) {
		snprintf(cause, len, "user ids are %u/%u/%u, not %u",
		    (unsigned)ruid, (unsigned)euid, (unsigned)suid,
		    (unsigned)uid);
		return (-1);
	}
	if (uid != 0 && setuid(0) != -1) {
		snprintf(cause, len, "setuid(0) still succeeds");
		return (-1);
	}
	return (0);
}

/*
 * Become user (and group, or the user's groups from /etc/group) for good:
 * supplementary groups first, then gid, then uid, since each step needs
 * the root that the next one gives up.
 */
int
privs_drop(const char *user, const char *group, char *cause, size_t len)
{
	uid_t	uid;
	gid_t	gid;

	if (privs_lookup(user, group, &uid, &gid, cause, len) == -1)
		return (-1);
	if (group == NULL && initgroups(user, gid) == -1) {
		snprintf(cause, len, "initgroups: %s", strerror(errno));
		return (-1);
	}
	if (group != NULL && setgroups(1, &gid) == -1) {
		snprintf(cause, len, "setgroups: %s", strerror(errno));
		return (-1);
	}
	if (setresgid(gid, gid, gid) == -1) {
		snprintf(cause, len, "setresgid: %s", strerror(errno));
		return (-1);
	}
	if (setresuid(uid, uid, uid) == -1) {
		snprintf(cause, len, "setresuid: %s", strerror(errno));
		return (-1);
	}
	return (privs_verify(uid, gid, cause, len));
}
