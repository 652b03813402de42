# results.awk: turn summary.csv (from summary.awk) into RESULTS.md, one
# table per workload.  Variables: cmd, when, setup, xf and charts
# (1 if there are PNGs), set with -v.

BEGIN {
	FS = ","
	title["rtt_per_s"] = "round trips per second, higher is better"
	title["MB_per_s"] = "MB/s echoed back, higher is better"
	title["rss_B_per_conn"] = "server RSS growth in bytes per idle " \
	    "connection, lower is better"
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
	rows[$1] = rows[$1] sprintf("| %s | %s | %s | %s | %s – %s | %s | %s " \
	    "| %s | %s |\n", $2, $4 ($15 != "" ? " (" $15 ")" : ""),
	    fmt($7, $6 == "MB_per_s" ? 1 : 0), $5,
	    fmt($8, $6 == "MB_per_s" ? 1 : 0),
	    fmt($9, $6 == "MB_per_s" ? 1 : 0), fmt($10, 2),
	    $6 == "MB_per_s" ? "–" : fmt($11, 1),
	    $6 == "MB_per_s" ? "–" : fmt($12, 1),
	    $6 == "MB_per_s" ? fmt($14, 0) : \
	    ($6 == "rtt_per_s" ? fmt($13, 2) : "–"))
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
	    "the median divided by the floor server's median on the same " \
	    "workload, measured in the same invocation: 1.00 is as fast as " \
	    "the floor.  Latency is per message, from the send of its first " \
	    "byte to the arrival of the last byte of its reply.  Server CPU " \
	    "is utime + stime from /proc (all threads, and children); \"per " \
	    "rt\" is per round trip, \"per MB\" per MB echoed.  See " \
	    "bench/README.md."
	print ""
	print "transform_upper alone (xfbench): " xf
	for (i = 1; i <= nwl; i++) {
		w = wl[i]
		print ""
		print "## " w ": " title[metric[w]]
		print ""
		print "| server | status | median | runs | spread | ratio | " \
		    "p50 µs | p99 µs | server CPU " \
		    (metric[w] == "MB_per_s" ? "µs per MB" : "µs per rt") " |"
		print "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: " \
		    "| ---: |"
		printf "%s", rows[w]
		if (charts) {
			print ""
			print "![" w "](" w ".png)"
		}
	}
}
