package bench

import (
	"context"
	"fmt"
	"runtime"
	"testing"

	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otelsec/emailcompromise/internal/testing/loadgen"
)

// stateCase is one per-user state measurement.
type stateCase struct {
	users int
	days  int
	// volume scales the per-person day (1 is the generator's average
	// office worker, about 50 records on a working day).
	volume float64
	// lateness is allowed_lateness when not the default (24h).
	lateness string
}

func (c stateCase) name() string {
	name := fmt.Sprintf("users=%d/days=%d/volume=%g", c.users, c.days, c.volume)
	if c.lateness != "" {
		name += "/allowed_lateness=" + c.lateness
	}
	return name
}

// stateCases: the three tenant sizes on the same light working day (a
// tenant of a million mailboxes is a university or a consumer-facing
// company, whose average user is light: about five audit records a day,
// sign-ins and a couple of messages), then two heavier profiles at a size
// where they run quickly: a full office day, and a week (the state of a
// user fills towards its caps over days). The full day again with an
// allowed_lateness of one hour shows what the event-time timelines cost:
// a user's records are kept one by one for allowed_lateness plus the
// longest pattern window.
var stateCases = []stateCase{
	{users: 10_000, days: 1, volume: 0.1},
	{users: 100_000, days: 1, volume: 0.1},
	{users: 1_000_000, days: 1, volume: 0.1},
	{users: 10_000, days: 1, volume: 1},
	{users: 10_000, days: 1, volume: 1, lateness: "1h"},
	{users: 2_000, days: 7, volume: 1},
}

// BenchmarkStateMemory reports the heap the processor holds per tracked
// user: HeapInuse after a forced GC, with the processor holding the state
// of every user of a generated tenant, minus the same figure before the
// processor existed, divided by the users. Records go through the processor
// shaped as the receiver emits them, in slices of users so that memory
// outside the processor stays bounded. Run with -benchtime 1x.
func BenchmarkStateMemory(b *testing.B) {
	for _, c := range stateCases {
		b.Run(c.name(), func(b *testing.B) {
			if testing.Short() && c.users > 100_000 {
				b.Skip("-short: skipping the million-user measurement")
			}
			for i := 0; i < b.N; i++ {
				perUser, records := measureState(b, c)
				b.ReportMetric(perUser, "B/user")
				b.ReportMetric(float64(records)/float64(c.users), "records/user")
			}
		})
	}
}

func measureState(b *testing.B, c stateCase) (perUser float64, records int) {
	b.StopTimer()
	g, err := loadgen.New(loadgen.Config{Seed: 3, Users: c.users, Days: c.days, Volume: c.volume, Scenarios: []string{}})
	if err != nil {
		b.Fatal(err)
	}
	// The cap is above the tenant (people plus the three service
	// mailboxes), so nothing is evicted and every user is counted.
	extra := map[string]any{"state": map[string]any{"max_users": c.users + 100}}
	if c.lateness != "" {
		extra["allowed_lateness"] = c.lateness
	}
	cfg := processorConfig(b, g.Policy(), extra)
	before := heapInUse()
	p := newProcessorNoCleanup(b, cfg)
	batches := make(chan plog.Logs, 4)
	genErr := make(chan error, 1)
	const slice = 10_000
	go func() {
		defer close(batches)
		for from := 0; from < c.users+3; from += slice {
			err := g.EachUsersBatch(from, from+slice, benchBatchSize, func(ld plog.Logs) error {
				batches <- ld
				return nil
			})
			if err != nil {
				genErr <- err
				return
			}
		}
		genErr <- nil
	}()
	b.StartTimer()
	for ld := range batches {
		records += ld.LogRecordCount()
		if err := p.ConsumeLogs(context.Background(), ld); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	if err := <-genErr; err != nil {
		b.Fatal(err)
	}
	after := heapInUse()
	runtime.KeepAlive(g)
	perUser = float64(int64(after)-int64(before)) / float64(c.users+3)
	_ = p.Shutdown(context.Background())
	runtime.KeepAlive(p)
	b.StartTimer()
	return perUser, records
}

// heapInUse is runtime.MemStats.HeapInuse after two forced collections
// (the second clears what sync.Pool victim caches kept over the first).
func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}
