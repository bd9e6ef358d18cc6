package main

import (
	"bytes"
	"cmp"
	"fmt"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// comparison is one line of the -compare table.
type comparison struct {
	scenario, engine string
	conns            int
	res              result
	ratio            string
}

// compareEngines measures GET /v1/me and login on a SQLite file and on a
// PostgreSQL schema (on the server cfg.db names), each seeded with cfg.users
// users and served by its own roster, in alternating runs (SQLite, then
// PostgreSQL, cfg.rounds times) so that the machine's drift falls on both
// alike; it reports each engine's median run and their ratio. Then it
// starts a second replica on the same schema and drives both at once, half
// the connections each, cfg.rounds times: the run with the median combined
// rate is shown, with how it splits, against the one-replica median.
func compareEngines(cfg config, dir, binary, script string) (string, error) {
	lite, liteToken, stopLite, err := startRoster(dir, binary, cfg.users, "")
	if err != nil {
		return "", err
	}
	defer stopLite()
	pgDSN, dropPG, err := freshDatabase(dir, cfg.db, cfg.users)
	if err != nil {
		return "", err
	}
	defer dropPG()
	pg, pgToken, err := serveRoster(binary, pgDSN)
	if err != nil {
		return "", err
	}
	defer pg.stop()

	type scenario struct {
		name, method, path, body, ctype string
		auth                            [2]string // SQLite's, PostgreSQL's
	}
	const loginBody = `{"username":"bench{u}","password":"` + benchPassword + `"}`
	scenarios := []scenario{
		{meScenario, "GET", "/v1/me", "", "", [2]string{"Bearer " + liteToken, "Bearer " + pgToken}},
		{loginScenario, "POST", "/v1/sessions", loginBody, "application/json", [2]string{}},
	}
	users := strconv.Itoa(cfg.users)
	var rows []comparison
	single := map[string]result{}
	for _, sc := range scenarios {
		var runs [2][]result
		for range cfg.rounds {
			for e, p := range []*process{lite, pg} {
				res, err := wrk(cfg, script, p, cfg.connections, sc.method, sc.path, sc.body, sc.ctype, sc.auth[e], users)
				if err != nil {
					return "", err
				}
				runs[e] = append(runs[e], res)
			}
		}
		ml, mp := median(runs[0]), median(runs[1])
		single[sc.name] = mp
		rows = append(rows,
			comparison{sc.name, "SQLite", cfg.connections, ml, "runs: " + rates(runs[0])},
			comparison{sc.name, "PostgreSQL", cfg.connections, mp,
				fmt.Sprintf("**%.2f× SQLite**; runs: %s", mp.rps()/ml.rps(), rates(runs[1]))})
	}

	second, err := startProcess(binary, "serve", "-addr", "127.0.0.1:0", "-db", pgDSN,
		"-login-rate", "1000000000/1s", "-signup-rate", "1000000000/1s",
		"-hash-concurrency", strconv.Itoa(runtime.GOMAXPROCS(0)), "-metrics-token", benchMetricsToken)
	if err != nil {
		return "", err
	}
	defer second.stop()
	for _, sc := range scenarios {
		type pair struct{ a, b result }
		var runs []pair
		for range cfg.rounds {
			var p pair
			var errA, errB error
			var wg sync.WaitGroup
			half := max(1, cfg.connections/2)
			wg.Go(func() {
				p.a, errA = wrk(cfg, script, pg, half, sc.method, sc.path, sc.body, sc.ctype, sc.auth[1], users)
			})
			wg.Go(func() {
				p.b, errB = wrk(cfg, script, second, half, sc.method, sc.path, sc.body, sc.ctype, sc.auth[1], users)
			})
			wg.Wait()
			if err := cmp.Or(errA, errB); err != nil {
				return "", err
			}
			runs = append(runs, p)
		}
		combined := func(p pair) float64 { return p.a.rps() + p.b.rps() }
		slices.SortFunc(runs, func(x, y pair) int { return cmp.Compare(combined(x), combined(y)) })
		m := runs[(len(runs)-1)/2]
		sum := result{Requests: m.a.Requests + m.b.Requests, DurationUS: max(m.a.DurationUS, m.b.DurationUS),
			P50US: max(m.a.P50US, m.b.P50US), P99US: max(m.a.P99US, m.b.P99US), SocketErrors: m.a.SocketErrors + m.b.SocketErrors}
		sum.Statuses = map[string]int64{}
		for _, r := range []result{m.a, m.b} {
			for k, v := range r.Statuses {
				sum.Statuses[k] += v
			}
		}
		one := single[sc.name]
		rows = append(rows, comparison{sc.name, "PostgreSQL, 2 replicas", 2 * max(1, cfg.connections/2), sum,
			fmt.Sprintf("**%.2f× one replica**; split %.0f + %.0f requests/s", combined(m)/one.rps(), m.a.rps(), m.b.rps())})
	}
	return renderComparison(cfg, rows), nil
}

// rates lists the runs' requests/s in the order they ran.
func rates(runs []result) string {
	var b bytes.Buffer
	for i, r := range runs {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%.0f", r.rps())
	}
	return b.String()
}

func renderComparison(cfg config, rows []comparison) string {
	var b bytes.Buffer
	fmt.Fprintf(&b, "Measured %s on %s/%s, %d CPUs, with PostgreSQL on the same machine; wrk with 1 thread, %s per run, "+
		"%d users. Each engine runs %d times, SQLite and PostgreSQL alternating (the median of each is shown, with every run's rate); "+
		"then two PostgreSQL replicas run at once, half the connections each, %d times (the run with the median combined rate is shown; "+
		"its p50 and p99 are the worse replica's).\n\n",
		time.Now().UTC().Format("2006-01-02"), runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), cfg.duration, cfg.users,
		cfg.rounds, cfg.rounds)
	fmt.Fprintln(&b, "| scenario | engine | conns | requests/s | p50 | p99 | 2xx | other | socket errors | ratio |")
	fmt.Fprintln(&b, "|---|---|---:|---:|---:|---:|---:|---:|---:|---|")
	for _, r := range rows {
		fmt.Fprintf(&b, "| %s | %s | %d | %.0f | %s | %s | %d | %s | %d | %s |\n", r.scenario, r.engine, r.conns, r.res.rps(),
			us(r.res.P50US), us(r.res.P99US), r.res.count('2'), others(r.res), r.res.SocketErrors, r.ratio)
	}
	return b.String()
}

// others lists the answers that were not 2xx, by status: "0", or "3 (2× 503, 1× 429)".
func others(r result) string {
	var codes []string
	var n int64
	for status, c := range r.Statuses {
		if status[0] != '2' && c > 0 {
			codes = append(codes, fmt.Sprintf("%d× %s", c, status))
			n += c
		}
	}
	if n == 0 {
		return "0"
	}
	slices.Sort(codes)
	return fmt.Sprintf("%d (%s)", n, strings.Join(codes, ", "))
}
