package e2e

// The one OTLP sink of the end-to-end tests: where the collector under test
// exports, and what the tests read back.

import (
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	// The otlp_grpc exporter compresses with gzip by default.
	_ "google.golang.org/grpc/encoding/gzip"
	"google.golang.org/grpc/status"
)

// sinkKeeps says what a sink keeps beyond what it always counts (records,
// repeats included, and when the first and the last export arrived).
// Nothing by default: a sink that keeps nothing never looks at a record,
// which a throughput measurement needs; over gRPC it counts the records on
// the wire without building pdata (sink_count_test.go).
type sinkKeeps struct {
	// records keeps every record as it arrived (records).
	records bool
	// ids keeps, by audit.record.id, the deliveries and the first arrival,
	// and counts the records passed on with audit.parse_error (which have
	// no id).
	ids bool
	// byFile counts records and parse errors by log.file.name.
	byFile bool
	// tagged keeps, by audit.record.id, the detection.rules and the
	// detection.evidence of the records that carry rules: the union over
	// the deliveries of the record.
	tagged bool
	// distinct, when set, is a set shared by the sinks of a run (one per
	// collector) to which each id is added on its first arrival here: the
	// distinct records of the run, cheap enough to be polled. It implies
	// ids.
	distinct *recordIDSet
}

// otlpSink is an OTLP logs server on 127.0.0.1, gRPC and HTTP, that keeps
// what its sinkKeeps say of what the collector under test exports to it.
// While refuse is set it refuses every export: UNAVAILABLE over gRPC, 503
// over HTTP.
type otlpSink struct {
	plogotlp.UnimplementedGRPCServer
	addr    string // OTLP/gRPC, host:port
	httpURL string // OTLP/HTTP, http://host:port
	keep    sinkKeeps

	refuse  atomic.Bool
	refused atomic.Int64 // exports refused

	mu          sync.Mutex
	total       int // log records, repeats included
	first, last time.Time
	changed     chan struct{} // closed and replaced on every export

	logs        []plog.Logs          // keep.records
	delivered   map[string]int       // keep.ids: deliveries by audit.record.id
	firstAt     map[string]time.Time // keep.ids: first arrival by audit.record.id
	parseErrors int                  // keep.ids: records with audit.parse_error
	fileRecords map[string]int       // keep.byFile: records by log.file.name
	fileParse   map[string]int       // keep.byFile: audit.parse_error by log.file.name
	rules       taggedRecords        // keep.tagged: detection.rules by id
	evidence    taggedRecords        // keep.tagged: detection.evidence by id
}

// startSink starts a sink that lives as long as the test.
func startSink(t testing.TB, keep sinkKeeps) *otlpSink {
	t.Helper()
	if keep.distinct != nil {
		keep.ids = true
	}
	s := &otlpSink{keep: keep, changed: make(chan struct{}), delivered: map[string]int{}, firstAt: map[string]time.Time{},
		fileRecords: map[string]int{}, fileParse: map[string]int{}, rules: taggedRecords{}, evidence: taggedRecords{}}
	gl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var srv *grpc.Server
	if keep == (sinkKeeps{}) {
		// Nothing to keep: count the records on the wire (sink_count_test.go).
		srv = grpc.NewServer(grpc.ForceServerCodecV2(countingCodec{}))
		registerCountingService(srv, s)
	} else {
		srv = grpc.NewServer()
		plogotlp.RegisterGRPCServer(srv, s)
	}
	go func() { _ = srv.Serve(gl) }()
	t.Cleanup(srv.Stop)
	hl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: http.HandlerFunc(s.serveHTTP), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = hs.Serve(hl) }()
	t.Cleanup(func() { _ = hs.Close() })
	s.addr, s.httpURL = gl.Addr().String(), "http://"+hl.Addr().String()
	return s
}

// Export is the OTLP/gRPC logs service.
func (s *otlpSink) Export(_ context.Context, req plogotlp.ExportRequest) (plogotlp.ExportResponse, error) {
	if s.refuse.Load() {
		s.refused.Add(1)
		return plogotlp.NewExportResponse(), status.Error(codes.Unavailable, "sink refusing for the test")
	}
	s.add(req.Logs())
	return plogotlp.NewExportResponse(), nil
}

// serveHTTP is the OTLP/HTTP logs service (protobuf or JSON, gzip or not).
func (s *otlpSink) serveHTTP(w http.ResponseWriter, r *http.Request) {
	if s.refuse.Load() {
		s.refused.Add(1)
		http.Error(w, "sink refusing for the test", http.StatusServiceUnavailable)
		return
	}
	var body io.Reader = r.Body
	if r.Header.Get("Content-Encoding") == "gzip" {
		z, err := gzip.NewReader(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		body = z
	}
	data, err := io.ReadAll(body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	req := plogotlp.NewExportRequest()
	if strings.Contains(r.Header.Get("Content-Type"), "json") {
		err = req.UnmarshalJSON(data)
	} else {
		err = req.UnmarshalProto(data)
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	s.add(req.Logs())
	out, _ := plogotlp.NewExportResponse().MarshalProto()
	w.Header().Set("Content-Type", "application/x-protobuf")
	_, _ = w.Write(out)
}

func (s *otlpSink) add(in plog.Logs) {
	now := time.Now()
	var kept plog.Logs
	if s.keep.records {
		kept = plog.NewLogs()
		in.CopyTo(kept)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.keep.records {
		s.logs = append(s.logs, kept)
	}
	if s.keep.ids || s.keep.byFile || s.keep.tagged {
		for _, rl := range in.ResourceLogs().All() {
			for _, sl := range rl.ScopeLogs().All() {
				for _, lr := range sl.LogRecords().All() {
					s.note(lr, now)
				}
			}
		}
	}
	s.counted(in.LogRecordCount(), now)
}

// addCount counts the n records of an export that the sink does not look
// into.
func (s *otlpSink) addCount(n int) {
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.counted(n, now)
}

// counted counts the n records of an export that arrived at now; s.mu is
// held.
func (s *otlpSink) counted(n int, now time.Time) {
	if s.first.IsZero() {
		s.first = now
	}
	s.last = now
	s.total += n
	close(s.changed)
	s.changed = make(chan struct{})
}

// note keeps what the sink keeps of one record; s.mu is held.
func (s *otlpSink) note(lr plog.LogRecord, now time.Time) {
	attrs := lr.Attributes()
	_, parseError := attrs.Get("audit.parse_error")
	id := str(attrs, "audit.record.id")
	if s.keep.byFile {
		file := str(attrs, "log.file.name")
		s.fileRecords[file]++
		if parseError {
			s.fileParse[file]++
		}
	}
	if s.keep.ids {
		if parseError {
			s.parseErrors++
		}
		if id != "" {
			s.delivered[id]++
			if _, ok := s.firstAt[id]; !ok {
				s.firstAt[id] = now
				if s.keep.distinct != nil {
					s.keep.distinct.add(id)
				}
			}
		}
	}
	if s.keep.tagged && id != "" {
		if rules := stringSlice(attrs, "detection.rules"); len(rules) > 0 {
			s.rules[id] = sorted(unionOf(s.rules[id], rules))
			s.evidence[id] = sorted(unionOf(s.evidence[id], stringSlice(attrs, "detection.evidence")))
		}
	}
}

// needs panics when a test asks a sink for what it does not keep.
func (s *otlpSink) needs(kept bool, what string) {
	if !kept {
		panic("the sink does not keep " + what)
	}
}

// endpoint is the sink's address for an OTLP exporter of the type kind.
func (s *otlpSink) endpoint(kind string) string {
	switch kind {
	case "otlp_grpc":
		return s.addr
	case "otlp_http":
		return s.httpURL
	}
	panic("no sink endpoint for exporter type " + kind)
}

// until returns nil once done holds, which it checks now and after every
// export; or an error once ctx ends, the collector exits (exited closes),
// or, with a stall above 0, nothing arrives for stall.
func (s *otlpSink) until(ctx context.Context, exited <-chan struct{}, stall time.Duration, done func() bool) error {
	var timer *time.Timer
	var stalled <-chan time.Time // never fires without a stall
	if stall > 0 {
		timer = time.NewTimer(stall)
		defer timer.Stop()
		stalled = timer.C
	}
	for {
		s.mu.Lock()
		changed := s.changed
		s.mu.Unlock()
		if done() {
			return nil
		}
		select {
		case <-changed:
			if timer != nil {
				timer.Reset(stall)
			}
		case <-stalled:
			return fmt.Errorf("nothing arrived for %s", stall)
		case <-exited:
			return errors.New("the collector exited")
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// waitFor returns when at least want records arrived (repeats included),
// the context ends, nothing arrives for stallBudget, or the collector exits.
func (s *otlpSink) waitFor(ctx context.Context, want int, exited <-chan struct{}) error {
	return s.until(ctx, exited, stallBudget, func() bool { return s.count() >= want })
}

// waitForIDs returns once every id has arrived at least once; or an error
// once ctx ends, the collector exits, or, with a stall above 0, nothing
// arrives for stall.
func (s *otlpSink) waitForIDs(ctx context.Context, ids []string, stall time.Duration, exited <-chan struct{}) error {
	s.needs(s.keep.ids, "ids")
	missing := func() int {
		s.mu.Lock()
		defer s.mu.Unlock()
		n := 0
		for _, id := range ids {
			if s.delivered[id] == 0 {
				n++
			}
		}
		return n
	}
	if err := s.until(ctx, exited, stall, func() bool { return missing() == 0 }); err != nil {
		return fmt.Errorf("%w with %d records missing", err, missing())
	}
	return nil
}

// waitDistinct returns once want distinct ids arrived; or an error once
// nothing arrived for stall, the collector exited, or ctx ended.
func (s *otlpSink) waitDistinct(ctx context.Context, want int, stall time.Duration, exited <-chan struct{}) error {
	s.needs(s.keep.ids, "ids")
	distinct := func() int { n, _ := s.counts(); return n }
	if err := s.until(ctx, exited, stall, func() bool { return distinct() >= want }); err != nil {
		return fmt.Errorf("%w (%d of %d ids)", err, distinct(), want)
	}
	return nil
}

// count is the number of records that arrived, repeats included.
func (s *otlpSink) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.total
}

// counts returns the distinct ids that arrived and the records, repeats
// included.
func (s *otlpSink) counts() (distinct, records int) {
	s.needs(s.keep.ids, "ids")
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.delivered), s.total
}

// parseErrorCount is the number of records with audit.parse_error.
func (s *otlpSink) parseErrorCount() int {
	s.needs(s.keep.ids, "ids")
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.parseErrors
}

// arrived counts the distinct records and the parse errors.
func (s *otlpSink) arrived() int {
	n, _ := s.counts()
	return n + s.parseErrorCount()
}

// records returns every record in the order it arrived.
func (s *otlpSink) records() []plog.LogRecord {
	s.needs(s.keep.records, "records")
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []plog.LogRecord
	for _, ld := range s.logs {
		for _, rl := range ld.ResourceLogs().All() {
			for _, sl := range rl.ScopeLogs().All() {
				for _, lr := range sl.LogRecords().All() {
					out = append(out, lr)
				}
			}
		}
	}
	return out
}

// deliveries returns how often each id arrived.
func (s *otlpSink) deliveries() map[string]int {
	s.needs(s.keep.ids, "ids")
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.delivered)
}

// firstArrivals returns when each id first arrived.
func (s *otlpSink) firstArrivals() map[string]time.Time {
	s.needs(s.keep.ids, "ids")
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.firstAt)
}

// missingAndRepeated compares the ids delivered with the ids generated.
func (s *otlpSink) missingAndRepeated(want []string) (missing []string, repeated int) {
	s.needs(s.keep.ids, "ids")
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range want {
		n := s.delivered[id]
		if n == 0 {
			missing = append(missing, id)
		}
		if n > 1 {
			repeated += n - 1
		}
	}
	return missing, repeated
}

// byFile returns the records and the parse errors by log.file.name.
func (s *otlpSink) byFile() (records, parseErrors map[string]int) {
	s.needs(s.keep.byFile, "counts by file")
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.fileRecords), maps.Clone(s.fileParse)
}

// detections maps each tagged record's id to its detection.rules.
func (s *otlpSink) detections() taggedRecords {
	s.needs(s.keep.tagged, "tagged records")
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.rules)
}

// evidenceOf maps each tagged record's id to its detection.evidence.
func (s *otlpSink) evidenceOf() taggedRecords {
	s.needs(s.keep.tagged, "tagged records")
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.evidence)
}

// rulesOf is the detection.rules the record id carried (nil: untagged or
// not arrived).
func (s *otlpSink) rulesOf(id string) []string {
	s.needs(s.keep.tagged, "tagged records")
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rules[id]
}

// arrival returns when the first and the last export arrived (zero before
// any did).
func (s *otlpSink) arrival() (first, last time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.first, s.last
}

// rate is the records per second from the first export to the last.
func (s *otlpSink) rate() float64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return recordsPerSecond(s.total, s.first, s.last)
}

// recordIDSet is a set of record ids safe for concurrent use.
type recordIDSet struct {
	mu  sync.Mutex
	ids map[string]bool
}

func newRecordIDSet() *recordIDSet { return &recordIDSet{ids: map[string]bool{}} }

func (s *recordIDSet) add(id string) {
	s.mu.Lock()
	s.ids[id] = true
	s.mu.Unlock()
}

func (s *recordIDSet) len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.ids)
}

func recordsPerSecond(n int, first, last time.Time) float64 {
	if !last.After(first) {
		return 0
	}
	return float64(n) / last.Sub(first).Seconds()
}
