# metrics.awk: from bench/run --metrics's summary.csv, the cost of the
# metrics endpoint: for each pingpong workload and engine, the server CPU
# per round trip with metrics on (ENGINE-metrics, scraped once a second)
# over the same with metrics off (ENGINE), from the medians of the
# repetitions; and round trips per second the same way.  A ratio of 1.00
# is no cost; on a shared machine, compare it with the spread of the
# runs themselves (min-max in the table above).
BEGIN { FS = "," }
NR == 1 { next }
$1 ~ /^pingpong/ && $4 == "ok" {
	cpu[$1, $2] = $13
	rtt[$1, $2] = $7
	if ($2 ~ /-metrics$/ && !(($1, $2) in seen)) {
		seen[$1, $2] = 1
		pairs[++n] = $1 SUBSEP $2
	}
}
END {
	print ""
	print "## Metrics on against off"
	print ""
	print "| workload | engine | CPU us/rtt off | on | ratio | rtt/s off | on | ratio |"
	print "| --- | --- | --- | --- | --- | --- | --- | --- |"
	for (i = 1; i <= n; i++) {
		split(pairs[i], p, SUBSEP)
		w = p[1]; on = p[2]; off = on
		sub(/-metrics$/, "", off)
		if (!((w, off) in cpu))
			continue
		cr = cpu[w, off] > 0 ? sprintf("%.3f", cpu[w, on] / cpu[w, off]) : ""
		rr = rtt[w, off] > 0 ? sprintf("%.3f", rtt[w, on] / rtt[w, off]) : ""
		printf "| %s | %s | %s | %s | %s | %s | %s | %s |\n", w, off,
		    cpu[w, off], cpu[w, on], cr, rtt[w, off], rtt[w, on], rr
	}
}
