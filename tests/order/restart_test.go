package order

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/otelsec/emailcompromise/internal/testing/loadgen"
	"github.com/otelsec/emailcompromise/processor/emailcompromiseprocessor"
)

// TestRestartsChangeNoDetection feeds the generated tenant's day, with
// every attack scenario, to a processor that is shut down every few batches
// and replaced by one started from the snapshot it wrote (a real
// file-backed storage extension): learned baselines, timelines, stages,
// held and emitted detections, Sigma correlations and password-spray
// counters all go through the snapshot. It finds the same detections, on
// the same records, as one processor run through.
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
	want := reference(t, cfg, items, 100)

	for _, run := range []struct {
		name         string
		batches      [][]*item
		restartEvery int
	}{
		{"event order, restarted every 7 batches of 500", batches(items, 500), 7},
		{"random delays (seed 9), restarted every 3 batches of 500", batches(randomDelays(9)(items), 500), 3},
	} {
		t.Run(run.name, func(t *testing.T) {
			compare(t, want, processRestarted(t, cfg, run.batches, run.restartEvery))
		})
	}
}
