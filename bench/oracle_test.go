package bench

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"testing"

	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otelsec/emailcompromise/internal/testing/loadgen"
)

// TestLoadgenOracle runs the processor over a generated tenant, in time
// order and shaped as the receiver emits it, and compares the tags with
// what the generator expects: every expected rule fires on its record, no
// other record is tagged, and nothing but the allowed side effects fires on
// scenario records. A failure is a detector regression or a generator bug;
// the message says which records and rules differ.
func TestLoadgenOracle(t *testing.T) {
	for _, tc := range []struct {
		users, days int
	}{{300, 1}, {200, 3}} {
		t.Run(fmt.Sprintf("%dusers_%ddays", tc.users, tc.days), func(t *testing.T) {
			g, err := loadgen.New(loadgen.Config{Seed: 11, Users: tc.users, Days: tc.days})
			if err != nil {
				t.Fatal(err)
			}
			got := &tagCollector{}
			p := newProcessor(t, processorConfig(t, g.Policy(), nil), nopSettings(), got)
			if err := g.EachBatch(500, func(ld plog.Logs) error { return p.ConsumeLogs(context.Background(), ld) }); err != nil {
				t.Fatal(err)
			}
			for _, d := range compareDetections(g, got.rules) {
				t.Error(d)
			}
			t.Logf("%d records, %d tagged, %d expected", got.seen, len(got.rules), len(g.Expected()))
		})
	}
}

// compareDetections lists the differences between the tags seen and the
// generator's expectations.
func compareDetections(g *loadgen.Generator, got map[string][]string) []string {
	var diffs []string
	scenarioOf := map[string]string{}
	for _, s := range g.Scenarios() {
		for _, id := range s.Records {
			scenarioOf[id] = s.Name
		}
	}
	for id, want := range g.Expected() {
		for _, rule := range want {
			if !slices.Contains(got[id], rule) {
				diffs = append(diffs, fmt.Sprintf("missed: %s on %s (scenario %s; tagged %v)", rule, id, scenarioOf[id], got[id]))
			}
		}
	}
	for id, rules := range got {
		for _, rule := range rules {
			if slices.Contains(g.Expected()[id], rule) || slices.Contains(g.Allowed()[id], rule) {
				continue
			}
			where := "benign record"
			if s := scenarioOf[id]; s != "" {
				where = "record of scenario " + s
			}
			diffs = append(diffs, fmt.Sprintf("unexpected: %s on %s %s", rule, where, id))
		}
	}
	sort.Strings(diffs)
	return diffs
}
