package order

import (
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/otelsec/emailcompromise/internal/testing/loadgen"
	"github.com/otelsec/emailcompromise/processor/emailcompromiseprocessor"
)

// sprayRules are the rules of the password-spray detector, whose
// per-address counters are not snapshotted (README, scale-out): a restart
// in the middle of a spray forgets the failures before it.
var sprayRules = []string{"risky_sign_in/password_spray_attempt", "risky_sign_in/password_spray_success"}

// withoutRules is o without the detections of rules.
func withoutRules(o outcome, rules []string) outcome {
	out := outcome{carriers: maps.Clone(o.carriers), tagged: o.tagged}
	maps.DeleteFunc(out.carriers, func(id identity, _ string) bool { return slices.Contains(rules, id.Rule) })
	return out
}

// TestRestartsChangeNoDetection feeds the generated tenant's day, with
// every attack scenario, to a processor that is shut down every few batches
// and replaced by one started from the snapshot it wrote (a real
// file-backed storage extension): learned baselines, timelines, stages,
// held and emitted detections all go through the snapshot's encoding. It
// finds the same detections, on the same records, as one processor run
// through; but for the spray detections that a restart cuts in two, whose
// counters are not snapshotted (the test logs how many a run kept).
func TestRestartsChangeNoDetection(t *testing.T) {
	for _, tenant := range []struct {
		name string
		cfg  loadgen.Config
	}{
		{"a day of 300 people", loadgen.Config{Seed: 11, Users: 300, Days: 1}},
		// Five days, so that the rules judging a record against the user's
		// baseline read history learned before a restart.
		{"five days of 120 people", loadgen.Config{Seed: 5, Users: 120, Days: 5}},
	} {
		t.Run(tenant.name, func(t *testing.T) {
			g, err := loadgen.New(tenant.cfg)
			require.NoError(t, err)
			checkRestarts(t, processorConfig(t, g.Policy().ProcessorConfig()), loadgenItems(t, g))
		})
	}
}

// checkRestarts compares runs restarted every few batches with one run
// through, in event order and with random delays.
func checkRestarts(t *testing.T, cfg *emailcompromiseprocessor.Config, items []*item) {
	want := process(t, cfg, batches(items, 500))
	rules := map[string]bool{}
	for id := range want.carriers {
		rules[id.Rule] = true
	}
	require.GreaterOrEqual(t, len(want.carriers), 100, "the reference run found too little to test anything")
	t.Logf("%d records, %d detections of %d rules: %s", len(items), len(want.carriers), len(rules), strings.Join(slices.Sorted(maps.Keys(rules)), ", "))

	for _, run := range []struct {
		name         string
		batches      [][]*item
		restartEvery int
	}{
		{"event order, restarted every 7 batches of 500", batches(items, 500), 7},
		{"random delays (seed 9), restarted every 3 batches of 500", batches(randomDelays(9)(items), 500), 3},
	} {
		t.Run(run.name, func(t *testing.T) {
			got := processRestarted(t, cfg, run.batches, run.restartEvery)
			compare(t, withoutRules(want, sprayRules), withoutRules(got, sprayRules))
			t.Logf("spray detections: %d of %d", len(got.carriers)-len(withoutRules(got, sprayRules).carriers),
				len(want.carriers)-len(withoutRules(want, sprayRules).carriers))
		})
	}
}
