// Package order checks the arrival-order guarantee of the email_compromise
// processor (its README, "Arrival order and late data"): whatever order records
// arrive in within the allowed lateness, and however often a batch is
// delivered again, the processor finds the same detections — the same
// rule, user and evidence records — as when they arrive in event order.
//
// It is a metamorphic test: the same records are fed in many orders that
// production delivers (vendor exports listing newest first, one feed lagging
// another by an hour or a day, random delays, Kafka partitions, retried and
// re-delivered batches, batches of 1 to 20,000 records), and the detections
// each run logs are compared with those of the event-ordered run. It reads a
// generated tenant (internal/testing/loadgen, with its injected attacks) and the
// published vendor samples of ../shared/corpus through the real receiver.
package order

import (
	"context"
	"fmt"
	"hash/fnv"
	"maps"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/extension/storage/storagetest"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/processortest"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/otelsec/emailcompromise/internal/testing/corpus"
	"github.com/otelsec/emailcompromise/internal/testing/loadgen"
	"github.com/otelsec/emailcompromise/processor/emailcompromiseprocessor"
)

// lateness is the processor's default allowed_lateness, which the orders
// below stay within.
const lateness = 24 * time.Hour

// identity is what makes two detections the same detection, whichever
// record carries it.
type identity struct {
	Rule, User, Evidence string
}

func (id identity) String() string {
	return fmt.Sprintf("%s for %s on [%s]", id.Rule, id.User, id.Evidence)
}

// outcome is what one run found: each detection with the record that
// carried it, and the rules each delivered record was tagged with.
type outcome struct {
	carriers map[identity]string
	tagged   map[string][]string
}

// item is one record to deliver: its id, event time, feed and user, and how
// to render it into a log record.
type item struct {
	id     string
	at     time.Time
	source string
	user   string
	render func(plog.LogRecord) error
}

// process runs a fresh processor over the batches, in order, and collects
// what it logged as new detections and what it tagged.
func process(t *testing.T, cfg *emailcompromiseprocessor.Config, batches [][]*item) outcome {
	t.Helper()
	return processRestarted(t, cfg, batches, 0)
}

// processRestarted is process with the processor shut down after every
// restartEvery batches (never, for 0) and a new one started in its place
// from the snapshot it wrote to a file-backed storage extension.
func processRestarted(t *testing.T, cfg *emailcompromiseprocessor.Config, batches [][]*item, restartEvery int) outcome {
	t.Helper()
	ctx := context.Background()
	core, logs := observer.New(zap.InfoLevel)
	sink := new(consumertest.LogsSink)
	host := component.Host(componenttest.NewNopHost())
	if restartEvery > 0 {
		storageID := storagetest.NewStorageID("state")
		host = storagetest.NewStorageHost().WithFileBackedStorageExtension(storageID.Name(), t.TempDir())
		withStorage := *cfg
		withStorage.Storage = &storageID
		cfg = &withStorage
	}
	start := func() processor.Logs {
		set := processortest.NewNopSettings(emailcompromiseprocessor.NewFactory().Type())
		set.Logger = zap.New(core)
		p, err := emailcompromiseprocessor.NewFactory().CreateLogs(ctx, set, cfg, sink)
		require.NoError(t, err)
		require.NoError(t, p.Start(ctx, host))
		return p
	}
	p := start()
	for i, batch := range batches {
		if restartEvery > 0 && i > 0 && i%restartEvery == 0 {
			require.NoError(t, p.Shutdown(ctx))
			p = start()
		}
		ld := plog.NewLogs()
		sl := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty()
		sl.Scope().SetName(loadgen.ScopeName)
		for _, it := range batch {
			require.NoError(t, it.render(sl.LogRecords().AppendEmpty()))
		}
		require.NoError(t, p.ConsumeLogs(ctx, ld))
	}
	require.NoError(t, p.Shutdown(ctx))
	out := outcome{carriers: map[identity]string{}, tagged: map[string][]string{}}
	for _, e := range logs.FilterMessage("Detection").All() {
		fields := e.ContextMap()
		id := detectionIdentity(fields)
		_, twice := out.carriers[id]
		require.False(t, twice, "%s was logged as new twice", id)
		out.carriers[id] = fields["record"].(string)
	}
	for _, ld := range sink.AllLogs() {
		for i := 0; i < ld.ResourceLogs().Len(); i++ {
			for j := 0; j < ld.ResourceLogs().At(i).ScopeLogs().Len(); j++ {
				records := ld.ResourceLogs().At(i).ScopeLogs().At(j).LogRecords()
				for k := 0; k < records.Len(); k++ {
					attrs := records.At(k).Attributes()
					id, _ := attrs.Get("audit.record.id")
					if rules, ok := attrs.Get("detection.rules"); ok {
						for _, r := range rules.Slice().AsRaw() {
							out.tagged[id.Str()] = append(out.tagged[id.Str()], r.(string))
						}
					}
				}
			}
		}
	}
	return out
}

// detectionIdentity reads a detection's identity from the fields of its
// log line.
func detectionIdentity(fields map[string]any) identity {
	var evidence []string
	for _, v := range fields["evidence"].([]any) {
		evidence = append(evidence, v.(string))
	}
	return identity{Rule: fields["rule"].(string), User: fields["user"].(string), Evidence: strings.Join(evidence, ",")}
}

// compare reports every detection one run has and the other lacks, and
// checks that each detection was tagged on the record the log names.
func compare(t *testing.T, want, got outcome) {
	t.Helper()
	var diffs []string
	for id := range want.carriers {
		if _, ok := got.carriers[id]; !ok {
			diffs = append(diffs, "missed: "+id.String())
		}
	}
	for id, carrier := range got.carriers {
		if _, ok := want.carriers[id]; !ok {
			diffs = append(diffs, "extra: "+id.String())
		}
		if !slices.Contains(got.tagged[carrier], id.Rule) {
			diffs = append(diffs, fmt.Sprintf("not tagged: %s on its carrier %s (tagged %v)", id, carrier, got.tagged[carrier]))
		}
	}
	sort.Strings(diffs)
	if len(diffs) > 20 {
		diffs = append(diffs[:20], fmt.Sprintf("... and %d more", len(diffs)-20))
	}
	for _, d := range diffs {
		t.Error(d)
	}
}

// An order arranges the event-ordered items into the batches they arrive in.
type order struct {
	name    string
	arrange func(items []*item) [][]*item
	// spanning: the order delays some records by up to the whole span of
	// the data (a whole export read after another, everything reversed,
	// Kafka partitions lagging each other), which stays within the allowed
	// lateness only when the data spans less.
	spanning bool
}

// batches cuts items into batches of size.
func batches(items []*item, size int) [][]*item {
	var out [][]*item
	for len(items) > size {
		out = append(out, items[:size:size])
		items = items[size:]
	}
	if len(items) > 0 {
		out = append(out, items)
	}
	return out
}

// delayed is event order with each item delayed by delay(item): the items
// arrive sorted by event time plus delay.
func delayed(items []*item, delay func(*item) time.Duration) []*item {
	out := slices.Clone(items)
	slices.SortStableFunc(out, func(a, b *item) int { return a.at.Add(delay(a)).Compare(b.at.Add(delay(b))) })
	return out
}

// newestFirst lists each group of items (an export) newest first, the
// groups one after another in the order of their first item.
func newestFirst(items []*item, group func(*item) string) []*item {
	var keys []string
	groups := map[string][]*item{}
	for _, it := range items {
		k := group(it)
		if _, ok := groups[k]; !ok {
			keys = append(keys, k)
		}
		groups[k] = append(groups[k], it)
	}
	var out []*item
	for _, k := range keys {
		g := groups[k]
		for i := len(g) - 1; i >= 0; i-- {
			out = append(out, g[i])
		}
	}
	return out
}

// bySource lists the items of each feed in event order, one feed after the
// other, as the receiver reads one export file per source.
func bySource(items []*item) []*item {
	out := slices.Clone(items)
	slices.SortStableFunc(out, func(a, b *item) int { return strings.Compare(a.source, b.source) })
	return out
}

// randomDelays delays every item by a random time below the allowed
// lateness: at its arrival, nothing seen yet is a lateness ahead of it.
func randomDelays(seed uint64) func([]*item) []*item {
	return func(items []*item) []*item {
		r := rand.New(rand.NewPCG(seed, 1))
		delays := map[*item]time.Duration{}
		for _, it := range items {
			delays[it] = time.Duration(r.Int64N(int64(lateness)))
		}
		return delayed(items, func(it *item) time.Duration { return delays[it] })
	}
}

// kafka keeps each user's items in order in one of eight partitions and
// consumes the partitions in random chunks, as a consumer group does.
func kafka(seed uint64) func([]*item) [][]*item {
	return func(items []*item) [][]*item {
		r := rand.New(rand.NewPCG(seed, 2))
		var parts [8][]*item
		for _, it := range items {
			h := fnv.New32a()
			h.Write([]byte(it.user))
			parts[h.Sum32()%8] = append(parts[h.Sum32()%8], it)
		}
		var out [][]*item
		for {
			var open []int
			for i := range parts {
				if len(parts[i]) > 0 {
					open = append(open, i)
				}
			}
			if len(open) == 0 {
				return out
			}
			p := open[r.IntN(len(open))]
			n := min(len(parts[p]), 1+r.IntN(400))
			out = append(out, parts[p][:n])
			parts[p] = parts[p][n:]
		}
	}
}

// replay delivers the batch at index i again after the batch at index after.
func replay(bs [][]*item, i, after int) [][]*item {
	out := slices.Clone(bs[:after+1])
	out = append(out, bs[i])
	return append(out, bs[after+1:]...)
}

// bounded is an order whose delays stay below the allowed lateness
// whatever the span of the data; spanning is one that does not (see order).
func bounded(name string, arrange func([]*item) [][]*item) order  { return order{name, arrange, false} }
func spanning(name string, arrange func([]*item) [][]*item) order { return order{name, arrange, true} }

func hour(it *item) string { return it.at.UTC().Format("2006010215") + "/" + it.source }

// mailboxAudit says whether an item comes from the Office 365 Management
// Activity feed (the Exchange mailbox audit and its admin cmdlets).
func mailboxAudit(it *item) bool { return it.source == "o365" }

// orders are the arrival orders every data set is fed in; the first is the
// reference.
var orders = []order{
	bounded("event order, batches of 500", func(its []*item) [][]*item { return batches(its, 500) }),
	bounded("event order, batches of 1", func(its []*item) [][]*item { return batches(its, 1) }),
	bounded("event order, one batch of up to 20,000", func(its []*item) [][]*item { return batches(its, 20_000) }),
	bounded("hourly exports, each listing newest first", func(its []*item) [][]*item { return batches(newestFirst(its, hour), 500) }),
	spanning("one export per source, each newest first, one after another", func(its []*item) [][]*item {
		return batches(newestFirst(its, func(it *item) string { return it.source }), 500)
	}),
	spanning("one export per source in event order, one after another (loadgen -split none)", func(its []*item) [][]*item { return batches(bySource(its), 500) }),
	bounded("sign-ins ahead of the mailbox audit by 1h", func(its []*item) [][]*item {
		return batches(delayed(its, func(it *item) time.Duration { return map[bool]time.Duration{true: time.Hour}[mailboxAudit(it)] }), 500)
	}),
	bounded("sign-ins ahead of the mailbox audit by 24h", func(its []*item) [][]*item {
		return batches(delayed(its, func(it *item) time.Duration { return map[bool]time.Duration{true: lateness}[mailboxAudit(it)] }), 500)
	}),
	bounded("mailbox audit ahead of the sign-ins by 1h", func(its []*item) [][]*item {
		return batches(delayed(its, func(it *item) time.Duration { return map[bool]time.Duration{false: time.Hour}[mailboxAudit(it)] }), 500)
	}),
	bounded("mailbox audit ahead of the sign-ins by 24h", func(its []*item) [][]*item {
		return batches(delayed(its, func(it *item) time.Duration { return map[bool]time.Duration{false: lateness}[mailboxAudit(it)] }), 500)
	}),
	spanning("reversed", func(its []*item) [][]*item { r := slices.Clone(its); slices.Reverse(r); return batches(r, 500) }),
	bounded("random delays within the allowed lateness (seed 1), batches of 500", func(its []*item) [][]*item { return batches(randomDelays(1)(its), 500) }),
	bounded("random delays (seed 2), batches of 37", func(its []*item) [][]*item { return batches(randomDelays(2)(its), 37) }),
	bounded("random delays (seed 3), batches of 1", func(its []*item) [][]*item { return batches(randomDelays(3)(its), 1) }),
	bounded("random delays (seed 4), batches of 2,000", func(its []*item) [][]*item { return batches(randomDelays(4)(its), 2000) }),
	bounded("random delays (seed 5), batches of 500", func(its []*item) [][]*item { return batches(randomDelays(5)(its), 500) }),
	spanning("Kafka: users in eight partitions, consumed in random chunks", kafka(6)),
	bounded("event order, the last batch delivered again", func(its []*item) [][]*item {
		bs := batches(its, 500)
		return replay(bs, len(bs)-1, len(bs)-1)
	}),
	bounded("event order, every batch delivered twice (retried refusals)", func(its []*item) [][]*item {
		var out [][]*item
		for _, b := range batches(its, 500) {
			out = append(out, b, b)
		}
		return out
	}),
	bounded("random delays (seed 7), a batch re-delivered after a crash three batches later", func(its []*item) [][]*item {
		bs := batches(randomDelays(7)(its), 500)
		return replay(bs, len(bs)/2, min(len(bs)-1, len(bs)/2+3))
	}),
	spanning("Kafka (seed 8), every chunk re-delivered after a rebalance", func(its []*item) [][]*item {
		var out [][]*item
		for i, b := range kafka(8)(its) {
			out = append(out, b)
			if i%5 == 4 {
				out = append(out, b)
			}
		}
		return out
	}),
}

// reference is the run every other is compared with: the items in event
// order, in the first order's batches; it must find at least minDetections.
func reference(t *testing.T, cfg *emailcompromiseprocessor.Config, items []*item, minDetections int) outcome {
	t.Helper()
	want := process(t, cfg, orders[0].arrange(items))
	require.GreaterOrEqual(t, len(want.carriers), minDetections, "the reference run found too little to test anything")
	rules := map[string]bool{}
	for id := range want.carriers {
		rules[id.Rule] = true
	}
	t.Logf("%d records, %d detections of %d rules in event order: %s", len(items), len(want.carriers), len(rules),
		strings.Join(slices.Sorted(maps.Keys(rules)), ", "))
	return want
}

// checkOrders feeds the items in every order (but the spanning ones, when
// the data spans more than the allowed lateness), compares each run with
// the first, and returns the first.
func checkOrders(t *testing.T, cfg *emailcompromiseprocessor.Config, items []*item, minDetections int) outcome {
	t.Helper()
	want := reference(t, cfg, items, minDetections)
	span := items[len(items)-1].at.Sub(items[0].at)
	for _, o := range orders[1:] {
		if o.spanning && span >= cfg.AllowedLateness {
			continue
		}
		t.Run(o.name, func(t *testing.T) {
			compare(t, want, process(t, cfg, o.arrange(items)))
		})
	}
	return want
}

// processorConfig is the default configuration with a policy and the
// shipped Sigma rules (correlations among them), logging every new
// detection.
func processorConfig(t *testing.T, raw map[string]any) *emailcompromiseprocessor.Config {
	t.Helper()
	cfg := emailcompromiseprocessor.NewFactory().CreateDefaultConfig().(*emailcompromiseprocessor.Config)
	raw["sigma"] = map[string]any{"rules": []any{filepath.Join(corpus.RepoRoot(t), "testdata", "sigma")}}
	require.NoError(t, confmap.NewFromStringMap(raw).Unmarshal(cfg))
	cfg.SuppressionPeriod = 0
	require.NoError(t, cfg.Validate())
	return cfg
}

// TestArrivalOrderLoadgen feeds a generated tenant: 300 people on one day
// with every attack scenario of the load generator.
func TestArrivalOrderLoadgen(t *testing.T) {
	g, err := loadgen.New(loadgen.Config{Seed: 11, Users: 300, Days: 1})
	require.NoError(t, err)
	checkOrders(t, processorConfig(t, g.Policy().ProcessorConfig()), loadgenItems(t, g), 100)
}

// TestArrivalOrderLoadgenWeek feeds five days of a smaller tenant, so that
// the rules that judge a record against the user's baseline (new country
// and network, the send rate, a reply from a new address) have history
// older than the allowed lateness to read; every order stays within a day.
func TestArrivalOrderLoadgenWeek(t *testing.T) {
	g, err := loadgen.New(loadgen.Config{Seed: 5, Users: 120, Days: 5})
	require.NoError(t, err)
	checkOrders(t, processorConfig(t, g.Policy().ProcessorConfig()), loadgenItems(t, g), 100)
}

// loadgenItems renders the generator's records in event order.
func loadgenItems(t *testing.T, g *loadgen.Generator) []*item {
	t.Helper()
	records, err := g.Records()
	require.NoError(t, err)
	renderer := loadgen.NewRenderer()
	items := make([]*item, len(records))
	for i := range records {
		rec := &records[i]
		items[i] = &item{id: rec.ID, at: rec.Time, source: rec.Shape.Source(), user: rec.User,
			render: func(lr plog.LogRecord) error { return renderer.Render(rec, lr) }}
	}
	return items
}

// TestArrivalOrderCorpus feeds every published vendor sample of the corpus,
// read by the real receiver, as one sequence. The samples span years, so the
// allowed lateness is set to cover them all (every order below is then
// within it); baselines, read as they stood that long before each record,
// are empty, which leaves the patterns: pairs, bursts, chains.
func TestArrivalOrderCorpus(t *testing.T) {
	items, span := corpusItems(t)
	cfg := processorConfig(t, map[string]any{"organization_domains": corpusDomains(t)})
	cfg.AllowedLateness = span + time.Hour
	checkOrders(t, cfg, items, 30)
}
