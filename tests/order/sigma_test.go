package order

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelsec/emailcompromise/internal/testing/loadgen"
)

// TestArrivalOrderSigmaWindowEnd feeds three days of a small tenant to the
// shipped Sigma rules and to correlations decided at window end
// (testdata/sigma-window-end: fewer than, exactly, a percentile, an
// average). Such a window is decided once no record within the allowed
// lateness can still fall into it, so in every order the same windows fire,
// with the same evidence, each once: the windows that end a lateness before
// the last record's time.
func TestArrivalOrderSigmaWindowEnd(t *testing.T) {
	g, err := loadgen.New(loadgen.Config{Seed: 14, Users: 100, Days: 3})
	require.NoError(t, err)
	cfg := processorConfig(t, g.Policy().ProcessorConfig())
	cfg.Sigma.Rules = append(cfg.Sigma.Rules, filepath.Join("testdata", "sigma-window-end"))
	want := checkOrders(t, cfg, loadgenItems(t, g), 50)
	fired := map[string]int{}
	for id := range want.carriers {
		fired[id.Rule]++
	}
	for _, id := range []string{"1", "2", "3", "4"} {
		rule := "sigma/14000000-0000-4000-8000-00000000000" + id
		assert.Positive(t, fired[rule], "%s never fired in event order: the test tests nothing for it", rule)
	}
}
