package e2e

// Reliability of the built distribution under the failures a production
// pipeline meets: the process killed mid-ingestion, the downstream refusing
// for a while, a flood of distinct users, malformed input. Bounded versions
// run in `make test`; `make soak` (SOAK=1) runs them longer: minute-long
// outages, a million-user flood, several kills.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/otelsec/emailcompromise/internal/testing/corpus"
	"github.com/otelsec/emailcompromise/internal/testing/loadgen"
)

// soak reports whether the long versions run (make soak sets SOAK=1).
func soak() bool { return os.Getenv("SOAK") == "1" }

// relBatchSize is the receiver's batch size in these tests: with the
// exporter's queue disabled, one batch is in flight at a time, so a kill
// can repeat at most this many records.
const relBatchSize = 500

// tenantFiles generates a tenant's JSON-lines files (split per hour, the
// layout under which the expected detections hold) and returns every
// record id in generation order.
func tenantFiles(t testing.TB, dir string, cfg loadgen.Config) (*loadgen.Generator, []string) {
	t.Helper()
	g, err := loadgen.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := g.WriteFiles(dir, loadgen.SplitHour); err != nil {
		t.Fatal(err)
	}
	var ids []string
	if err := g.Each(func(r *loadgen.Record) error { ids = append(ids, r.ID); return nil }); err != nil {
		t.Fatal(err)
	}
	return g, ids
}

// TestReliabilityKillDuringIngestion kills the collector with SIGKILL while
// it reads a tenant's files and restarts it on the same file_storage
// directory, once with the exporter's queue disabled and once with it
// persistent on that file_storage (the two choices the shipped configs
// make): every record arrives, and the repeats are at most what was in
// flight at each kill (counted by audit.record.id): the receiver's batch,
// plus the queue's batches out to its consumers when it is persistent.
func TestReliabilityKillDuringIngestion(t *testing.T) {
	root := corpus.RepoRoot(t)
	binary := collectorBinary(t, root)
	users, kills := 300, []float64{0.3}
	if soak() {
		users, kills = 1000, []float64{0.2, 0.45, 0.7}
	}
	logs := filepath.Join(t.TempDir(), "logs")
	_, ids := tenantFiles(t, logs, loadgen.Config{Seed: 21, Users: users, Days: 2})
	g, _ := loadgen.New(loadgen.Config{Seed: 21, Users: users, Days: 2})
	for _, tc := range []struct {
		queue           exporterQueue
		inFlightPerKill int
	}{
		{queueDisabled, relBatchSize},
		{queuePersistent, (queueConsumers + 1) * relBatchSize},
	} {
		t.Run(string(tc.queue)+" queue", func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
			defer cancel()
			work := t.TempDir()
			sink := startSink(t, sinkKeeps{ids: true})
			cfgPath := filepath.Join(work, "config.yaml")
			writePipeline(t, cfgPath, pipeline{
				logsGlob: filepath.Join(logs, "*.jsonl"), batchSize: relBatchSize, stateDir: filepath.Join(work, "state"),
				processor: g.Policy().ProcessorConfig(), sink: sink, queue: tc.queue,
			})
			run := 0
			for _, at := range kills {
				run++
				col := startCollector(t, binary, cfgPath, filepath.Join(work, fmt.Sprintf("collector-%d.log", run)))
				if err := sink.waitDistinct(ctx, int(at*float64(len(ids))), 60*time.Second, col.exited); err != nil {
					t.Fatalf("run %d: %v\n%s", run, err, col.logTail())
				}
				if err := col.cmd.Process.Signal(syscall.SIGKILL); err != nil {
					t.Fatal(err)
				}
				<-col.exited
				d, r := sink.counts()
				t.Logf("run %d killed with SIGKILL after %d distinct records (%d delivered)", run, d, r)
			}
			run++
			col := startCollector(t, binary, cfgPath, filepath.Join(work, fmt.Sprintf("collector-%d.log", run)))
			err := sink.waitDistinct(ctx, len(ids), 60*time.Second, col.exited)
			// Listen a little longer: repeats after the last new record would show.
			time.Sleep(2 * time.Second)
			if code := col.stop(t); code != 0 {
				t.Errorf("collector exited with %d after SIGTERM\n%s", code, col.logTail())
			}
			missing, repeated := sink.missingAndRepeated(ids)
			limit := len(kills) * tc.inFlightPerKill
			t.Logf("%s queue, kill -9 x%d during ingestion of %d records: %d lost, %d repeated (limit %d: what is in flight at each kill)",
				tc.queue, len(kills), len(ids), len(missing), repeated, limit)
			recordResult(t, "kill9_queue_"+string(tc.queue), map[string]any{"records": len(ids), "kills": len(kills), "lost": len(missing),
				"repeated": repeated, "batch": relBatchSize, "queue": string(tc.queue)})
			if err != nil {
				t.Errorf("after the restart: %v", err)
			}
			if len(missing) > 0 {
				t.Errorf("%d records lost, e.g. %v", len(missing), missing[:min(5, len(missing))])
			}
			if repeated > limit {
				t.Errorf("%d records repeated; at most %d (what is in flight at each kill) may be", repeated, limit)
			}
		})
	}
}

// TestReliabilityDownstreamRefuses makes the sink refuse every export for
// a while (UNAVAILABLE over gRPC, 503 over HTTP), then accept: nothing is
// lost. Over HTTP the exporter gives up retrying before the outage ends,
// so the receiver's own backpressure (retry the batch, never skip it)
// carries the rest of the outage.
func TestReliabilityDownstreamRefuses(t *testing.T) {
	root := corpus.RepoRoot(t)
	binary := collectorBinary(t, root)
	outage := 8 * time.Second
	if soak() {
		outage = 60 * time.Second
	}
	for _, tc := range []struct {
		exporter string
		retry    map[string]any
	}{
		{"otlp_grpc", map[string]any{"enabled": true, "initial_interval": "200ms", "max_interval": "2s", "max_elapsed_time": "5m"}},
		{"otlp_http", map[string]any{"enabled": true, "initial_interval": "200ms", "max_interval": "2s", "max_elapsed_time": (outage / 3).String()}},
	} {
		t.Run(tc.exporter, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), outage+4*time.Minute)
			defer cancel()
			work := t.TempDir()
			g, ids := tenantFiles(t, filepath.Join(work, "logs"), loadgen.Config{Seed: 22, Users: 100, Days: 1})
			sink := startSink(t, sinkKeeps{ids: true})
			sink.refuse.Store(true)
			cfgPath := filepath.Join(work, "config.yaml")
			writePipeline(t, cfgPath, pipeline{
				logsGlob: filepath.Join(work, "logs", "*.jsonl"), batchSize: relBatchSize, stateDir: filepath.Join(work, "state"),
				processor: g.Policy().ProcessorConfig(), sink: sink, exporter: tc.exporter, retry: tc.retry,
			})
			col := startCollector(t, binary, cfgPath, filepath.Join(work, "collector.log"))
			select {
			case <-time.After(outage):
			case <-col.exited:
				t.Fatalf("collector exited during the outage\n%s", col.logTail())
			}
			sink.refuse.Store(false)
			refused := sink.refused.Load()
			err := sink.waitDistinct(ctx, len(ids), 90*time.Second, col.exited)
			time.Sleep(time.Second)
			if code := col.stop(t); code != 0 {
				t.Errorf("collector exited with %d after SIGTERM\n%s", code, col.logTail())
			}
			missing, repeated := sink.missingAndRepeated(ids)
			t.Logf("%s refused for %s (%d exports refused): %d of %d records lost, %d repeated",
				tc.exporter, outage, refused, len(missing), len(ids), repeated)
			recordResult(t, "refuse_"+tc.exporter, map[string]any{"outage_s": outage.Seconds(), "records": len(ids),
				"refused_exports": refused, "lost": len(missing), "repeated": repeated})
			if err != nil {
				t.Errorf("after the outage: %v\n%s", err, col.logTail())
			}
			if len(missing) > 0 {
				t.Errorf("%d records lost, e.g. %v", len(missing), missing[:min(5, len(missing))])
			}
			if refused == 0 {
				t.Error("the sink refused nothing: the outage did not happen")
			}
		})
	}
}

// TestReliabilityUserFlood sends records of many distinct users (more than
// state.max_users) through the processor over OTLP and reads the
// collector's own Prometheus metrics: the users held never exceed the cap,
// every user beyond it evicted one (the email_compromise_state_evictions
// counter), the process memory levels off once the cap is reached, and the
// eviction is of the oldest: a user seen first has been forgotten (her next
// sign-in from far away is not impossible travel), a user seen last has not.
func TestReliabilityUserFlood(t *testing.T) {
	root := corpus.RepoRoot(t)
	binary := collectorBinary(t, root)
	users, maxUsers := 200_000, 20_000
	if soak() {
		users, maxUsers = 1_000_000, 100_000
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	work := t.TempDir()
	sink := startSink(t, sinkKeeps{ids: true, tagged: true})
	otlpIn, promPort := freeAddr(t), freePort(t)
	g, _ := loadgen.New(loadgen.Config{Seed: 23, Users: 50, Days: 1, Scenarios: []string{}})
	cfgPath := filepath.Join(work, "config.yaml")
	proc := g.Policy().ProcessorConfig()
	proc["state"] = map[string]any{"max_users": maxUsers}
	writePipeline(t, cfgPath, pipeline{otlpIn: otlpIn, processor: proc, sink: sink, queue: queueMemory, promPort: promPort})
	col := startCollector(t, binary, cfgPath, filepath.Join(work, "collector.log"))
	conn, err := dialWhenUp(ctx, otlpIn, col.exited)
	if err != nil {
		t.Fatalf("%v\n%s", err, col.logTail())
	}
	defer conn.Close()
	client := plogotlp.NewGRPCClient(conn)

	flood := newSignInFlood(t)
	base := time.Date(2026, 11, 2, 8, 0, 0, 0, time.UTC)
	send := func(ld plog.Logs) {
		t.Helper()
		for {
			_, err := client.Export(ctx, plogotlp.NewExportRequestFromLogs(ld))
			if err == nil {
				return
			}
			if ctx.Err() != nil {
				t.Fatal(err)
			}
			time.Sleep(50 * time.Millisecond) // backpressure: try again
		}
	}
	// The first user, then everyone else, all signing in from Berlin.
	const batch = 2000
	// rssAtCap is the process's memory when the store first holds
	// max_users; rssSteady the most it held while the store turned over
	// twice more (the heap's garbage-collection cycle has reached its
	// size by then), which the rest of the flood must not exceed by much.
	var rssAtCap, rssSteady, peakUsers int64
	for from := 0; from < users; from += batch {
		ld := plog.NewLogs()
		lrs := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
		for i := from; i < min(from+batch, users); i++ {
			flood.add(lrs, i, base.Add(time.Duration(i)*time.Millisecond), berlin)
		}
		send(ld)
		if from+batch >= maxUsers && rssAtCap == 0 {
			waitMetric(t, ctx, promPort, "otelcol_email_compromise_state_users", float64(maxUsers))
			rssAtCap = rssKiB(t, col.cmd.Process.Pid)
		}
		if from%(20*batch) == 0 {
			if n := metricValue(t, promPort, "otelcol_email_compromise_state_users"); int64(n) > peakUsers {
				peakUsers = int64(n)
			}
			if from >= 2*maxUsers && from <= 4*maxUsers {
				rssSteady = max(rssSteady, rssKiB(t, col.cmd.Process.Pid))
			}
		}
	}
	// An hour later: the first and the last user sign in from Lagos.
	later := base.Add(time.Duration(users)*time.Millisecond + time.Hour)
	ld := plog.NewLogs()
	lrs := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
	flood.add(lrs, 0, later, lagosPlace)
	flood.add(lrs, users-1, later, lagosPlace)
	send(ld)
	if err := sink.waitDistinct(ctx, users+2, 60*time.Second, col.exited); err != nil {
		t.Errorf("not every record reached the sink: %v", err)
	}
	evictions := waitMetric(t, ctx, promPort, "otelcol_email_compromise_state_evictions", float64(users+1-maxUsers))
	held := metricValue(t, promPort, "otelcol_email_compromise_state_users")
	rssEnd, hwm := rssKiB(t, col.cmd.Process.Pid), hwmKiB(t, col.cmd.Process.Pid)
	firstTagged, lastTagged := sink.rulesOf(flood.id(0, later)), sink.rulesOf(flood.id(users-1, later))
	if code := col.stop(t); code != 0 {
		t.Errorf("collector exited with %d after SIGTERM\n%s", code, col.logTail())
	}
	t.Logf("%d distinct users, state.max_users %d: users held %.0f (peak sampled %d), evictions %.0f; RSS %d MiB when the cap was reached, %d MiB at most over the next two turnovers, %d MiB at the end (peak %d MiB)",
		users, maxUsers, held, peakUsers, evictions, rssAtCap/1024, rssSteady/1024, rssEnd/1024, hwm/1024)
	t.Logf("first user's Lagos sign-in tagged %v (state evicted: want none); last user's tagged %v (want impossible travel)", firstTagged, lastTagged)
	recordResult(t, "user_flood", map[string]any{"users": users, "max_users": maxUsers, "held": held, "evictions": evictions,
		"rss_at_cap_mib": rssAtCap / 1024, "rss_steady_mib": rssSteady / 1024, "rss_end_mib": rssEnd / 1024, "rss_peak_mib": hwm / 1024})
	if held > float64(maxUsers) || peakUsers > int64(maxUsers) {
		t.Errorf("users held %.0f (peak %d), above state.max_users %d", held, peakUsers, maxUsers)
	}
	// users distinct people plus the first one again: users+1 touches of
	// users distinct keys, all but maxUsers of which were evicted once.
	if want := float64(users + 1 - maxUsers); evictions != want {
		t.Errorf("evictions %.0f, want %.0f (every user beyond the cap evicts the oldest)", evictions, want)
	}
	// Bounded: from two turnovers of the store on, memory levels off. The
	// soak's last 600,000 evictions would show a leak of about 100 bytes
	// per evicted user; the default flood's last 120,000, one of about
	// 400.
	if rssEnd > rssSteady+rssSteady/8+32*1024 {
		t.Errorf("RSS grew from %d MiB after two turnovers of the store to %d MiB at the end: state is not bounded", rssSteady/1024, rssEnd/1024)
	}
	if slices.Contains(firstTagged, loadgen.RuleImpossibleTravel) {
		t.Errorf("the first user's state survived a flood of %d users with a cap of %d", users, maxUsers)
	}
	if !slices.Contains(lastTagged, loadgen.RuleImpossibleTravel) {
		t.Errorf("the last user's state was lost: her Lagos sign-in an hour after Berlin was not impossible travel (tags %v)", lastTagged)
	}
}

var (
	berlin     = [2]float64{52.52, 13.405}
	lagosPlace = [2]float64{6.455, 3.3841}
)

// signInFlood builds Graph sign-in records (the load generator's shape,
// decoded once) for user i, changing only what identifies the user, the
// record and the place.
type signInFlood struct{ template pcommon.Map }

func newSignInFlood(t testing.TB) *signInFlood {
	g, err := loadgen.New(loadgen.Config{Seed: 5, Users: 50, Days: 1, Scenarios: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	f := &signInFlood{}
	err = g.EachBatch(1, func(ld plog.Logs) error {
		lr := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0)
		if v, _ := lr.Attributes().Get("audit.source"); v.Str() == "entra_signin" && f.template == (pcommon.Map{}) {
			if _, azure := lr.Body().Map().Get("properties"); !azure {
				f.template = pcommon.NewMap()
				lr.Body().Map().CopyTo(f.template)
			}
		}
		return nil
	})
	if err != nil || f.template == (pcommon.Map{}) {
		t.Fatalf("no Graph sign-in to copy: %v", err)
	}
	return f
}

func (f *signInFlood) id(i int, at time.Time) string {
	return fmt.Sprintf("flood-%d-%d", i, at.Unix())
}

func (f *signInFlood) add(lrs plog.LogRecordSlice, i int, at time.Time, where [2]float64) {
	lr := lrs.AppendEmpty()
	body := lr.Body().SetEmptyMap()
	f.template.CopyTo(body)
	upn := "flood.user" + strconv.Itoa(i) + "@contoso.com"
	body.PutStr("id", f.id(i, at))
	body.PutStr("userPrincipalName", upn)
	body.PutStr("createdDateTime", at.Format(time.RFC3339))
	ip := fmt.Sprintf("100.%d.%d.%d", 64+((i>>16)&63), (i>>8)&255, i&255)
	if where != berlin {
		ip = "198.51.100.77" // the attacker's
	}
	body.PutStr("ipAddress", ip)
	st := body.PutEmptyMap("status")
	st.PutInt("errorCode", 0)
	loc := body.PutEmptyMap("location")
	loc.PutStr("countryOrRegion", map[bool]string{true: "DE", false: "NG"}[where == berlin])
	geo := loc.PutEmptyMap("geoCoordinates")
	geo.PutDouble("latitude", where[0])
	geo.PutDouble("longitude", where[1])
	body.PutBool("isInteractive", true)
	// A new session on no known device: nothing explains a move away.
	body.PutStr("correlationId", f.id(i, at))
	body.PutEmptyMap("deviceDetail").PutStr("deviceId", "")
	lr.Attributes().PutStr("audit.record.id", f.id(i, at))
}

// freeAddr returns a local TCP address nothing listens on (yet).
func freeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func freePort(t testing.TB) int {
	_, port, _ := net.SplitHostPort(freeAddr(t))
	n, _ := strconv.Atoi(port)
	return n
}

func dialWhenUp(ctx context.Context, addr string, exited <-chan struct{}) (*grpc.ClientConn, error) {
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
		}
		select {
		case <-exited:
			return nil, errors.New("the collector exited before its OTLP receiver was up")
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// metricValue reads one metric (summed over its series) from the
// collector's Prometheus endpoint; counters carry the _total suffix there.
func metricValue(t testing.TB, port int, name string) float64 {
	t.Helper()
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/metrics", port))
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	sum, found := 0.0, false
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			continue
		}
		metric, value, ok := strings.Cut(line, " ")
		if !ok {
			continue
		}
		base := metric
		if i := strings.IndexByte(metric, '{'); i >= 0 {
			base = metric[:i]
		}
		if base != name && base != name+"_total" && !strings.HasPrefix(base, name+"_") {
			continue
		}
		v, err := strconv.ParseFloat(strings.Fields(value)[0], 64)
		if err == nil {
			sum, found = sum+v, true
		}
	}
	if !found {
		return -1
	}
	return sum
}

// waitMetric waits until the metric reaches want and returns its value
// (the last one read when it never does, after a minute).
func waitMetric(t testing.TB, ctx context.Context, port int, name string, want float64) float64 {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	v := -1.0
	for time.Now().Before(deadline) && ctx.Err() == nil {
		if v = metricValue(t, port, name); v >= want {
			return v
		}
		time.Sleep(200 * time.Millisecond)
	}
	return v
}

func procStatusKiB(t testing.TB, pid int, field string) int64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return -1
	}
	for line := range bytes.Lines(data) {
		if rest, ok := bytes.CutPrefix(line, []byte(field+":")); ok {
			n, _ := strconv.ParseInt(strings.Fields(string(rest))[0], 10, 64)
			return n
		}
	}
	return -1
}

func rssKiB(t testing.TB, pid int) int64 { return procStatusKiB(t, pid, "VmRSS") }
func hwmKiB(t testing.TB, pid int) int64 { return procStatusKiB(t, pid, "VmHWM") }

// TestReliabilityMalformedInput feeds the malformed-input corpus through
// the binary, then adds a good file: the collector keeps running, passes
// every bad record on with audit.parse_error rather than dropping the file,
// reports the unreadable file, and still delivers the good file in full.
func TestReliabilityMalformedInput(t *testing.T) {
	root := corpus.RepoRoot(t)
	binary := collectorBinary(t, root)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	work := t.TempDir()
	logs := filepath.Join(work, "logs")
	if err := os.MkdirAll(logs, 0o755); err != nil {
		t.Fatal(err)
	}
	const maxRecord = 1 << 20 // files.max_record_bytes below
	files := loadgen.MalformedCorpus(2 * maxRecord)
	for _, f := range files {
		if err := os.WriteFile(filepath.Join(logs, f.Name), f.Data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	unreadable := filepath.Join(logs, "unreadable.jsonl")
	how := "a file without read permission"
	if os.Geteuid() == 0 {
		// root reads any file: a symbolic-link loop cannot be opened by anyone.
		how = "a symbolic-link loop (running as root)"
		if err := os.Symlink(unreadable, unreadable); err != nil {
			t.Fatal(err)
		}
	} else if err := os.WriteFile(unreadable, []byte(`{"x":1}`+"\n"), 0o000); err != nil {
		t.Fatal(err)
	}
	sink := startSink(t, sinkKeeps{ids: true, byFile: true})
	promPort := freePort(t)
	g, goodIDs := tenantFilesNamed(t, logs, "zz-good-after.jsonl", loadgen.Config{Seed: 24, Users: 20, Days: 1, Scenarios: []string{}}, false)
	cfgPath := filepath.Join(work, "config.yaml")
	writePipeline(t, cfgPath, pipeline{logsGlob: filepath.Join(logs, "*.jsonl"), batchSize: 100,
		files:    map[string]any{"max_record_bytes": maxRecord, "incomplete_record_timeout": "1s"},
		stateDir: filepath.Join(work, "state"), processor: g.Policy().ProcessorConfig(), sink: sink, promPort: promPort})
	col := startCollector(t, binary, cfgPath, filepath.Join(work, "collector.log"))
	// Let the bad files go through (incomplete ends wait
	// incomplete_record_timeout, set to a second below).
	badCtx, badCancel := context.WithTimeout(ctx, 30*time.Second)
	_ = sink.until(badCtx, nil, 0, func() bool { out, _ := sink.byFile(); return len(out) >= len(files) })
	badCancel()
	time.Sleep(time.Second)
	// The good file arrives after the bad ones.
	tenantFilesNamed(t, logs, "zz-good-after.jsonl", loadgen.Config{Seed: 24, Users: 20, Days: 1, Scenarios: []string{}}, true)
	// The good file's own ids: the bad files' valid records have ids too.
	err := sink.waitForIDs(ctx, goodIDs, 30*time.Second, col.exited)
	readErrors := metricValue(t, promPort, "otelcol_audit_log_read_errors")
	parseErrors := metricValue(t, promPort, "otelcol_audit_log_parse_errors")
	alive := true
	select {
	case <-col.exited:
		alive = false
	default:
	}
	if code := col.stop(t); code != 0 {
		t.Errorf("collector exited with %d after SIGTERM\n%s", code, col.logTail())
	}
	missing, _ := sink.missingAndRepeated(goodIDs)
	byFile, parseByFile := sink.byFile()
	for _, f := range files {
		t.Logf("%-18s %-95s records out %d, with audit.parse_error %d", f.Name, f.What, byFile[f.Name], parseByFile[f.Name])
		if byFile[f.Name] == 0 {
			t.Errorf("%s: no record came out; a bad file must not swallow its records", f.Name)
		}
	}
	t.Logf("unreadable file (%s): read errors counted %.0f; parse errors counted %.0f; good file after: %d of %d records, collector alive %v",
		how, readErrors, parseErrors, len(goodIDs)-len(missing), len(goodIDs), alive)
	recordResult(t, "malformed", map[string]any{"files": len(files) + 1, "read_errors": readErrors, "parse_errors": parseErrors,
		"good_records": len(goodIDs), "good_lost": len(missing), "alive": alive})
	if err != nil || len(missing) > 0 {
		t.Errorf("the good file added after the bad ones: %d of %d records missing (%v)\n%s", len(missing), len(goodIDs), err, col.logTail())
	}
	if !alive {
		t.Errorf("the collector died on malformed input\n%s", col.logTail())
	}
	if readErrors < 1 {
		t.Errorf("the unreadable file was not reported (otelcol_audit_log_read_errors = %.0f)", readErrors)
	}
	if log, _ := os.ReadFile(col.logPath); bytes.Contains(log, []byte("panic")) {
		t.Errorf("the collector log mentions a panic\n%s", col.logTail())
	}
}

// tenantFilesNamed writes a tenant's records into one JSON-lines file
// (write false: only list the ids). The file appears whole: it is written
// under a name no *.jsonl glob matches, then renamed.
func tenantFilesNamed(t testing.TB, dir, name string, cfg loadgen.Config, write bool) (*loadgen.Generator, []string) {
	t.Helper()
	g, err := loadgen.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	var ids []string
	_ = g.Each(func(r *loadgen.Record) error {
		ids = append(ids, r.ID)
		buf.Write(r.JSON)
		buf.WriteByte('\n')
		return nil
	})
	if write {
		tmp := filepath.Join(dir, "."+name+".part")
		if err := os.WriteFile(tmp, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	return g, ids
}

// recordResult appends a result line (JSON) to $RELIABILITY_RESULTS when
// set, for the soak report.
func recordResult(t testing.TB, name string, fields map[string]any) {
	path := os.Getenv("RELIABILITY_RESULTS")
	if path == "" {
		return
	}
	fields["test"] = name
	fields["soak"] = soak()
	line, err := json.Marshal(fields)
	if err != nil {
		t.Logf("result: %v", err)
		return
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Logf("result: %v", err)
		return
	}
	defer f.Close()
	_, _ = f.Write(append(line, '\n'))
}
