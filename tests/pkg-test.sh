#!/bin/sh
# The Debian package, end to end, on this machine (as root; CI runs it):
# build it from a clean copy of the tree, check what it holds and what
# lintian says, install it, check the units and the man pages, run the
# installed binary (debian/tests/smoke), check that a local edit of
# /etc/iod.conf survives a reinstall, remove it, purge it, and check
# that nothing it created is left.
#
# Needs debhelper, dpkg-dev, lintian, man-db and systemd, as ./dev test
# installs them.  Refuses to run where the iod package is installed.
# The test suite is not run again here (DEB_BUILD_OPTIONS=nocheck).
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
jobs=$(nproc 2>/dev/null || echo 2)
work=""
installed=0
failed=0
t0=$(date +%s)

say() {
	echo "pkg-test: [$(( $(date +%s) - t0 ))s] $*"
}

fail() {
	echo "pkg-test: FAIL: $*" >&2
	failed=$((failed + 1))
}

die() {
	echo "pkg-test: FAIL: $*" >&2
	exit 1
}

cleanup() {
	status=$?
	if [ "$installed" -eq 1 ]; then
		dpkg --purge iod >/dev/null 2>&1 || true
	fi
	[ -n "$work" ] && rm -rf "$work"
	exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Every file or directory named like the package, where a package puts
# things; compared before installing and after purging.
traces() {
	find /etc /lib/systemd /usr/lib/systemd /usr/sbin /usr/share/doc \
	    /usr/share/man /var/lib/dpkg/info /var/lib/systemd /run \
	    \( -name iod -o -name 'iod.*' -o -name 'iod-*' -o -name 'iod_*' \) \
	    -print 2>/dev/null | sort -u
}

[ "$(id -u)" -eq 0 ] || die "run as root: it installs and purges the package"
for tool in dpkg-buildpackage dh lintian systemd-analyze man; do
	command -v "$tool" >/dev/null ||
	    die "$tool not found (./dev test installs what is needed)"
done
if dpkg-query -W -f='${Status}' iod 2>/dev/null | grep -q "installed"; then
	die "the iod package is installed here; purge it first"
fi

work=$(mktemp -d /tmp/iod-pkg.XXXXXX)
chmod 755 "$work"
mkdir "$work/src"

# A clean copy: the files git knows (committed or not, never ignored
# ones), or, outside a git checkout, the tree without build directories.
say "copying the tree to $work/src"
if git -C "$top" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	git -C "$top" ls-files -z -co --exclude-standard |
	    tar -C "$top" --null --ignore-failed-read -T - -cf - |
	    tar -C "$work/src" -xf -
else
	tar -C "$top" --exclude=./build -cf - . | tar -C "$work/src" -xf -
fi

say "dpkg-buildpackage -us -uc -b"
(cd "$work/src" &&
    DEB_BUILD_OPTIONS="nocheck parallel=$jobs" \
    dpkg-buildpackage -us -uc -b) >"$work/build.log" 2>&1 || {
	tail -50 "$work/build.log" >&2
	die "dpkg-buildpackage failed"
}
version=$(cd "$work/src" && dpkg-parsechangelog -S Version)
arch=$(dpkg-architecture -qDEB_HOST_ARCH)
deb="$work/iod_${version}_${arch}.deb"
changes="$work/iod_${version}_${arch}.changes"
[ -f "$deb" ] || die "no $(basename "$deb") was built"
[ -f "$changes" ] || die "no $(basename "$changes") was written"
say "built $(basename "$deb")"

# What the package holds, and which of it is a conffile.
dpkg-deb -c "$deb" | awk '{ print $6 }' | sed 's|^\./|/|' >"$work/contents"
for f in /usr/sbin/iod /etc/iod.conf \
    /lib/systemd/system/iod.service /lib/systemd/system/iod.socket \
    /lib/systemd/system/iod-activated.service \
    /usr/share/man/man8/iod.8.gz /usr/share/man/man5/iod.conf.5.gz \
    /usr/share/doc/iod/README.md.gz /usr/share/doc/iod/copyright \
    /usr/share/doc/iod/changelog.gz; do
	grep -qx "$f" "$work/contents" || fail "$f is not in the package"
done
dpkg-deb -e "$deb" "$work/control"
conffiles=$(cat "$work/control/conffiles" 2>/dev/null || true)
[ "$conffiles" = /etc/iod.conf ] ||
    fail "conffiles are \"$conffiles\", want /etc/iod.conf alone"
say "contents and conffiles checked"

# lintian, on the .changes and so on the .deb in it: no error, no warning.
# It would rather not run as root.
say "lintian"
chmod -R a+rX "$work"
runuser -u nobody -- env HOME="$work" \
    lintian --fail-on error,warning --display-info "$changes" \
    >"$work/lintian.log" 2>&1 || fail "lintian found errors or warnings"
sed 's/^/pkg-test: lintian: /' "$work/lintian.log"

traces >"$work/before"

# Install.  No systemd runs here: the units are enabled, not started.
say "installing"
installed=1
dpkg -i "$deb" >"$work/install.log" 2>&1 || {
	cat "$work/install.log" >&2
	die "dpkg -i failed"
}
out=$(iod -t -c /etc/iod.conf 2>&1) || fail "iod -t -c /etc/iod.conf: $out"
[ "$out" = ok ] || fail "iod -t -c /etc/iod.conf printed \"$out\""
state=$(systemctl --root=/ is-enabled iod.service 2>&1 || true)
[ "$state" = enabled ] || fail "iod.service is \"$state\", want enabled"
state=$(systemctl --root=/ is-enabled iod.socket 2>&1 || true)
[ "$state" = disabled ] || fail "iod.socket is \"$state\", want disabled"

# The installed units: systemd-analyze verify says nothing, and the
# exposure levels stay within bounds (1.1 on its own, 0.5 activated).
for u in iod.service iod.socket iod-activated.service; do
	out=$(systemd-analyze verify "/lib/systemd/system/$u" 2>&1) ||
	    fail "systemd-analyze verify $u failed"
	[ -z "$out" ] || fail "systemd-analyze verify $u: $out"
done
# --threshold counts tenths.
for bound in iod.service:11 iod-activated.service:5; do
	u=${bound%%:*}
	level=$(systemd-analyze security --offline=true \
	    "/lib/systemd/system/$u" 2>&1 |
	    sed -n 's/^→ Overall exposure level for .*: \([0-9.]*\) .*/\1/p')
	say "exposure level of $u: $level"
	systemd-analyze security --offline=true --threshold="${bound#*:}" \
	    "/lib/systemd/system/$u" >/dev/null 2>&1 ||
	    fail "exposure level of $u is $level, over ${bound#*:} tenths"
done

# The man pages render without a warning.
for page in iod.8 iod.conf.5; do
	out=$(MANWIDTH=80 man --warnings "${page%.*}" 2>&1 >/dev/null) ||
	    fail "man ${page%.*} failed"
	[ -z "$out" ] || fail "man --warnings ${page%.*}: $out"
done

# One round trip through the installed binary.
say "smoke test"
IOD=/usr/sbin/iod "$work/src/debian/tests/smoke" || fail "smoke test failed"

# A local edit of the configuration survives a reinstall.
say "reinstalling over a local edit of /etc/iod.conf"
printf '\n# local edit\nmode = "echo";\n' >>/etc/iod.conf
dpkg -i "$deb" >"$work/reinstall.log" 2>&1 || {
	cat "$work/reinstall.log" >&2
	die "dpkg -i (reinstall) failed"
}
grep -q '^# local edit$' /etc/iod.conf ||
    fail "the local edit of /etc/iod.conf is gone after a reinstall"
for f in /etc/iod.conf.dpkg-new /etc/iod.conf.dpkg-dist; do
	[ ! -e "$f" ] || fail "$f exists after a reinstall"
done
out=$(iod -t -c /etc/iod.conf 2>&1) || fail "edited /etc/iod.conf: $out"

# Remove keeps the configuration; purge takes everything.
say "removing, then purging"
dpkg --remove iod >"$work/remove.log" 2>&1 || {
	cat "$work/remove.log" >&2
	die "dpkg --remove failed"
}
[ ! -e /usr/sbin/iod ] || fail "/usr/sbin/iod is still there after remove"
grep -q '^# local edit$' /etc/iod.conf 2>/dev/null ||
    fail "/etc/iod.conf did not survive remove"
dpkg --purge iod >"$work/purge.log" 2>&1 || {
	cat "$work/purge.log" >&2
	die "dpkg --purge failed"
}
installed=0
traces >"$work/after"
if ! cmp -s "$work/before" "$work/after"; then
	fail "left after purge: $(comm -13 "$work/before" "$work/after" |
	    tr '\n' ' ')"
fi

if [ "$failed" -ne 0 ]; then
	say "$failed check(s) failed"
	exit 1
fi
say "all checks passed"
