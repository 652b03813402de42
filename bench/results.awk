# results.awk: turn summary.csv (from summary.awk) into RESULTS.md, one
# table per workload.  Variables: cmd, when, setup, xf, charts (1 if
# there are PNGs) and peers (1 with bench/run --peers), set with -v.

BEGIN {
	FS = ","
	title["rtt_per_s"] = "round trips per second, higher is better"
	title["MB_per_s"] = "MB/s echoed back, higher is better"
	title["rss_B_per_conn"] = "memory per idle connection, lower is better"
}

# Format b bytes per connection times n connections in MiB, or a dash.
function proj(b, n) {
	return b == "" ? "–" : sprintf("%.0f", b * n / 1048576)
}

# One table row for a memory workload: the server's growth per
# connection, the kernel's (socket buffers and slab, both ends of each
# connection), and both projected to 100,000 and 1,000,000 connections.
function memrow(    k) {
	k = ($15 == "" && $16 == "") ? "" : $15 + $16
	return sprintf("| %s | %s | %s | %s | %s | %s / %s | %s / %s |\n",
	    $2, $4 ($18 != "" ? " (" $18 ")" : ""), fmt($7, 0), fmt($15, 0),
	    fmt($16, 0), proj($7, 1e5), proj($7, 1e6), proj(k, 1e5),
	    proj(k, 1e6))
}

# Format x with d decimals, or a dash when it is empty.
function fmt(x, d) {
	return x == "" ? "–" : sprintf("%." d "f", x)
}

NR == 1 { next }

{
	if (!($1 in seen)) {
		seen[$1] = 1
		wl[++nwl] = $1
		metric[$1] = $6
	}
	if ($6 == "rss_B_per_conn") {
		rows[$1] = rows[$1] memrow()
		next
	}
	rows[$1] = rows[$1] sprintf("| %s | %s | %s | %s | %s – %s | %s | %s " \
	    "| %s | %s | %s |\n", $2, $4 ($18 != "" ? " (" $18 ")" : ""),
	    fmt($7, $6 == "MB_per_s" ? 1 : 0), $5,
	    fmt($8, $6 == "MB_per_s" ? 1 : 0),
	    fmt($9, $6 == "MB_per_s" ? 1 : 0), fmt($10, 2),
	    $6 == "MB_per_s" ? "–" : fmt($11, 1),
	    $6 == "MB_per_s" ? "–" : fmt($12, 1),
	    $6 == "MB_per_s" ? fmt($14, 0) : \
	    ($6 == "rtt_per_s" ? fmt($13, 2) : "–"), fmt($17, 2))
}

END {
	print "# iod benchmark results"
	print ""
	print "Measured " when " with:"
	print ""
	print "    " cmd
	print ""
	print setup
	print ""
	print "Each cell is the median of the runs that completed (\"runs\"); " \
	    "the spread is the lowest and highest of them.  \"ratio\" is " \
	    "the median over the rounds of the server's result divided by " \
	    "the floor server's in the same round, on the same workload: " \
	    "1.00 is as fast as the floor.  \"CPU ratio\" is the same for " \
	    "server CPU time per round trip or per MB: 1.00 costs what the " \
	    "floor costs, 1.25 a quarter more.  Latency is per message, " \
	    "from the send of its first byte to the arrival of the last " \
	    "byte of its reply.  Server CPU " \
	    "is utime + stime from /proc (all threads, and children); \"per " \
	    "rt\" is per round trip, \"per MB\" per MB echoed.  Memory " \
	    "(idle and scale, one run each on a fresh server): the " \
	    "growth of the server's resident memory per connection, and " \
	    "the growth of the kernel's TCP socket buffers " \
	    "(/proc/net/sockstat) and slab (/proc/meminfo) per connection, " \
	    "both ends of it on loopback; the kernel figures are " \
	    "machine-wide, so other work on the machine shows in them.  " \
	    "See bench/README.md."
	if (peers) {
		print ""
		print "Peers (bench/README.md, \"Peers\"): asyncio, uvloop, " \
		    "gevent, node and go do iod's job and are compared with " \
		    "the floor like iod's engines.  xinetd has no upper-casing " \
		    "service: xinetd-echo is its built-in echo, driven with " \
		    "iod-bench --mode echo, and its ratio is to floor-echo, the " \
		    "floor in echo mode.  A peer whose Debian package could not " \
		    "be installed is shown as skipped."
	}
	print ""
	print "transform_upper alone (xfbench): " xf
	for (i = 1; i <= nwl; i++) {
		w = wl[i]
		print ""
		print "## " w ": " title[metric[w]]
		print ""
		if (metric[w] == "rss_B_per_conn") {
			print "| server | status | server B/conn | kernel " \
			    "buffers B/conn | kernel slab B/conn | server MiB " \
			    "at 100k / 1M | kernel MiB at 100k / 1M |"
			print "| --- | --- | ---: | ---: | ---: | ---: | ---: |"
		} else {
			print "| server | status | median | runs | spread | " \
			    "ratio | p50 µs | p99 µs | server CPU " \
			    (metric[w] == "MB_per_s" ? "µs per MB" : \
			    "µs per rt") " | CPU ratio |"
			print "| --- | --- | ---: | ---: | ---: | ---: | ---: " \
			    "| ---: | ---: | ---: |"
		}
		printf "%s", rows[w]
		if (charts) {
			print ""
			print "![" w "](" w ".png)"
		}
	}
}
