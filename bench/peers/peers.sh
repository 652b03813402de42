# peers.sh: how bench/run --peers installs, builds and starts the peers,
# the servers a user might pick instead of iod (bench/README.md, "Peers").
# Sourced by bench/run, which provides apt_install, wait_port, $tmp, $bin,
# $server_cpus and the pid, port, workers and mode arrays.

# The peers in the order they are run; the floor in echo mode comes just
# before xinetd, the one peer that only echoes, as its reference.
PEERS="asyncio uvloop gevent node go floor-echo xinetd-echo"

# Print the Debian packages peer $1 needs (xinetd-echo needs python3 to
# find a free port).
peer_packages() {
	case $1 in
	asyncio) echo python3 ;;
	uvloop) echo python3-uvloop ;;
	gevent) echo python3-gevent ;;
	node) echo nodejs ;;
	go) echo golang-go ;;
	xinetd-echo) echo xinetd python3 ;;
	esac
}

# Succeed when peer $1 can run here.  Debian's own interpreters, by path:
# a python3 or node found first on PATH may lack Debian's modules.
peer_ready() {
	case $1 in
	asyncio) /usr/bin/python3 -c 'import asyncio' ;;
	uvloop) /usr/bin/python3 -c 'import uvloop' ;;
	gevent) /usr/bin/python3 -c 'import gevent' ;;
	node) [ -x /usr/bin/node ] ;;
	go) [ -x /usr/bin/go ] ;;
	xinetd-echo) [ -x /usr/sbin/xinetd ] && [ -x /usr/bin/python3 ] ;;
	esac >/dev/null 2>&1
}

# Make peer $1 ready, installing what it lacks.  Print why it cannot run,
# if it cannot.
peer_need() {
	local pkg
	peer_ready "$1" && return 0
	for pkg in $(peer_packages "$1"); do
		dpkg -s "$pkg" >/dev/null 2>&1 || apt_install "$pkg"
	done
	peer_ready "$1" && return 0
	echo "$(peer_packages "$1" | sed 's/ / or /') could not be installed"
}

# Build the Go peer into the build directory.  Go's caches go there too,
# so nothing is written to the source tree or to $HOME; only the standard
# library is used, so nothing is fetched.
peer_build_go() {
	GOCACHE=$bin/go-cache GOPATH=$bin/go-path GOTOOLCHAIN=local GOFLAGS= \
	    /usr/bin/go build -o "$bin/peer-go" "$top/bench/peers/go.go" \
	    >"$tmp/go-build.log" 2>&1 && return 0
	cat "$tmp/go-build.log" >&2
	return 1
}

# Start peer $1 on 127.0.0.1 port 0, pinned to the server cores; each
# prints "$1: listening on 127.0.0.1:PORT".
peer_start() {
	local peers=$top/bench/peers name=$1
	case $1 in
	floor-echo) start_floor floor-echo echo; return ;;
	xinetd-echo) peer_start_xinetd; return ;;
	asyncio) set -- /usr/bin/python3 "$peers/py-asyncio.py" ;;
	uvloop) set -- /usr/bin/python3 "$peers/py-asyncio.py" --uvloop ;;
	gevent) set -- /usr/bin/python3 "$peers/py-gevent.py" ;;
	node) set -- /usr/bin/node "$peers/node.js" ;;
	go) peer_build_go || return 1; set -- "$bin/peer-go" ;;
	esac
	taskset -c "$server_cpus" "$@" 0 upper 2>"$tmp/$name.log" &
	pid[$name]=$!
	wait_port "$name" "$name: listening on 127\.0\.0\.1:"
}

# Print a free port on 127.0.0.1: bind port 0, read the port, close.
peer_free_port() {
	/usr/bin/python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

# Start xinetd's built-in echo as xinetd-echo.  xinetd cannot listen on
# port 0, so it gets a port the kernel just handed out: a fixed port on
# 127.0.0.1 for this run only.  xinetd writes its own messages to the
# -filelog file; "Started working: 1 available service" means listening.
peer_start_xinetd() {
	local p
	p=$(peer_free_port) || return 1
	sed "s/@PORT@/$p/" "$top/bench/peers/xinetd.conf" >"$tmp/xinetd.conf"
	taskset -c "$server_cpus" /usr/sbin/xinetd -dontfork \
	    -f "$tmp/xinetd.conf" -filelog "$tmp/xinetd-echo.log" \
	    2>>"$tmp/xinetd-echo.log" &
	pid[xinetd-echo]=$!
	wait_port xinetd-echo 'xinetd\[[0-9]*\]: NOTICE: Started working: 1 ' "$p"
}

# Start every peer that is or can be made ready; a peer that cannot is
# skipped (skip[NAME] holds why), not a failure.
peers_start() {
	local s why
	for s in $PEERS; do
		servers="$servers $s"
		workers[$s]=1
		case $s in
		go) workers[$s]=$half ;;	# GOMAXPROCS: the server cores
		*-echo) mode[$s]=echo ;;
		esac
		[ "$s" = floor-echo ] && why="" || why=$(peer_need "$s")
		if [ -n "$why" ]; then
			skip[$s]=$why
			echo "bench/run: skipping peer $s: $why" >&2
			continue
		fi
		peer_start "$s"
	done
}
