package auditlogreceiver

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otelsec/emailcompromise/internal/testing/apitest"
	"github.com/otelsec/emailcompromise/internal/testing/recordtest"
)

// backlogs are the three API sources, each with a backlog that takes many
// pages and batches to read.
var backlogs = []struct {
	name  string
	setup func(t *testing.T) (*Config, []string)
}{
	{"o365", func(t *testing.T) (*Config, []string) {
		env := newO365Env(t, "Audit.Exchange", "Audit.General")
		env.api.SetPageSize(2)
		now := time.Now()
		want := addO365Blobs(env.api, "Audit.Exchange", "ex", now.Add(-100*time.Minute), now, 8, 3)
		want = append(want, addO365Blobs(env.api, "Audit.General", "gen", now.Add(-50*time.Minute), now, 4, 3)...)
		env.cfg.O365.Get().BatchSize = 2
		return env.cfg, want
	}},
	{"graph", func(t *testing.T) (*Config, []string) {
		env := newGraphEnv(t)
		now := time.Now()
		want := addSignIns(env.api, "s", now.Add(-110*time.Minute), now, 40)
		env.cfg.Graph.Get().BatchSize = 2
		return env.cfg, want
	}},
	{"google", func(t *testing.T) (*Config, []string) {
		env := newGoogleEnv(t, "login", "admin")
		now := time.Now()
		var want []string
		for i := range 30 {
			at := now.Add(-time.Duration(i*3) * time.Minute)
			app := []string{"login", "admin"}[i%2]
			env.api.Add(app, at, apitest.GoogleLogin(fmt.Sprint(5000+i), at))
			want = append(want, fmt.Sprint(5000+i))
		}
		env.cfg.Google.Get().BatchSize = 2
		return env.cfg, want
	}},
}

func TestRestartMidPagingLosesNothingAndRepeatsNothing(t *testing.T) {
	for _, bl := range backlogs {
		t.Run(bl.name, func(t *testing.T) {
			cfg, want := bl.setup(t)
			storageDir := t.TempDir()

			// First run: five batches are accepted, then the pipeline
			// pushes back until the collector is stopped, mid-paging.
			host, storageID, ext := fileStorageHost(t, storageDir)
			cfg.StorageID = &storageID
			first := &idSink{decide: func(call int, _ plog.Logs) error {
				if call <= 5 {
					return nil
				}
				return errBackpressure
			}}
			r := startReceiver(t, cfg, first.consumer(t), host, nil)
			require.Eventually(t, func() bool { first.mu.Lock(); defer first.mu.Unlock(); return first.calls > 8 }, 10*time.Second, time.Millisecond)
			require.NoError(t, r.Shutdown(context.Background()))
			require.NoError(t, ext.Shutdown(context.Background()))
			firstIDs := first.ids()
			require.NotEmpty(t, firstIDs)
			require.Less(t, len(firstIDs), len(want), "stopped mid-paging")

			// Second run on the same storage.
			host, _, ext = fileStorageHost(t, storageDir)
			second := &idSink{}
			r = startReceiver(t, cfg, second.consumer(t), host, nil)
			second.waitIDs(t, len(want)-len(firstIDs))
			require.NoError(t, r.Shutdown(context.Background()))
			require.NoError(t, ext.Shutdown(context.Background()))

			all := append(firstIDs, second.ids()...)
			assert.Empty(t, duplicates(all), "nothing twice after a clean stop")
			assert.Equal(t, sorted(want), sorted(all), "nothing lost")
		})
	}
}

// TestCrashRepeatsOnlyTheUnacknowledgedBatch simulates a crash in process:
// a batch reaches the exporter, and before the receiver learns that it was
// accepted, the collector dies. The storage is copied at that instant and a
// new receiver starts on the copy, as a restarted collector would.
func TestCrashRepeatsOnlyTheUnacknowledgedBatch(t *testing.T) {
	for _, bl := range backlogs {
		t.Run(bl.name, func(t *testing.T) {
			cfg, want := bl.setup(t)
			storageDir, crashDir := t.TempDir(), t.TempDir()
			host, storageID, ext := fileStorageHost(t, storageDir)
			cfg.StorageID = &storageID

			const crashAt = 4
			crashed, release := make(chan []string), make(chan struct{})
			first := &idSink{decide: func(call int, logs plog.Logs) error {
				if call == crashAt {
					// Delivered downstream, never acknowledged.
					crashed <- recordtest.IDs(recordtest.Records(logs))
					<-release
				}
				return nil
			}}
			r := startReceiver(t, cfg, first.consumer(t), host, nil)
			var unacked []string
			select {
			case unacked = <-crashed:
			case <-time.After(10 * time.Second):
				t.Fatal("no batch reached the crash point")
			}
			copyDir(t, storageDir, crashDir)
			delivered := append(first.ids(), unacked...)
			t.Cleanup(func() {
				close(release)
				_ = r.Shutdown(context.Background())
				_ = ext.Shutdown(context.Background())
			})

			host2, _, ext2 := fileStorageHost(t, crashDir)
			second := &idSink{}
			r2 := startReceiver(t, cfg, second.consumer(t), host2, nil)
			second.waitIDs(t, len(want)-len(delivered)+len(unacked))
			require.NoError(t, r2.Shutdown(context.Background()))
			require.NoError(t, ext2.Shutdown(context.Background()))

			all := append(delivered, second.ids()...)
			assert.Equal(t, sorted(want), sorted(uniq(all)), "nothing lost")
			dups := duplicates(all)
			t.Logf("after the crash %d records came twice, counted by audit.record.id: %v", len(dups), slices.Sorted(maps.Keys(dups)))
			assert.Equal(t, sorted(unacked), slices.Sorted(maps.Keys(dups)), "only the unacknowledged batch comes again")
		})
	}
}

func TestDownstreamRefusalLeavesNoGap(t *testing.T) {
	cfg, want := backlogs[1].setup(t)
	refuseUntil := time.Now().Add(300 * time.Millisecond)
	sink := &idSink{decide: func(int, plog.Logs) error {
		if time.Now().Before(refuseUntil) {
			return errBackpressure
		}
		return nil
	}}
	tt := newTelemetry(t)
	startReceiver(t, cfg, sink.consumer(t), componenttest.NewNopHost(), tt)
	got := sink.waitIDs(t, len(want))
	assert.Empty(t, duplicates(got))
	assert.Equal(t, sorted(want), sorted(got))
	assert.Positive(t, counter(t, tt, "audit_log_downstream_retries"))
}

func copyDir(t *testing.T, from, to string) {
	entries, err := os.ReadDir(from)
	require.NoError(t, err)
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(from, e.Name()))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(to, e.Name()), data, 0o600))
	}
}

func uniq(ids []string) []string {
	seen := make(map[string]bool)
	var out []string
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}
