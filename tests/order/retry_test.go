package order

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/processor/processortest"
	"go.opentelemetry.io/collector/receiver/receivertest"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/otelsec/emailcompromise/internal/testing/loadgen"
	"github.com/otelsec/emailcompromise/processor/emailcompromiseprocessor"
	"github.com/otelsec/emailcompromise/receiver/auditlogreceiver"
)

// refusingSink refuses each batch the first time it sees it, with a
// retryable error (an exporter's full sending queue, a memory limiter), and
// keeps the tags of the records it accepts.
type refusingSink struct {
	refuse bool
	mu     sync.Mutex
	seen   map[string]bool
	tagged map[string][]string
	count  int
}

func (s *refusingSink) Capabilities() consumer.Capabilities { return consumer.Capabilities{} }

func (s *refusingSink) ConsumeLogs(_ context.Context, ld plog.Logs) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var ids []string
	for i := 0; i < ld.ResourceLogs().Len(); i++ {
		for j := 0; j < ld.ResourceLogs().At(i).ScopeLogs().Len(); j++ {
			records := ld.ResourceLogs().At(i).ScopeLogs().At(j).LogRecords()
			for k := 0; k < records.Len(); k++ {
				id, _ := records.At(k).Attributes().Get("audit.record.id")
				ids = append(ids, id.Str())
			}
		}
	}
	if len(ids) > 0 && s.refuse && !s.seen[ids[0]] {
		s.seen[ids[0]] = true
		return errors.New("sending queue is full")
	}
	for i := 0; i < ld.ResourceLogs().Len(); i++ {
		for j := 0; j < ld.ResourceLogs().At(i).ScopeLogs().Len(); j++ {
			records := ld.ResourceLogs().At(i).ScopeLogs().At(j).LogRecords()
			for k := 0; k < records.Len(); k++ {
				attrs := records.At(k).Attributes()
				id, _ := attrs.Get("audit.record.id")
				var rules []string
				if v, ok := attrs.Get("detection.rules"); ok {
					for _, r := range v.Slice().AsRaw() {
						rules = append(rules, r.(string))
					}
				}
				slices.Sort(rules)
				s.tagged[id.Str()] = rules
				s.count++
			}
		}
	}
	return nil
}

// TestRetriedBatchesAreCountedOnce reads a tenant's files with the real
// receiver into the processor, in front of a consumer that refuses every
// batch once: the receiver sends each batch again, so the processor judges
// every record twice. The detections (each logged once) and the tags of
// the records delivered must be those of a run without refusals.
func TestRetriedBatchesAreCountedOnce(t *testing.T) {
	g, err := loadgen.New(loadgen.Config{Seed: 11, Users: 300, Days: 1})
	require.NoError(t, err)
	dir := t.TempDir()
	stats, err := g.WriteFiles(dir, loadgen.SplitHour)
	require.NoError(t, err)
	cfg := processorConfig(t, g.Policy().ProcessorConfig())

	run := func(refuse bool) (map[identity]string, *refusingSink) {
		ctx := context.Background()
		core, logs := observer.New(zap.InfoLevel)
		set := processortest.NewNopSettings(emailcompromiseprocessor.NewFactory().Type())
		set.Logger = zap.New(core)
		sink := &refusingSink{refuse: refuse, seen: map[string]bool{}, tagged: map[string][]string{}}
		proc, err := emailcompromiseprocessor.NewFactory().CreateLogs(ctx, set, cfg, sink)
		require.NoError(t, err)
		rf := auditlogreceiver.NewFactory()
		rcfg := rf.CreateDefaultConfig().(*auditlogreceiver.Config)
		rcfg.Files.Include = []string{filepath.Join(dir, "*.jsonl")}
		rcfg.Files.PollInterval = 20 * time.Millisecond
		rcv, err := rf.CreateLogs(ctx, receivertest.NewNopSettings(rf.Type()), rcfg, proc)
		require.NoError(t, err)
		require.NoError(t, proc.Start(ctx, componenttest.NewNopHost()))
		require.NoError(t, rcv.Start(ctx, componenttest.NewNopHost()))
		require.Eventually(t, func() bool {
			sink.mu.Lock()
			defer sink.mu.Unlock()
			return sink.count >= stats.Records
		}, time.Minute, 20*time.Millisecond)
		require.NoError(t, rcv.Shutdown(ctx))
		require.NoError(t, proc.Shutdown(ctx))
		found := map[identity]string{}
		for _, e := range logs.FilterMessage("Detection").All() {
			id := detectionIdentity(e.ContextMap())
			_, twice := found[id]
			require.False(t, twice, "%s was logged as new twice", id)
			found[id] = e.ContextMap()["record"].(string)
		}
		return found, sink
	}
	want, clean := run(false)
	got, refused := run(true)
	require.NotEmpty(t, refused.seen, "the consumer refused nothing")
	assert.Equal(t, stats.Records, refused.count, "every record delivered once")
	compare(t, outcome{carriers: want}, outcome{carriers: got, tagged: refused.tagged})
	var differ []string
	for id, rules := range clean.tagged {
		if !slices.Equal(rules, refused.tagged[id]) {
			differ = append(differ, fmt.Sprintf("%s: %v without refusals, %v with", id, rules, refused.tagged[id]))
		}
	}
	assert.Empty(t, differ, "every record carries the tags of the run without refusals")
	t.Logf("%d records in %d refused batches; %d detections, each logged once", stats.Records, len(refused.seen), len(got))
}

// TestRedeliveredBatchCarriesItsTags delivers every batch a second time as
// it was first read (a Kafka re-delivery after a crash, a collector that
// resends the batch it had before the processor): each record must carry
// exactly the tags its first copy carried, chains included.
func TestRedeliveredBatchCarriesItsTags(t *testing.T) {
	g, err := loadgen.New(loadgen.Config{Seed: 11, Users: 300, Days: 1})
	require.NoError(t, err)
	cfg := processorConfig(t, g.Policy().ProcessorConfig())
	sink := new(consumertest.LogsSink)
	p, err := emailcompromiseprocessor.NewFactory().CreateLogs(context.Background(),
		processortest.NewNopSettings(emailcompromiseprocessor.NewFactory().Type()), cfg, sink)
	require.NoError(t, err)
	bs := batches(loadgenItems(t, g), 500)
	for _, batch := range bs {
		for range 2 {
			ld := plog.NewLogs()
			sl := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty()
			sl.Scope().SetName(loadgen.ScopeName)
			for _, it := range batch {
				require.NoError(t, it.render(sl.LogRecords().AppendEmpty()))
			}
			require.NoError(t, p.ConsumeLogs(context.Background(), ld))
		}
	}
	delivered := sink.AllLogs()
	require.Len(t, delivered, 2*len(bs))
	tags := func(ld plog.Logs) []string {
		var out []string
		records := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
		for i := 0; i < records.Len(); i++ {
			rules, ok := records.At(i).Attributes().Get("detection.rules")
			if !ok {
				out = append(out, "")
				continue
			}
			out = append(out, fmt.Sprint(rules.AsRaw()))
		}
		return out
	}
	var tagged, differ int
	for i := 0; i < len(delivered); i += 2 {
		first, again := tags(delivered[i]), tags(delivered[i+1])
		for k := range first {
			if first[k] != "" {
				tagged++
			}
			if first[k] != again[k] {
				differ++
				t.Errorf("batch %d record %d: first %s, again %s", i/2, k, first[k], again[k])
			}
		}
	}
	require.Positive(t, tagged)
	t.Logf("%d tagged records, %d differ on re-delivery", tagged, differ)
}
