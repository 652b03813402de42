/* privs: dropping root to a configured user and group. */
#include <sys/types.h>

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "lib.h"
#include "privs.h"

/* True if this test can change ids; says why not otherwise. */
static int
need_root(const char *test)
{
	if (geteuid() == 0)
		return (1);
	printf("privs: %s skipped: needs root, running as uid %u\n", test,
	    (unsigned)geteuid());
	return (0);
}

/* Assert that real, effective and saved ids are all uid and gid. */
static void
assert_ids(uid_t uid, gid_t gid)
{
	uid_t	ruid, euid, suid;
	gid_t	rgid, egid, sgid;

	ck_assert_int_eq(getresuid(&ruid, &euid, &suid), 0);
	ck_assert_msg(ruid == uid && euid == uid && suid == uid,
	    "uids %u/%u/%u, expected %u", (unsigned)ruid, (unsigned)euid,
	    (unsigned)suid, (unsigned)uid);
	ck_assert_int_eq(getresgid(&rgid, &egid, &sgid), 0);
	ck_assert_msg(rgid == gid && egid == gid && sgid == gid,
	    "gids %u/%u/%u, expected %u", (unsigned)rgid, (unsigned)egid,
	    (unsigned)sgid, (unsigned)gid);
}

/* Assert that the supplementary groups are exactly gid. */
static void
assert_only_group(gid_t gid)
{
	gid_t	groups[64];
	int	n;

	n = getgroups(64, groups);
	ck_assert_msg(n == 1 && groups[0] == gid,
	    "%d supplementary groups, first %u, expected only %u", n,
	    n > 0 ? (unsigned)groups[0] : 0, (unsigned)gid);
}

/* nobody:nogroup takes all three uids and gids and one group, for good. */
START_TEST(test_drop_user_group)
{
	struct passwd	*pw;
	struct group	*gr;
	char		 cause[256] = "";
	uid_t		 uid;
	gid_t		 gid;

	if (!need_root("drop to nobody:nogroup"))
		return;
	ck_assert_msg((pw = getpwnam("nobody")) != NULL, "no user nobody");
	uid = pw->pw_uid;
	ck_assert_msg((gr = getgrnam("nogroup")) != NULL, "no group nogroup");
	gid = gr->gr_gid;
	ck_assert_msg(privs_drop("nobody", "nogroup", cause,
	    sizeof(cause)) == 0, "privs_drop failed: %s", cause);
	assert_ids(uid, gid);
	assert_only_group(gid);
	ck_assert_msg(setuid(0) == -1, "setuid(0) worked after the drop");
	ck_assert_msg(setgid(0) == -1, "setgid(0) worked after the drop");
}
END_TEST

/* With no group, the user's primary group and /etc/group are used. */
START_TEST(test_drop_user_only)
{
	struct passwd	*pw;
	char		 cause[256] = "";
	uid_t		 uid;
	gid_t		 gid;

	if (!need_root("drop to nobody"))
		return;
	ck_assert_msg((pw = getpwnam("nobody")) != NULL, "no user nobody");
	uid = pw->pw_uid;
	gid = pw->pw_gid;
	ck_assert_msg(privs_drop("nobody", NULL, cause, sizeof(cause)) == 0,
	    "privs_drop failed: %s", cause);
	assert_ids(uid, gid);
	assert_only_group(gid);
}
END_TEST

/* An unknown user is named in the cause and nothing changes. */
START_TEST(test_unknown_user)
{
	char	cause[256] = "";
	uid_t	uid = getuid();
	gid_t	gid = getgid();

	ck_assert_int_eq(privs_drop("iod-no-such-user", NULL, cause,
	    sizeof(cause)), -1);
	ck_assert_str_eq(cause, "no such user \"iod-no-such-user\"");
	assert_ids(uid, gid);
}
END_TEST

/* An unknown group is named in the cause and nothing changes. */
START_TEST(test_unknown_group)
{
	char	cause[256] = "";
	uid_t	uid = getuid();
	gid_t	gid = getgid();

	ck_assert_int_eq(privs_drop("nobody", "iod-no-such-group", cause,
	    sizeof(cause)), -1);
	ck_assert_str_eq(cause, "no such group \"iod-no-such-group\"");
	assert_ids(uid, gid);
}
END_TEST

/* Without root the first step fails, and the cause names that step. */
START_TEST(test_drop_without_root)
{
	char	cause[256] = "";

	if (!need_root("drop without root"))
		return;
	ck_assert_msg(setresuid(65534, 65534, 65534) == 0, "setresuid: %s",
	    strerror(errno));
	ck_assert_int_eq(privs_drop("root", "root", cause, sizeof(cause)), -1);
	ck_assert_str_eq(cause, "setgroups: Operation not permitted");
	ck_assert_int_eq(privs_drop("root", NULL, cause, sizeof(cause)), -1);
	ck_assert_str_eq(cause, "initgroups: Operation not permitted");
}
END_TEST

/* Dropping to uid 0, supplementary groups and all, succeeds as root. */
START_TEST(test_drop_to_root)
{
	char	cause[256] = "";

	if (!need_root("drop to root"))
		return;
	ck_assert_msg(privs_drop("root", NULL, cause, sizeof(cause)) == 0,
	    "privs_drop root failed: %s", cause);
	assert_ids(0, 0);
}
END_TEST

/* Dropping privileges, each case in its own forked child. */
Suite *
suite_privs(void)
{
	Suite	*s = suite_create("privs");
	TCase	*tc = tcase_create("drop");

	tcase_add_test(tc, test_drop_user_group);
	tcase_add_test(tc, test_drop_user_only);
	tcase_add_test(tc, test_unknown_user);
	tcase_add_test(tc, test_unknown_group);
	tcase_add_test(tc, test_drop_without_root);
	tcase_add_test(tc, test_drop_to_root);
	suite_add_tcase(s, tc);
	return (s);
}
