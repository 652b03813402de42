# reuseport.awk: from bench/run --reuseport's spread.csv and runs.csv, for
# each engine with two workers, reuseport off (ENGINE-2w) against on
# (ENGINE-2w-rp): the spread of 1,000 connections over the workers (the
# largest per-worker count over the smallest; 1.000 is even), the server
# CPU time per connection of that run (accept and one round trip), and p99
# latency and round trips per second on each pingpong workload, each as
# the median of the rounds with the smallest and largest in brackets.
BEGIN { FS = "," }
FNR == 1 { file++; next }
file == 1 && $7 != "" {
	add("spread", $1, $7)
	if ($8 != "")
		add("cpu", $1, $8)
	if ($1 ~ /-2w$/ && !($1 in seen)) {
		seen[$1] = 1
		engines[++ne] = $1
	}
}
file == 2 && $3 ~ /^pingpong/ && $5 == "ok" {
	add("p99 " $3, $1, $10)
	add("rtt " $3, $1, $6)
	if (!($3 in wseen)) {
		wseen[$3] = 1
		wl[++nw] = $3
	}
}

# Keep value v of measure m for server s.
function add(m, s, v) {
	vals[m, s, ++nv[m, s]] = v + 0
}

# "median (min-max)" of measure m for server s, with format f.
function stat(m, s, f,    n, i, j, t, a, med) {
	n = nv[m, s]
	if (n == 0)
		return "-"
	for (i = 1; i <= n; i++)
		a[i] = vals[m, s, i]
	for (i = 2; i <= n; i++)
		for (j = i; j > 1 && a[j - 1] > a[j]; j--) {
			t = a[j]; a[j] = a[j - 1]; a[j - 1] = t
		}
	med = n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
	return sprintf(f " (" f "-" f ")", med, a[1], a[n])
}

END {
	print ""
	print "## reuseport off against on"
	print ""
	print "Two workers each; `-2w`: one listener shared by both, " \
	    "`-2w-rp`: `reuseport = true`.  Median of the rounds " \
	    "(smallest-largest)."
	print ""
	printf "| engine | spread max/min off | on | CPU us/conn off | on |"
	for (k = 1; k <= nw; k++)
		printf " %s p99 us off | on | rtt/s off | on |", wl[k]
	print ""
	printf "| --- | --- | --- | --- | --- |"
	for (k = 1; k <= nw; k++)
		printf " --- | --- | --- | --- |"
	print ""
	for (i = 1; i <= ne; i++) {
		off = engines[i]; on = off "-rp"
		e = off; sub(/-2w$/, "", e)
		printf "| %s | %s | %s | %s | %s |", e,
		    stat("spread", off, "%.3f"), stat("spread", on, "%.3f"),
		    stat("cpu", off, "%.1f"), stat("cpu", on, "%.1f")
		for (k = 1; k <= nw; k++)
			printf " %s | %s | %s | %s |",
			    stat("p99 " wl[k], off, "%.0f"),
			    stat("p99 " wl[k], on, "%.0f"),
			    stat("rtt " wl[k], off, "%.0f"),
			    stat("rtt " wl[k], on, "%.0f")
		print ""
	}
}
