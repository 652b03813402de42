# summary.awk: fold bench/run's runs.csv into one line per server and
# workload: the median of the repetitions, their spread, and the ratio of
# the median to the floor server's on the same workload.
#
# The headline metric depends on the workload: round trips per second for
# pingpong, MB/s received for stream (both: higher is better, and the ratio
# is server / floor), and RSS growth per connection in bytes for idle and
# scale (lower is better; no ratio, the floor's growth is close to
# nothing), with the kernel's socket buffers and slab per connection.
# A server named *-echo runs in echo mode (bench/run --peers: xinetd's
# echo), and its reference is the floor in echo mode, floor-echo.
#
# Ratios are taken round by round (a server against the floor in the same
# round, moments apart) and the median of those is reported: a noisy
# round then moves one ratio, not the medians on either side of it.  The
# same is done for server CPU per round trip (pingpong) or per MB
# (stream), the figure that tells servers apart once the load generator,
# not the server, is the limit.

BEGIN {
	FS = ","
	OFS = ","
}

# Sort the n values of a[1..n] in place (n is a handful: insertion sort).
function sort(a, n,    i, j, v) {
	for (i = 2; i <= n; i++) {
		v = a[i]
		for (j = i - 1; j >= 1 && a[j] > v; j--)
			a[j + 1] = a[j]
		a[j + 1] = v
	}
}

# Return the median of a[1..n], sorted.
function median(a, n) {
	if (n == 0)
		return ""
	if (n % 2)
		return a[(n + 1) / 2]
	return (a[n / 2] + a[n / 2 + 1]) / 2
}

# Return the headline metric of one row for workload w.
function metric(w) {
	if (w ~ /^pingpong/)
		return $6
	if (w ~ /^stream/)
		return $7 / 1e6
	return $15
}

# Return the median over the rounds of a[k, rep] / a[f, rep], the rounds
# in which both k and its reference f completed; empty if none did.
function repratio(a, k, f,    i, n, r, v) {
	n = 0
	for (i = 1; i <= okn[k]; i++) {
		r = reps[k, i]
		if ((f SUBSEP r) in a && a[f, r] > 0 && a[k, r] != "")
			v[++n] = a[k, r] / a[f, r]
	}
	sort(v, n)
	return n ? sprintf("%.3f", median(v, n)) : ""
}

# Return the median of column c over the ok rows of group k.
function colmedian(k, c,    i, n, v) {
	n = 0
	for (i = 1; i <= okn[k]; i++)
		if (col[k, i, c] != "")
			v[++n] = col[k, i, c] + 0
	sort(v, n)
	return median(v, n)
}

NR == 1 { next }

{
	k = $1 SUBSEP $3
	if (!(k in seen)) {
		seen[k] = 1
		keys[++nkeys] = k
		server[k] = $1
		workers[k] = $2
		workload[k] = $3
		if (!($3 in wseen)) {
			wseen[$3] = 1
			wls[++nwl] = $3
		}
	}
	if ($5 == "FAILED")
		failed[k] = 1
	else if ($5 != "ok")
		other[k] = $5
	if ($18 != "")
		note[k] = $18
	if ($5 != "ok")
		next
	n = ++okn[k]
	val[k, n] = metric($3) + 0
	byrep[k, $4] = metric($3) + 0
	cpurep[k, $4] = $3 ~ /^stream/ ? $14 : $13
	reps[k, n] = $4
	for (c = 6; c <= 17; c++)
		col[k, n, c] = $c
}

END {
	print "workload,server,workers,status,runs,metric,median,min,max," \
	    "ratio_to_floor,p50_us,p99_us,cpu_us_per_rtt,cpu_us_per_mb," \
	    "sock_mem_per_conn_b,slab_per_conn_b,cpu_ratio_to_floor,note"
	for (i = 1; i <= nkeys; i++) {
		k = keys[i]
		n = okn[k] + 0
		for (j = 1; j <= n; j++)
			v[j] = val[k, j]
		sort(v, n)
		med[k] = median(v, n)
		lo[k] = n ? v[1] : ""
		hi[k] = n ? v[n] : ""
		st[k] = failed[k] ? "FAILED" : (other[k] != "" ? other[k] : "ok")
	}
	for (i = 1; i <= nkeys; i++) {
		k = keys[i]
		w = workload[k]
		f = (server[k] ~ /-echo$/ ? "floor-echo" : "floor") SUBSEP w
		ratio = cpuratio = ""
		if (w !~ /^(idle|scale)/) {
			ratio = repratio(byrep, k, f)
			cpuratio = repratio(cpurep, k, f)
		}
		name = w ~ /^pingpong/ ? "rtt_per_s" : \
		    (w ~ /^stream/ ? "MB_per_s" : "rss_B_per_conn")
		print w, server[k], workers[k], st[k], okn[k] + 0, name,
		    med[k], lo[k], hi[k], ratio, colmedian(k, 9),
		    colmedian(k, 10), colmedian(k, 13), colmedian(k, 14),
		    colmedian(k, 16), colmedian(k, 17), cpuratio, note[k]
	}
}
