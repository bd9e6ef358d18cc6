// Command bench is roster's load harness. It builds the roster binary, starts
// it on loopback with a fresh database of seeded users, drives HTTP load with
// wrk, and measures two references in the same run: a bare net/http handler
// (the HTTP stack's ceiling on this machine) and the hashing ceiling
// (GOMAXPROCS / the time of one argon2id hash). It prints a Markdown table.
//
//	go run ./bench                  # the table on stdout
//	go run ./bench -readme          # and into docs/performance.md, between its markers
//
// It needs wrk (Debian: apt-get install wrk).
package main

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"roster/account"
	"roster/db"
	_ "roster/db/pgstore" // db.Open's PostgreSQL engine, for -db
	"roster/db/pgtest"
	"roster/internal/procstat"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

type config struct {
	duration    time.Duration
	rounds      int
	connections int
	flood       int
	users       int
	million     bool
	readme      bool
	only        *regexp.Regexp
	bare        string
	db          string // a PostgreSQL server's URL: run there instead of on SQLite files
	compare     bool   // with db: GET /v1/me and login on both engines, and on two replicas
}

func run() error {
	var cfg config
	flag.DurationVar(&cfg.duration, "duration", 10*time.Second, "length of each wrk run")
	flag.IntVar(&cfg.rounds, "rounds", 3, "runs of each scenario (GET /v1/me alternating with the bare handler, a hashing one with the hashing ceiling); the median is reported")
	flag.IntVar(&cfg.connections, "connections", 32, "wrk connections for the main scenarios")
	flag.IntVar(&cfg.flood, "flood-connections", 64, "wrk connections for the login flood")
	flag.IntVar(&cfg.users, "users", 1000, "users seeded before the load")
	flag.BoolVar(&cfg.million, "million", false, "also compare GET /v1/me and login with 1,000,000 users")
	flag.BoolVar(&cfg.readme, "readme", false, "write the table into "+performanceDoc+" between its bench markers")
	flag.StringVar(&cfg.bare, "serve-bare", "", "internal: serve the bare reference handler on this address")
	flag.StringVar(&cfg.db, "db", "", "a postgres:// URL: run the scenarios on PostgreSQL (a fresh schema per database, dropped after) instead of SQLite files")
	flag.BoolVar(&cfg.compare, "compare", false, "with -db: measure GET /v1/me and login on SQLite and PostgreSQL in alternating runs, then on two PostgreSQL replicas at once")
	only := flag.String("run", "", "run only the roster scenarios whose names match this regular expression (not with -readme or -million)")
	flag.Parse()
	if cfg.rounds < 1 {
		return errors.New("-rounds must be at least 1")
	}
	if *only != "" {
		if cfg.readme || cfg.million {
			return errors.New("-run measures a part of the table: it cannot go with -readme or -million")
		}
		var err error
		if cfg.only, err = regexp.Compile(*only); err != nil {
			return fmt.Errorf("-run: %v", err)
		}
	}
	if cfg.bare != "" {
		return serveBare(cfg.bare)
	}
	if cfg.compare && (cfg.db == "" || cfg.million || cfg.only != nil) {
		return errors.New("-compare needs -db, and goes without -million and -run")
	}
	if _, err := exec.LookPath("wrk"); err != nil {
		return errors.New("wrk not found: install it with `apt-get install wrk` (Debian) and run again")
	}

	dir, err := os.MkdirTemp("", "roster-bench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	binary := filepath.Join(dir, "roster")
	if out, err := exec.Command("go", "build", "-o", binary, "roster").CombinedOutput(); err != nil {
		return fmt.Errorf("build roster: %v\n%s", err, out)
	}
	script, err := filepath.Abs(filepath.Join("bench", "load.lua"))
	if err != nil {
		return err
	}

	self, err := os.Executable()
	if err != nil {
		return err
	}
	bare, err := startProcess(self, "-serve-bare", "127.0.0.1:0")
	if err != nil {
		return err
	}
	defer bare.stop()

	if cfg.compare {
		table, err := compareEngines(cfg, dir, binary, script)
		if err != nil {
			return err
		}
		fmt.Print(table)
		if cfg.readme {
			return updateTable(performanceDoc, comparisonBegin, comparisonEnd, table)
		}
		return nil
	}

	hashTime := medianHashTime(31)
	ceiling := float64(runtime.GOMAXPROCS(0)) / hashTime.Seconds()
	parallel := parallelHashRate(5 * time.Second)

	rows, base, err := measureRoster(cfg, dir, binary, script, cfg.users, bare, func(name string) bool {
		return cfg.only == nil || cfg.only.MatchString(name)
	})
	if err != nil {
		return err
	}
	if cfg.million {
		big, err := measureScale(cfg, dir, binary, script, 1_000_000, bare, base)
		if err != nil {
			return err
		}
		rows = append(rows, big...)
	}

	table := render(cfg, rows, hashTime, ceiling, parallel)
	fmt.Print(table)
	if cfg.readme {
		return updateTable(performanceDoc, beginMarker, endMarker, table)
	}
	return nil
}

// row is one line of the results table.
type row struct {
	name  string
	conns int
	res   result
	rss   int64 // peak RSS of the roster process during the run, bytes
	ratio string
}

// baseline is what measureScale compares the large database with: GET /v1/me
// and login, each as a share of its reference.
type baseline struct {
	me, login float64 // share of the bare handler, of the hashing ceiling
}

// The scenarios that measureScale repeats on the large database.
const (
	meScenario    = "GET /v1/me (valid token)"
	loginScenario = "POST /v1/sessions (login)"
)

// measureRoster runs the scenarios whose names include accepts against a
// fresh roster on a database of users. GET /v1/me runs cfg.rounds times, each
// right after a run of the bare handler, and the median run of each is
// reported: the two share the machine with wrk, so measuring them side by
// side keeps their ratio honest. For the same reason each hashing scenario is
// compared with the hashing references measured right before and right after
// it (see hashRefs).
func measureRoster(cfg config, dir, binary, script string, users int, bare *process, include func(name string) bool) ([]row, baseline, error) {
	var base baseline
	srv, token, stop, err := startRoster(dir, binary, users, cfg.db)
	if err != nil {
		return nil, base, err
	}
	defer stop()

	type scenario struct {
		name, method, path, body, ctype, auth string
		conns                                 int
		vsBare                                bool // else compared with the hashing ceiling
	}
	const loginBody = `{"username":"bench{u}","password":"` + benchPassword + `"}`
	scenarios := []scenario{
		{meScenario, "GET", "/v1/me", "", "", "Bearer " + token, cfg.connections, true},
		{loginScenario, "POST", "/v1/sessions", loginBody, "application/json", "", cfg.connections, false},
		{"POST /v1/users (sign-up)", "POST", "/v1/users",
			`{"username":"new{n}","password":"` + benchPassword + `"}`, "application/json", "", cfg.connections, false},
		{"POST /login (tutorial form)", "POST", "/login",
			"user=bench{u}&pass=" + strings.ReplaceAll(benchPassword, " ", "+"), "application/x-www-form-urlencoded", "", cfg.connections, false},
		{"POST /v1/sessions login flood", "POST", "/v1/sessions", loginBody, "application/json", "", cfg.flood, false},
	}
	var rows []row
	for _, sc := range scenarios {
		if !include(sc.name) {
			continue
		}
		if err := procstat.ResetPeakRSS(srv.cmd.Process.Pid); err != nil {
			return nil, base, err
		}
		var refs, runs []result
		var ceilings []hashRefs
		var loads []hashLoad
		for round := range cfg.rounds {
			// {n} makes the sign-up names unique; wrk counts from 0 every run.
			body := strings.ReplaceAll(sc.body, "{n}", fmt.Sprintf("{n}r%d", round))
			if sc.vsBare {
				ref, err := wrk(cfg, script, bare, sc.conns, "GET", "/", "", "", "")
				if err != nil {
					return nil, base, err
				}
				refs = append(refs, ref)
			}
			var before hashRefs
			var work hashWork
			if !sc.vsBare {
				before = measureHashRefs()
				if work, err = scrapeHashWork(srv); err != nil {
					return nil, base, err
				}
			}
			res, err := wrk(cfg, script, srv, sc.conns, sc.method, sc.path, body, sc.ctype, sc.auth, strconv.Itoa(users))
			if err != nil {
				return nil, base, err
			}
			runs = append(runs, res)
			if !sc.vsBare {
				after, err := scrapeHashWork(srv)
				if err != nil {
					return nil, base, err
				}
				load, err := work.until(after)
				if err != nil {
					return nil, base, fmt.Errorf("%s: %v", sc.name, err)
				}
				loads = append(loads, load)
				ceilings = append(ceilings, before.mean(measureHashRefsAfter()))
			}
		}
		rss, err := procstat.PeakRSS(srv.cmd.Process.Pid)
		if err != nil {
			return nil, base, err
		}
		r := row{name: sc.name, conns: sc.conns, rss: rss}
		if sc.vsBare {
			ref := median(refs)
			r.res = median(runs)
			rows = append(rows, row{name: "bare net/http handler, GET (reference)", conns: sc.conns, res: ref,
				ratio: "p99 of the runs: " + p99s(refs)})
			r.ratio = fmt.Sprintf("%.0f%% of bare; p99 of the runs: %s", 100*r.res.rps()/ref.rps(), p99s(runs))
			base.me = r.res.rps() / ref.rps()
		} else {
			// The run whose share of its own ceiling is the median.
			order := make([]int, len(runs))
			for i := range order {
				order[i] = i
			}
			share := func(i int) float64 { return runs[i].rps() / ceilings[i].ceiling }
			slices.SortFunc(order, func(a, b int) int { return cmp.Compare(share(a), share(b)) })
			i := order[(len(order)-1)/2]
			r.res = runs[i]
			r.ratio = ceilings[i].shares(r.res) + "; " + loads[i].split(ceilings[i])
			if sc.name == loginScenario {
				base.login = share(i)
			}
		}
		rows = append(rows, r)
	}
	return rows, base, nil
}

// p99s lists the runs' p99 latencies in the order they ran: the median run's
// p99 alone would hide how far the tail moves from one run to the next.
func p99s(runs []result) string {
	var parts []string
	for _, r := range runs {
		parts = append(parts, us(r.P99US))
	}
	return strings.Join(parts, ", ")
}

// median is the run with the median requests/s (the lower middle one of an
// even count).
func median(runs []result) result {
	sorted := slices.Clone(runs)
	slices.SortFunc(sorted, func(a, b result) int { return cmp.Compare(a.rps(), b.rps()) })
	return sorted[(len(sorted)-1)/2]
}

// measureScale repeats GET /v1/me and login on a database of n users, just
// as measureRoster runs them on the default user count, and compares their
// shares of the references measured beside them (see measureRoster) with the
// default run's, so that the machine's drift between the two databases' runs
// does not pass for an effect of their size.
func measureScale(cfg config, dir, binary, script string, n int, bare *process, base baseline) ([]row, error) {
	rows, big, err := measureRoster(cfg, dir, binary, script, n, bare, func(name string) bool {
		return name == meScenario || name == loginScenario
	})
	if err != nil {
		return nil, err
	}
	of := func(share, baseShare float64) string {
		return fmt.Sprintf("%.0f%% of the %d-user run", 100*share/baseShare, cfg.users)
	}
	var scaled []row
	for _, r := range rows {
		switch r.name {
		case meScenario:
			r.name, r.ratio = fmt.Sprintf("GET /v1/me, %d users", n), of(big.me, base.me)
		case loginScenario:
			r.name, r.ratio = fmt.Sprintf("POST /v1/sessions, %d users", n), of(big.login, base.login)
		default: // the bare handler's runs beside GET /v1/me
			continue
		}
		scaled = append(scaled, r)
	}
	return scaled, nil
}

const benchPassword = "correct horse battery staple"

// startRoster seeds a fresh database with users bench0…bench<n-1> sharing one
// argon2id hash, starts roster on it and returns a session token for bench0.
func startRoster(dir, binary string, n int, pgServer string) (*process, string, func(), error) {
	dsn, drop, err := freshDatabase(dir, pgServer, n)
	if err != nil {
		return nil, "", nil, err
	}
	srv, token, err := serveRoster(binary, dsn)
	if err != nil {
		drop()
		return nil, "", nil, err
	}
	return srv, token, func() { srv.stop(); drop() }, nil
}

// freshDatabase creates a database of n seeded users: a SQLite file in dir,
// or, when pgServer names a PostgreSQL server, a new schema there. drop
// removes the schema (the file goes with dir).
func freshDatabase(dir, pgServer string, n int) (dsn string, drop func(), err error) {
	drop = func() {}
	if pgServer == "" {
		dsn = filepath.Join(dir, fmt.Sprintf("roster-%d.db", n))
		for _, suffix := range []string{"", "-wal", "-shm"} {
			os.Remove(dsn + suffix)
		}
	} else {
		ctx := context.Background()
		name, dropSchema, err := pgtest.NewSchema(ctx, pgServer)
		if err != nil {
			return "", nil, err
		}
		drop = func() { dropSchema(ctx) }
		if dsn, err = pgtest.WithSearchPath(pgServer, name); err != nil {
			drop()
			return "", nil, err
		}
	}
	if err := seed(dsn, n); err != nil {
		drop()
		return "", nil, err
	}
	return dsn, drop, nil
}

// serveRoster starts roster on the database dsn and logs in as bench0,
// returning the session token.
func serveRoster(binary, dsn string) (*process, string, error) {
	// All load comes from one loopback address: lift the per-IP rate limits,
	// or the runs would measure 429s instead of the handlers.
	// As many hashing slots as GOMAXPROCS, stated so that the environment's
	// ROSTER_HASH_CONCURRENCY cannot change what hashLoad counts on.
	srv, err := startProcess(binary, "serve", "-addr", "127.0.0.1:0", "-db", dsn,
		"-login-rate", "1000000000/1s", "-signup-rate", "1000000000/1s",
		"-hash-concurrency", strconv.Itoa(runtime.GOMAXPROCS(0)), "-metrics-token", benchMetricsToken)
	if err != nil {
		return nil, "", err
	}
	token, err := login(srv)
	if err != nil {
		srv.stop()
		return nil, "", err
	}
	return srv, token, nil
}

// login logs in as bench0 on srv and returns the session token.
func login(srv *process) (string, error) {
	body := `{"username":"bench0","password":"` + benchPassword + `"}`
	res, err := http.Post(srv.url+"/v1/sessions", "application/json", strings.NewReader(body))
	if err != nil {
		return "", err
	}
	defer res.Body.Close()
	var s struct{ Token string }
	if err := json.NewDecoder(res.Body).Decode(&s); err != nil || s.Token == "" {
		return "", fmt.Errorf("log in as bench0: status %d, %v", res.StatusCode, err)
	}
	return s.Token, nil
}

func seed(dsn string, n int) error {
	ctx := context.Background()
	store, err := db.Open(ctx, dsn)
	if err != nil {
		return err
	}
	defer store.Close()
	hasher, err := account.NewHasher(account.DefaultParams, 1, time.Minute)
	if err != nil {
		return err
	}
	hash, err := hasher.Hash(ctx, benchPassword)
	if err != nil {
		return err
	}
	now := db.Now(time.Now())
	const batch = 10_000
	for start := 0; start < n; start += batch {
		err := store.Tx(ctx, func(q db.Querier) error {
			for i := start; i < min(start+batch, n); i++ {
				name := "bench" + strconv.Itoa(i)
				if _, err := q.CreateUser(ctx, db.CreateUserParams{Username: name, UsernameKey: name, Role: account.RoleUser,
					PasswordHash: hash, CreatedAt: now}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// hashCeiling is GOMAXPROCS / the median time of one hash: the rate at which
// the machine could hash with nothing else to do.
func hashCeiling() float64 {
	return float64(runtime.GOMAXPROCS(0)) / medianHashTime(31).Seconds()
}

// hashRefs are the references of one hashing run: the hashing ceiling, and
// what GOMAXPROCS goroutines hashing at once in this process reach. The
// second tells the server's own losses from the machine's: argon2id is
// memory-bound, and two hashes at once slow each other down.
type hashRefs struct{ ceiling, parallel float64 }

func measureHashRefs() hashRefs {
	return hashRefs{ceiling: hashCeiling(), parallel: parallelHashRate(2 * time.Second)}
}

// measureHashRefsAfter measures once the server has dropped the requests wrk
// left in flight: their hashes would otherwise compete with these.
func measureHashRefsAfter() hashRefs {
	time.Sleep(500 * time.Millisecond)
	return measureHashRefs()
}

func (h hashRefs) mean(o hashRefs) hashRefs {
	return hashRefs{ceiling: (h.ceiling + o.ceiling) / 2, parallel: (h.parallel + o.parallel) / 2}
}

// shares is the ratio column of a hashing run.
func (h hashRefs) shares(r result) string {
	return fmt.Sprintf("%.0f%% of hashing ceiling (%.0f/s); %.0f%% of parallel hashing (%.0f/s)",
		100*r.rps()/h.ceiling, h.ceiling, 100*r.rps()/h.parallel, h.parallel)
}

// hashWork is what the server's hash duration histogram
// (roster_password_hash_duration_seconds, every op) held at one moment.
type hashWork struct {
	at    time.Time
	sum   float64 // seconds spent hashing, all slots together
	count float64
}

// hashLoad is a hashing run seen from the server: how busy its hashing slots
// were, and how long one hash took beside everything else it was doing.
type hashLoad struct {
	busy float64 // share of the slots' time spent hashing
	hash time.Duration
}

// until is the load between w and a later scrape; startRoster gives the
// server GOMAXPROCS slots.
func (w hashWork) until(later hashWork) (hashLoad, error) {
	sum, n := later.sum-w.sum, later.count-w.count
	if n < 1 {
		return hashLoad{}, errors.New("the server recorded no hash during the run")
	}
	slots := float64(runtime.GOMAXPROCS(0))
	return hashLoad{busy: sum / (slots * later.at.Sub(w.at).Seconds()),
		hash: time.Duration(sum / n * float64(time.Second))}, nil
}

// split is a hashing run's share of the ceiling in two: its slots' busy
// share, divided by how much longer a hash took in the server than alone
// (the ceiling's hash time). That time is the hash's wall time, so it holds
// both the other hash's memory contention and the moments its core gave to
// the server's other work, the kernel and wrk; parallel hashing's ratio is
// shown beside it for the first.
func (l hashLoad) split(refs hashRefs) string {
	alone := float64(runtime.GOMAXPROCS(0)) / refs.ceiling
	return fmt.Sprintf("slots busy %.0f%%, a hash %.1f ms: %.2f× alone (parallel hashing %.2f×)",
		100*l.busy, float64(l.hash.Microseconds())/1000, l.hash.Seconds()/alone, refs.ceiling/refs.parallel)
}

// scrapeHashWork reads the hash duration histogram's sum and count from the
// server's /metrics.
func scrapeHashWork(p *process) (hashWork, error) {
	req, err := http.NewRequest("GET", p.url+"/metrics", nil)
	if err != nil {
		return hashWork{}, err
	}
	req.Header.Set("Authorization", "Bearer "+benchMetricsToken)
	res, err := metricsClient.Do(req)
	if err != nil {
		return hashWork{}, err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return hashWork{}, fmt.Errorf("/metrics: status %d", res.StatusCode)
	}
	// No line yet is no hash yet: the histogram has a series per op once
	// that op has been observed.
	w := hashWork{at: time.Now()}
	sc := bufio.NewScanner(res.Body)
	for sc.Scan() {
		name, value, _ := strings.Cut(sc.Text(), " ")
		var dst *float64
		switch {
		case strings.HasPrefix(name, "roster_password_hash_duration_seconds_sum{"):
			dst = &w.sum
		case strings.HasPrefix(name, "roster_password_hash_duration_seconds_count{"):
			dst = &w.count
		default:
			continue
		}
		v, err := strconv.ParseFloat(value, 64)
		if err != nil {
			return hashWork{}, fmt.Errorf("/metrics: %q: %v", sc.Text(), err)
		}
		*dst += v
	}
	return w, sc.Err()
}

var metricsClient = &http.Client{Timeout: 10 * time.Second}

// benchMetricsToken serves /metrics on the API listener, where the harness
// reads it.
const benchMetricsToken = "bench-metrics-token"

// medianHashTime times n argon2id hashes with the service's parameters.
func medianHashTime(n int) time.Duration {
	h, _ := account.NewHasher(account.DefaultParams, 1, time.Minute)
	times := make([]time.Duration, n)
	for i := range times {
		start := time.Now()
		h.Hash(context.Background(), benchPassword)
		times[i] = time.Since(start)
	}
	slices.Sort(times)
	return times[n/2]
}

// parallelHashRate is how many hashes per second GOMAXPROCS goroutines
// complete together in d.
func parallelHashRate(d time.Duration) float64 {
	h, _ := account.NewHasher(account.DefaultParams, runtime.GOMAXPROCS(0), time.Minute)
	var done atomic.Int64
	deadline := time.Now().Add(d)
	start := time.Now()
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for time.Now().Before(deadline) {
				h.Hash(context.Background(), benchPassword)
				done.Add(1)
			}
		})
	}
	wg.Wait()
	return float64(done.Load()) / time.Since(start).Seconds()
}

// result is what wrk reported for one run.
type result struct {
	Requests     int64            `json:"requests"`
	DurationUS   int64            `json:"duration_us"`
	P50US        int64            `json:"p50_us"`
	P99US        int64            `json:"p99_us"`
	SocketErrors int64            `json:"socket_errors"`
	Statuses     map[string]int64 `json:"statuses"`
}

func (r result) rps() float64 { return float64(r.Requests) / (float64(r.DurationUS) / 1e6) }

// count returns the answers whose status starts with the given digit.
func (r result) count(class byte) int64 {
	var n int64
	for status, c := range r.Statuses {
		if status[0] == class {
			n += c
		}
	}
	return n
}

func wrk(cfg config, script string, p *process, conns int, method, path, body, ctype, auth string, users ...string) (result, error) {
	u := "1"
	if len(users) > 0 {
		u = users[0]
	}
	// One wrk thread: it drives either server as fast as two do (the bare
	// handler ~50,000 requests/s, GET /v1/me ~30,000), and a second thread
	// only takes CPU from the server it measures: with two, GET /v1/me's
	// p99 was 17-31 ms, with one 4-6 ms.
	args := []string{"-t", "1", "-c", strconv.Itoa(conns), "-d", cfg.duration.String(), "--timeout", "10s",
		"-s", script, p.url + path, "--", method, path, body, ctype, auth, u}
	out, err := exec.Command("wrk", args...).CombinedOutput()
	if err != nil {
		return result{}, fmt.Errorf("wrk %s %s: %v\n%s", method, path, err, out)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if rest, ok := strings.CutPrefix(line, "WRKJSON "); ok {
			var r result
			if err := json.Unmarshal([]byte(rest), &r); err != nil {
				return result{}, fmt.Errorf("wrk output %q: %v", rest, err)
			}
			return r, nil
		}
	}
	return result{}, fmt.Errorf("wrk printed no result:\n%s", out)
}

// process is a server the harness started and can measure.
type process struct {
	cmd  *exec.Cmd
	url  string
	done chan struct{}
}

// startProcess runs a server that logs a JSON line {"msg":"listening","addr":…}
// (roster) or a line "listening ADDR" (the bare reference) and waits for it.
func startProcess(name string, args ...string) (*process, error) {
	cmd := exec.Command(name, args...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &process{cmd: cmd, done: make(chan struct{})}
	addr := make(chan string, 1)
	go func() {
		// Parse lines only until the address: the access log that follows is
		// drained unread, so the harness spends little CPU beside the server.
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			var entry struct{ Msg, Addr string }
			line := sc.Text()
			if json.Unmarshal([]byte(line), &entry) == nil && entry.Msg == "listening" {
				addr <- entry.Addr
				break
			} else if a, ok := strings.CutPrefix(line, "listening "); ok {
				addr <- a
				break
			}
		}
		io.Copy(io.Discard, stderr)
	}()
	go func() { cmd.Wait(); close(p.done) }()
	select {
	case a := <-addr:
		p.url = "http://" + a
		return p, nil
	case <-p.done:
		return nil, fmt.Errorf("%s exited before listening", name)
	case <-time.After(2 * time.Minute):
		p.stop()
		return nil, fmt.Errorf("%s did not listen", name)
	}
}

func (p *process) stop() {
	p.cmd.Process.Kill()
	<-p.done
}

// serveBare is the reference: net/http answering a JSON body the size of a
// roster user, with nothing else in the way.
func serveBare(addr string) error {
	body := []byte(`{"id":1,"username":"bench0","email":"bench0@example.com","created_at":"2026-01-01T00:00:00Z","updated_at":"2026-01-01T00:00:00Z"}` + "\n")
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	fmt.Fprintln(os.Stderr, "listening", ln.Addr())
	return http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(body)
	}))
}

func render(cfg config, rows []row, hashTime time.Duration, ceiling, parallel float64) string {
	var b bytes.Buffer
	fmt.Fprintf(&b, "Measured %s on %s/%s, %d CPUs (GOMAXPROCS %d), wrk with 1 thread on the same machine, %s per run; "+
		"%d runs of each scenario: GET /v1/me alternating with the bare handler (the median of each is shown), a hashing scenario "+
		"between measurements of the hashing ceiling (the run with the median share of its ceiling is shown).\n\n",
		time.Now().UTC().Format("2006-01-02"), runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.GOMAXPROCS(0), cfg.duration, cfg.rounds)
	fmt.Fprintf(&b, "Hashing ceiling: GOMAXPROCS / one argon2id hash (m=19456 KiB, t=2, p=1; median %.1f ms) = %.0f hashes/s at the start. "+
		"Each hashing run is compared with the ceiling measured again right before and right after it (their mean, in brackets): "+
		"this machine's speed drifts from minute to minute. It is also compared with parallel hashing, measured at the same times: GOMAXPROCS goroutines "+
		"hashing at once in the harness for 2 s, with nothing else running. That rate is about the most the server could reach (give or take the drift between measurements): at the start, over 5 s, it was %.0f hashes/s "+
		"(%.0f%% of the ceiling; argon2id is memory-bound, so concurrent hashes slow each other).\n\n",
		float64(hashTime.Microseconds())/1000, ceiling, parallel, 100*parallel/ceiling)
	fmt.Fprintln(&b, "| scenario | conns | requests/s | p50 | p99 | 2xx | 4xx | 5xx | socket errors | peak RSS | ratio |")
	fmt.Fprintln(&b, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
	for _, r := range rows {
		rss := "—"
		if r.rss > 0 {
			rss = fmt.Sprintf("%.0f MiB", float64(r.rss)/(1<<20))
		}
		fmt.Fprintf(&b, "| %s | %d | %.0f | %s | %s | %d | %d | %d | %d | %s | %s |\n", r.name, r.conns, r.res.rps(),
			us(r.res.P50US), us(r.res.P99US), r.res.count('2'), r.res.count('4'), r.res.count('5'), r.res.SocketErrors, rss, r.ratio)
	}
	return b.String()
}

func us(v int64) string {
	if v < 1000 {
		return fmt.Sprintf("%d µs", v)
	}
	return fmt.Sprintf("%.1f ms", float64(v)/1000)
}

const (
	// performanceDoc, relative to the repository root, holds the table -readme writes.
	performanceDoc = "docs/performance.md"
	beginMarker    = "<!-- bench:begin -->"
	endMarker      = "<!-- bench:end -->"
	// The -compare table's markers.
	comparisonBegin = "<!-- bench-postgres:begin -->"
	comparisonEnd   = "<!-- bench-postgres:end -->"
)

// updateTable replaces the text between the markers begin and end of the file at path.
func updateTable(path, begin, end, table string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	s := string(b)
	i, j := strings.Index(s, begin), strings.Index(s, end)
	if i < 0 || j < i {
		return fmt.Errorf("%s has no %s … %s section", path, begin, end)
	}
	s = s[:i+len(begin)] + "\n" + table + s[j:]
	return os.WriteFile(path, []byte(s), 0o644)
}
