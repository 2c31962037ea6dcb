package emailcompromiseprocessor

import (
	"bytes"
	"context"
	"encoding/gob"
	"fmt"
	"math"
	"os"
	"runtime"
	"runtime/metrics"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/extension/storage/filestorage"
	"github.com/open-telemetry/opentelemetry-collector-contrib/extension/storage/storagetest"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/extension/extensiontest"
	"go.opentelemetry.io/collector/extension/xextension/storage"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otelsec/emailcompromise/internal/testing/loadgen"
	"github.com/otelsec/emailcompromise/processor/emailcompromiseprocessor/internal/metadatatest"
	"github.com/otelsec/emailcompromise/processor/emailcompromiseprocessor/internal/state"
)

// BenchmarkSnapshotPause measures what a snapshot costs the records that
// arrive while it is written: a processor holding SNAPSHOT_USERS users
// (default 200,000), each the state a user of the load generator's office
// day leaves (2,000 such users, repeated), snapshots to a real file_storage
// extension while the benchmark's loop passes one-record batches of the
// realistic mix through ConsumeLogs and times each call.
//
// Reported, for the first snapshot and for the one after it: the longest
// and the 99th-percentile ConsumeLogs call while the snapshot ran, the
// calls over 10 ms, the longest a call waited for the processing lock
// (lock-wait: what the snapshot costs a call, apart from what the runtime
// and the machine do), the longest GC stop-the-world pause and the longest
// wait of a runnable goroutine for a thread meanwhile (gc-stw, sched-wait:
// what they do), the snapshot's own duration and what it wrote; the
// 99th-percentile and longest call and the calls over 10 ms with no
// snapshot running, between the two, for as long as the first took (the
// baseline: what the runtime and the machine do to calls anyway); and the longest the snapshot held the lock (lock-held), timed
// in a third snapshot with no calls beside it; and machine-gap, the
// longest a bare loop went without running over 3 s before (what the
// machine takes from any code). SNAPSHOT_STORAGE=memory snapshots to
// an in-memory client instead of file_storage. SNAPSHOT_STALL_STACKS=FILE
// appends every goroutine's stack to FILE when a call has run 10 ms and
// reports weak-waits: the calls then parked converting a weak pointer
// (what state.Text no longer does). Times are figures, not assertions.
// Run with -benchtime 1x:
//
//	go test -run '^$' -bench BenchmarkSnapshotPause -benchtime 1x ./processor/emailcompromiseprocessor/
func BenchmarkSnapshotPause(b *testing.B) {
	users := 200_000
	if s := os.Getenv("SNAPSHOT_USERS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			b.Fatalf("SNAPSHOT_USERS=%q: want a positive number", s)
		}
		users = n
	}
	templates, perUser := snapshotTemplates(b)
	records := singleRecordBatches(b, 4096, users)
	var idle, first, next []pauseRun
	var held, heldP50, heldP99 time.Duration
	gap := machineGap(3 * time.Second)
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		p, client := filledProcessor(b, users, templates)
		b.StartTimer()
		first = append(first, measureCalls(b, p, records, client, p.maintain, 0))
		b.StopTimer()
		idle = append(idle, measureCalls(b, p, records, client, nil, first[len(first)-1].took))
		b.StartTimer()
		next = append(next, measureCalls(b, p, records, client, p.maintain, 0))
		b.StopTimer()
		// The longest the snapshot itself holds the lock, whatever else
		// the machine is doing: the users' part of saveState, timed.
		lock := &holdTimer{mu: &p.mu}
		if err := state.Save(context.Background(), client, p.users, lock.locked); err != nil {
			b.Fatal(err)
		}
		slices.Sort(lock.holds)
		held = max(held, lock.holds[len(lock.holds)-1])
		heldP99 = max(heldP99, lock.holds[len(lock.holds)*99/100])
		heldP50 = max(heldP50, lock.holds[len(lock.holds)/2])
		if err := p.Shutdown(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(perUser, "template-B/user")
	b.ReportMetric(worst(idle, func(r pauseRun) time.Duration { return r.p99 }), "idle-p99-ms")
	b.ReportMetric(worst(idle, func(r pauseRun) time.Duration { return r.max }), "idle-max-ms")
	b.ReportMetric(float64(idle[len(idle)-1].calls), "idle-calls")
	b.ReportMetric(float64(idle[len(idle)-1].over10ms), "idle-calls-over-10ms")
	for _, s := range []struct {
		name string
		runs []pauseRun
	}{{"first", first}, {"next", next}} {
		b.ReportMetric(worst(s.runs, func(r pauseRun) time.Duration { return r.max }), s.name+"-max-pause-ms")
		b.ReportMetric(worst(s.runs, func(r pauseRun) time.Duration { return r.p99 }), s.name+"-p99-pause-ms")
		b.ReportMetric(worst(s.runs, func(r pauseRun) time.Duration { return r.took }), s.name+"-snapshot-ms")
		b.ReportMetric(float64(s.runs[len(s.runs)-1].written)/1e6, s.name+"-MB-written")
		b.ReportMetric(float64(s.runs[len(s.runs)-1].calls), s.name+"-calls")
		b.ReportMetric(float64(s.runs[len(s.runs)-1].over10ms), s.name+"-calls-over-10ms")
		b.ReportMetric(worst(s.runs, func(r pauseRun) time.Duration { return r.lockWait }), s.name+"-lock-wait-max-ms")
		b.ReportMetric(worst(s.runs, func(r pauseRun) time.Duration { return r.gcPause }), s.name+"-gc-stw-max-ms")
		b.ReportMetric(worst(s.runs, func(r pauseRun) time.Duration { return r.schedWait }), s.name+"-sched-wait-max-ms")
	}
	b.ReportMetric(float64(held)/float64(time.Millisecond), "lock-held-max-ms")
	b.ReportMetric(float64(heldP99)/float64(time.Millisecond), "lock-held-p99-ms")
	b.ReportMetric(float64(heldP50)/float64(time.Millisecond), "lock-held-p50-ms")
	b.ReportMetric(float64(gap)/float64(time.Millisecond), "machine-gap-max-ms")
	if stallStacks != "" {
		var waits int
		for _, r := range slices.Concat(first, idle, next) {
			waits += r.weakWaits
		}
		b.ReportMetric(float64(waits), "weak-waits")
	}
}

// stallStacks is the file SNAPSHOT_STALL_STACKS names, if any.
var stallStacks = os.Getenv("SNAPSHOT_STALL_STACKS")

// watchStalls starts, when stallStacks is set, a goroutine that appends
// every goroutine's stack to it once per call that has run 10 ms, as
// calling reports it, and counts the calls whose goroutine was then parked
// converting a weak pointer. Stop it with the returned function.
func watchStalls(b *testing.B, calling *atomic.Int64, weakWaits *int) (stop func()) {
	if stallStacks == "" {
		return func() {}
	}
	f, err := os.OpenFile(stallStacks, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		b.Fatal(err)
	}
	self := make([]byte, 64)
	self = self[:runtime.Stack(self, false)]
	caller := string(self[:bytes.IndexByte(self, '[')+1]) // "goroutine N ["
	done, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		buf := make([]byte, 1<<20)
		var seen int64
		for {
			select {
			case <-done:
				return
			case <-time.After(2 * time.Millisecond):
			}
			start := calling.Load()
			if start == 0 || start == seen || time.Since(time.Unix(0, start)) < 10*time.Millisecond {
				continue
			}
			seen = start
			stacks := buf[:runtime.Stack(buf, true)]
			if bytes.Contains(stacks, []byte(caller+"GC weak to strong wait]")) {
				*weakWaits++
			}
			fmt.Fprintf(f, "=== a call %v in\n%s\n", time.Since(time.Unix(0, start)), stacks)
		}
	}()
	return func() {
		close(done)
		<-stopped
		_ = f.Close()
	}
}

// machineGap is the longest a loop doing nothing but read the clock, for
// d, went without running: what the machine (other processes, the
// hypervisor) takes from any call, snapshot or not.
func machineGap(d time.Duration) time.Duration {
	var gap time.Duration
	last := time.Now()
	for end := last.Add(d); last.Before(end); {
		now := time.Now()
		gap = max(gap, now.Sub(last))
		last = now
	}
	return gap
}

// holdTimer runs functions under a lock and times how long it holds it.
type holdTimer struct {
	mu    *sync.Mutex
	holds []time.Duration
}

func (h *holdTimer) locked(f func()) {
	h.mu.Lock()
	since := time.Now()
	f()
	h.holds = append(h.holds, time.Since(since))
	h.mu.Unlock()
}

// runtimePauses reads the runtime's histograms of stop-the-world pauses
// for GC and of how long runnable goroutines waited for a thread.
func runtimePauses() []metrics.Sample {
	s := []metrics.Sample{{Name: "/sched/pauses/total/gc:seconds"}, {Name: "/sched/latencies:seconds"}}
	metrics.Read(s)
	return s
}

// longestSince is the upper bound of the highest bucket of a histogram
// that gained counts between two readings.
func longestSince(before, after metrics.Sample) time.Duration {
	b, a := before.Value.Float64Histogram(), after.Value.Float64Histogram()
	for i := len(a.Counts) - 1; i >= 0; i-- {
		if a.Counts[i] > b.Counts[i] {
			upper := a.Buckets[i+1]
			if math.IsInf(upper, 1) {
				upper = a.Buckets[i]
			}
			return time.Duration(upper * float64(time.Second))
		}
	}
	return 0
}

// pauseRun is what one measurement saw.
type pauseRun struct {
	max, p99, took time.Duration
	calls          int
	over10ms       int
	written        int64
	// lockWait is the longest a call waited for the processing lock.
	lockWait time.Duration
	// gcPause and schedWait are the longest GC stop-the-world pause and
	// the longest wait of a runnable goroutine for a thread meanwhile:
	// what a pause owes to the runtime and to a busy machine.
	gcPause, schedWait time.Duration
	// weakWaits counts the calls over 10 ms parked converting a weak
	// pointer (with SNAPSHOT_STALL_STACKS set).
	weakWaits int
}

// worst returns the largest of the runs' figures, in milliseconds.
func worst(runs []pauseRun, f func(pauseRun) time.Duration) float64 {
	var d time.Duration
	for _, r := range runs {
		d = max(d, f(r))
	}
	return float64(d) / float64(time.Millisecond)
}

// measureCalls times one-record ConsumeLogs calls while snapshot runs in
// another goroutine, until it returns; with no snapshot, it times calls
// for idle (as long as the first snapshot took, so that both see as many
// calls and as much of what the runtime and the machine do).
func measureCalls(b *testing.B, p *emailCompromiseProcessor, records []plog.Logs, client *countingClient, snapshot func(context.Context), idle time.Duration) pauseRun {
	ctx := context.Background()
	writtenBefore := client.written.Load()
	pausesBefore := runtimePauses()
	done := make(chan time.Duration, 1)
	if snapshot != nil {
		go func() {
			start := time.Now()
			snapshot(ctx)
			done <- time.Since(start)
		}()
	}
	var run pauseRun
	var latencies []time.Duration
	var calling atomic.Int64
	stopWatching := watchStalls(b, &calling, &run.weakWaits)
	began := time.Now()
	for k := 0; ; k++ {
		if snapshot == nil && time.Since(began) >= idle {
			break
		}
		if snapshot != nil {
			select {
			case run.took = <-done:
			default:
			}
			if run.took > 0 {
				break
			}
		}
		ld := plog.NewLogs()
		records[k%len(records)].CopyTo(ld)
		start := time.Now()
		calling.Store(start.UnixNano())
		// What the call waits for the snapshot, apart: the lock, taken
		// and given back as ConsumeLogs takes it.
		p.mu.Lock()
		run.lockWait = max(run.lockWait, time.Since(start))
		p.mu.Unlock()
		if err := p.ConsumeLogs(ctx, ld); err != nil {
			b.Fatal(err)
		}
		latencies = append(latencies, time.Since(start))
		calling.Store(0)
	}
	stopWatching()
	slices.Sort(latencies)
	run.calls = len(latencies)
	if run.calls > 0 {
		run.max = latencies[run.calls-1]
		run.p99 = latencies[run.calls*99/100]
		i, _ := slices.BinarySearch(latencies, 10*time.Millisecond)
		run.over10ms = run.calls - i
	}
	run.written = client.written.Load() - writtenBefore
	pausesAfter := runtimePauses()
	run.gcPause = longestSince(pausesBefore[0], pausesAfter[0])
	run.schedWait = longestSince(pausesBefore[1], pausesAfter[1])
	return run
}

// snapshotTemplates passes the load generator's office day of 2,000 users
// through a processor and returns their states, gob-encoded in one stream,
// and their mean encoded size.
func snapshotTemplates(b *testing.B) ([]byte, float64) {
	g, err := loadgen.New(loadgen.Config{Seed: 3, Users: 2000, Days: 1, Volume: 1, Scenarios: []string{}})
	if err != nil {
		b.Fatal(err)
	}
	cfg := createDefaultConfig().(*Config)
	if err := confmap.NewFromStringMap(g.Policy().ProcessorConfig()).Unmarshal(cfg); err != nil {
		b.Fatal(err)
	}
	p, err := newEmailCompromiseProcessor(metadatatest.NewSettings(componenttest.NewTelemetry()), cfg, consumertest.NewNop())
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	if err := g.EachBatch(500, func(ld plog.Logs) error { return p.ConsumeLogs(ctx, ld) }); err != nil {
		b.Fatal(err)
	}
	var buf bytes.Buffer
	enc := gob.NewEncoder(&buf)
	p.users.Each(func(_ string, _ time.Time, u *state.User) {
		if err == nil {
			err = enc.Encode(u)
		}
	})
	if err != nil {
		b.Fatal(err)
	}
	return buf.Bytes(), float64(buf.Len()) / float64(p.users.Len())
}

// filledProcessor returns a started processor holding users users, each a
// copy of a template, snapshotting to a file_storage extension in a
// temporary directory through a client that counts what is written.
func filledProcessor(b *testing.B, users int, templates []byte) (*emailCompromiseProcessor, *countingClient) {
	ctx := context.Background()
	cfg := createDefaultConfig().(*Config)
	cfg.OrganizationDomains = []string{"contoso.com"}
	cfg.State.MaxUsers = users
	cfg.State.SnapshotInterval = time.Hour // the benchmark snapshots when it wants
	factory := filestorage.NewFactory()
	storageCfg := factory.CreateDefaultConfig().(*filestorage.Config)
	storageCfg.Directory = b.TempDir()
	ext, err := factory.Create(ctx, extensiontest.NewNopSettings(factory.Type()), storageCfg)
	if err != nil {
		b.Fatal(err)
	}
	if err := ext.Start(ctx, componenttest.NewNopHost()); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = ext.Shutdown(ctx) })
	id := component.NewID(factory.Type())
	cfg.Storage = &id
	p, err := newEmailCompromiseProcessor(metadatatest.NewSettings(componenttest.NewTelemetry()), cfg, consumertest.NewNop())
	if err != nil {
		b.Fatal(err)
	}
	if err := p.Start(ctx, storageHost{id: ext}); err != nil {
		b.Fatal(err)
	}
	var inner storage.Client = p.storageClient
	if os.Getenv("SNAPSHOT_STORAGE") == "memory" {
		inner = storagetest.NewInMemoryClient(component.KindProcessor, p.id, "")
	}
	client := &countingClient{Client: inner}
	p.storageClient = client
	now := time.Now()
	for i := 0; i < users; {
		dec := gob.NewDecoder(bytes.NewReader(templates))
		for ; i < users; i++ {
			u := p.users.Touch(fmt.Sprintf("user%d@contoso.com", i), now)
			if err := dec.Decode(u); err != nil {
				break // the templates are used up: start them again
			}
		}
	}
	return p, client
}

// singleRecordBatches splits n records of the realistic mix over users
// users into batches of one record.
func singleRecordBatches(tb testing.TB, n, users int) []plog.Logs {
	all := realisticBatch(tb, n, users).ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
	out := make([]plog.Logs, all.Len())
	for i := range out {
		out[i] = plog.NewLogs()
		all.At(i).CopyTo(out[i].ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty())
	}
	return out
}

// storageHost offers one extension.
type storageHost map[component.ID]component.Component

func (h storageHost) GetExtensions() map[component.ID]component.Component { return h }

// countingClient counts the bytes written through it.
type countingClient struct {
	storage.Client
	written atomic.Int64
}

func (c *countingClient) Set(ctx context.Context, key string, value []byte) error {
	c.written.Add(int64(len(value)))
	return c.Client.Set(ctx, key, value)
}

func (c *countingClient) Batch(ctx context.Context, ops ...*storage.Operation) error {
	for _, op := range ops {
		if op.Type == storage.Set {
			c.written.Add(int64(len(op.Value)))
		}
	}
	return c.Client.Batch(ctx, ops...)
}

// BenchmarkStateSnapshot writes the state of 50,000 users of the load
// generator's office day (2,000 users' states, repeated) to an in-memory
// storage client, and reads it back: the encoding's own cost per user,
// without the storage extension's or the processing beside it.
//
//	go test -run '^$' -bench BenchmarkStateSnapshot -benchmem -benchtime 3x ./processor/emailcompromiseprocessor/
func BenchmarkStateSnapshot(b *testing.B) {
	const users = 50_000
	templates, _ := snapshotTemplates(b)
	p, _ := filledProcessor(b, users, templates)
	client := storagetest.NewInMemoryClient(component.KindProcessor, p.id, "")
	ctx := context.Background()
	b.Run("save", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if err := state.Save(ctx, client, p.users, func(f func()) { f() }); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*users), "ns/user")
	})
	b.Run("load", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			n, err := state.Load(ctx, client, state.New[state.User](users, 0))
			if err != nil || n != users {
				b.Fatalf("loaded %d users: %v", n, err)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*users), "ns/user")
	})
	if err := p.Shutdown(ctx); err != nil {
		b.Fatal(err)
	}
}
