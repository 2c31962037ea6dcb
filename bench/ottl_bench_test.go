package bench

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"testing"

	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otelsec/emailcompromise/internal/testing/loadgen"
	"github.com/otelsec/emailcompromise/processor/emailcompromiseprocessor"
)

// statelessOnly enables the four stateless detectors and disables every
// other one. The others are read from the processor's configuration, so
// that a detector added later is not left running on our side of the
// comparison (the five of issue 12 were, until 2026-12-05).
var statelessOnly = func() map[string]any {
	stateless := []string{"inbox_rule", "mailbox_forwarding", "identity_provider_risk", "legacy_authentication"}
	detectors := map[string]any{}
	fields := reflect.TypeFor[emailcompromiseprocessor.DetectorsConfig]()
	for i := range fields.NumField() {
		if key := fields.Field(i).Tag.Get("mapstructure"); !slices.Contains(stateless, key) {
			detectors[key] = map[string]any{"enabled": false}
		}
	}
	return map[string]any{"detectors": detectors}
}()

// groupOf maps the stateless rules to the OTTL condition groups.
var groupOf = map[string]string{
	loadgen.RuleMailboxForwarding: "mailbox_forwarding",
	loadgen.RuleInboxForward:      "inbox_rule",
	loadgen.RuleInboxHiding:       "inbox_rule",
	loadgen.RuleLegacyAuth:        "legacy_authentication",
	loadgen.RuleIdPRisk:           "identity_provider_risk",
}

// TestOTTLMatchesDetectors checks that the OTTL conditions are a faithful
// rendering: over the benchmark tenant's day (with its attacks) they flag
// exactly the records the four detectors tag, detector by detector.
func TestOTTLMatchesDetectors(t *testing.T) {
	_, measured, _ := tenantDays(t)
	g, _ := loadgen.New(loadgen.Config{Seed: 42, Users: benchUsers, Days: 2})
	ours := &tagCollector{}
	p := newProcessor(t, processorConfig(t, g.Policy(), statelessOnly), nopSettings(), ours)
	for _, ld := range copyAll(measured) {
		if err := p.ConsumeLogs(context.Background(), ld); err != nil {
			t.Fatal(err)
		}
	}
	want := map[string][]string{}
	for id, rules := range ours.rules {
		for _, r := range rules {
			if grp := groupOf[r]; grp != "" && !slices.Contains(want[id], grp) {
				want[id] = append(want[id], grp)
			}
		}
	}
	got := map[string][]string{}
	d := newOTTLDetectors(t, g.Policy())
	for _, ld := range measured {
		err := d.eval(context.Background(), ld, func(lr plog.LogRecord, group string) {
			id, _ := lr.Attributes().Get("audit.record.id")
			got[id.Str()] = append(got[id.Str()], group)
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	var diffs []string
	for id, w := range want {
		sort.Strings(w)
		sort.Strings(got[id])
		if !slices.Equal(w, got[id]) {
			diffs = append(diffs, fmt.Sprintf("%s: detectors %v, OTTL %v", id, w, got[id]))
		}
	}
	for id, g := range got {
		if _, ok := want[id]; !ok {
			diffs = append(diffs, fmt.Sprintf("%s: detectors [], OTTL %v", id, g))
		}
	}
	sort.Strings(diffs)
	for _, d := range diffs {
		t.Error(d)
	}
	if len(want) < 5 {
		t.Errorf("only %d records flagged by the detectors; the comparison needs the attack scenarios", len(want))
	}
	t.Logf("%d records flagged by both", len(want))
}

// BenchmarkStatelessConditions runs the same four stateless checks over
// the same steady-state day: the email_compromise processor with only those
// detectors enabled (record view built once, tags written) against the
// OTTL conditions (a transform context per record, the Name/Value arrays
// converted once into the cache, then the four condition groups).
func BenchmarkStatelessConditions(b *testing.B) {
	_, measured, records := tenantDays(b)
	g, _ := loadgen.New(loadgen.Config{Seed: 42, Users: benchUsers, Days: 2})
	perRecord := func(b *testing.B) {
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*records), "ns/record")
	}
	b.Run("email_compromise_stateless", func(b *testing.B) {
		p := newProcessor(b, processorConfig(b, g.Policy(), statelessOnly), nopSettings(), nopConsumer{})
		in := copyAll(measured)
		b.ReportAllocs()
		for b.Loop() {
			// Re-tagging the same records rewrites the same attributes:
			// these detectors keep no state, so every pass is the same work.
			for _, ld := range in {
				if err := p.ConsumeLogs(context.Background(), ld); err != nil {
					b.Fatal(err)
				}
			}
		}
		perRecord(b)
	})
	b.Run("ottl_conditions", func(b *testing.B) {
		d := newOTTLDetectors(b, g.Policy())
		hits := 0
		b.ReportAllocs()
		for b.Loop() {
			for _, ld := range measured {
				if err := d.eval(context.Background(), ld, func(plog.LogRecord, string) { hits++ }); err != nil {
					b.Fatal(err)
				}
			}
		}
		perRecord(b)
	})
}
