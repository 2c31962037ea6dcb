package bench

import (
	"context"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/receiver/filelogreceiver"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/receiver/receivertest"

	"github.com/otelsec/emailcompromise/internal/testing/loadgen"
	"github.com/otelsec/emailcompromise/receiver/auditlogreceiver"
)

// fileIngestUsers sizes the tenant whose day of JSON-lines files both
// receivers read: about 25,000 records, 40 MB.
const fileIngestUsers = 500

// ingestFiles writes one day of the load generator's tenant as JSON lines
// (one file per shape and hour) and returns their glob and record count.
func ingestFiles(tb testing.TB) (glob string, records int) {
	tb.Helper()
	g, err := loadgen.New(loadgen.Config{Seed: 42, Users: fileIngestUsers, Days: 1})
	if err != nil {
		tb.Fatal(err)
	}
	dir := tb.TempDir()
	st, err := g.WriteFiles(dir, loadgen.SplitHour)
	if err != nil {
		tb.Fatal(err)
	}
	return filepath.Join(dir, "*.jsonl"), st.Records
}

// fileReceiver is a receiver under comparison: its factory and the
// configuration that makes it read every line of the files at glob, once,
// into a map body.
type fileReceiver struct {
	factory receiver.Factory
	config  func(glob string) map[string]any
}

var fileReceivers = map[string]fileReceiver{
	"audit_log": {auditlogreceiver.NewFactory(), func(glob string) map[string]any {
		return map[string]any{"files": map[string]any{"include": []string{glob}, "poll_interval": "10ms"}}
	}},
	// filelog's json_parser into the body, as a collector user would
	// ingest the same exports without our receiver.
	"filelog_json_parser": {filelogreceiver.NewFactory(), func(glob string) map[string]any {
		return map[string]any{
			"include": []string{glob}, "start_at": "beginning", "poll_interval": "10ms",
			"operators": []any{map[string]any{"type": "json_parser", "parse_to": "body"}},
		}
	}},
}

// readAll starts the named receiver on the files at glob, waits until want
// records reached next and stops it.
func readAll(tb testing.TB, name, glob string, want int, next func(plog.Logs)) {
	tb.Helper()
	fr := fileReceivers[name]
	cfg := fr.factory.CreateDefaultConfig()
	if err := confmap.NewFromStringMap(fr.config(glob)).Unmarshal(cfg); err != nil {
		tb.Fatal(err)
	}
	var got atomic.Int64
	done := make(chan struct{})
	var once sync.Once
	sink, err := consumer.NewLogs(func(_ context.Context, ld plog.Logs) error {
		next(ld)
		if got.Add(int64(ld.LogRecordCount())) >= int64(want) {
			once.Do(func() { close(done) })
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	r, err := fr.factory.CreateLogs(context.Background(), receivertest.NewNopSettings(fr.factory.Type()), cfg, sink)
	if err != nil {
		tb.Fatal(err)
	}
	if err := r.Start(context.Background(), componenttest.NewNopHost()); err != nil {
		tb.Fatal(err)
	}
	select {
	case <-done:
	case <-time.After(5 * time.Minute):
		tb.Fatalf("%s: %d of %d records after 5 minutes", name, got.Load(), want)
	}
	if err := r.Shutdown(context.Background()); err != nil {
		tb.Fatal(err)
	}
}

// BenchmarkFileIngest compares the audit_log receiver with contrib's
// filelog receiver and its json_parser operator on the same JSON-lines
// files, in the same process, both to the same counting consumer. One op
// reads every file once; records/s is the figure compared.
//
//	cd bench && go test -run '^$' -bench BenchmarkFileIngest -benchtime 3x .
func BenchmarkFileIngest(b *testing.B) {
	glob, records := ingestFiles(b)
	for _, name := range []string{"filelog_json_parser", "audit_log"} {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				readAll(b, name, glob, records, func(plog.Logs) {})
			}
			b.ReportMetric(float64(b.N*records)/b.Elapsed().Seconds(), "records/s")
		})
	}
}

// TestFilelogJSONParserIsLossy shows what the comparison's filelog side
// gives up: its json_parser turns every JSON number into a double and does
// not keep the vendor's key order, where audit_log keeps both (its body is
// the vendor record, lossless).
func TestFilelogJSONParserIsLossy(t *testing.T) {
	glob, records := ingestFiles(t)
	// The first 200 records audit_log delivers, then the same records as
	// filelog delivers them.
	ours := map[string]pcommon.Map{}
	theirs := map[string]pcommon.Map{}
	for _, side := range []struct {
		receiver string
		keep     func(id string) bool
		into     map[string]pcommon.Map
	}{
		{"audit_log", func(id string) bool { return len(ours) < 200 }, ours},
		{"filelog_json_parser", func(id string) bool { _, ok := ours[id]; return ok }, theirs},
	} {
		var mu sync.Mutex
		readAll(t, side.receiver, glob, records, func(ld plog.Logs) {
			mu.Lock()
			defer mu.Unlock()
			for _, rl := range ld.ResourceLogs().All() {
				for _, sl := range rl.ScopeLogs().All() {
					for _, lr := range sl.LogRecords().All() {
						if lr.Body().Type() != pcommon.ValueTypeMap {
							continue
						}
						if id := bodyID(lr.Body().Map()); id != "" && side.keep(id) {
							m := pcommon.NewMap()
							lr.Body().Map().CopyTo(m)
							side.into[id] = m
						}
					}
				}
			}
		})
	}
	ints, doubles, reordered := 0, 0, 0
	for id, o := range ours {
		th, ok := theirs[id]
		if !ok {
			t.Fatalf("record %s: not delivered by filelog", id)
		}
		if keys(o) != keys(th) {
			reordered++
		}
		i, d := intsAsDoubles(o, th)
		ints, doubles = ints+i, doubles+d
	}
	t.Logf("of %d integers (at any depth) in audit_log's bodies, filelog's json_parser gave %d as doubles; %d of %d bodies in another key order",
		ints, doubles, reordered, len(ours))
	if ints == 0 || doubles != ints {
		t.Errorf("expected every integer (%d) to be a double in filelog's body, got %d", ints, doubles)
	}
	if reordered == 0 {
		t.Error("expected filelog's bodies in another key order than the vendor's")
	}
}

// intsAsDoubles counts the integers of ours, at any depth, and those of
// them that theirs holds as doubles at the same place.
func intsAsDoubles(ours, theirs pcommon.Map) (ints, doubles int) {
	for k, v := range ours.All() {
		w, ok := theirs.Get(k)
		if !ok {
			continue
		}
		switch {
		case v.Type() == pcommon.ValueTypeInt:
			ints++
			if w.Type() == pcommon.ValueTypeDouble {
				doubles++
			}
		case v.Type() == pcommon.ValueTypeMap && w.Type() == pcommon.ValueTypeMap:
			i, d := intsAsDoubles(v.Map(), w.Map())
			ints, doubles = ints+i, doubles+d
		}
	}
	return ints, doubles
}

// bodyID is a record's vendor id at the top of its body: O365's Id, Graph's
// id. Records without one (Google's id is an object, Azure Monitor exports
// have none) are not compared.
func bodyID(m pcommon.Map) string {
	for _, k := range []string{"Id", "id"} {
		if v, ok := m.Get(k); ok && v.Type() == pcommon.ValueTypeStr {
			return v.Str()
		}
	}
	return ""
}

// keys lists a map's keys in its order.
func keys(m pcommon.Map) string {
	var out []byte
	for k := range m.All() {
		out = append(out, k...)
		out = append(out, ',')
	}
	return string(out)
}
