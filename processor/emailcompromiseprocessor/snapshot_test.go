package emailcompromiseprocessor

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/extension/storage/storagetest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/extension/xextension/storage"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/processor"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/otelsec/emailcompromise/internal/snapshot"
	"github.com/otelsec/emailcompromise/processor/emailcompromiseprocessor/internal/metadatatest"
	"github.com/otelsec/emailcompromise/processor/emailcompromiseprocessor/internal/state"
)

// TestSnapshotWhileProcessing: snapshots are written while records of the
// same users, and of new ones, are processed (run with -race: the snapshot
// reads users and Sigma correlation groups under the processing lock only
// while it copies them). Every
// user held before a snapshot began is in it, each as a whole.
func TestSnapshotWhileProcessing(t *testing.T) {
	ctx := context.Background()
	const users = 700
	cfg := createDefaultConfig().(*Config)
	cfg.State.SnapshotInterval = time.Hour             // the test snapshots when it wants
	cfg.Sigma.Rules = []string{"../../testdata/sigma"} // whose correlation state is snapshotted too
	require.NoError(t, cfg.Validate())
	p, _ := newTestProcessor(t, cfg, componenttest.NewTelemetry())
	require.NoError(t, p.Start(ctx, componenttest.NewNopHost()))
	defer func() { require.NoError(t, p.Shutdown(ctx)) }()
	client := storagetest.NewInMemoryClient(component.KindProcessor, p.id, "")
	p.mu.Lock()
	p.storageClient = client
	p.mu.Unlock()

	require.NoError(t, p.ConsumeLogs(ctx, realisticBatch(t, 4*users, users)))
	p.mu.Lock()
	before := map[string]bool{}
	p.users.Each(func(key string, _ time.Time, _ *state.User) { before[key] = true })
	p.mu.Unlock()
	require.Greater(t, len(before), 2*128, "more users than a snapshot copies at a time")

	// More records of the same users and of as many new ones, one at a time.
	more := singleRecordBatches(t, 500, 2*users)
	var wg sync.WaitGroup
	done := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; i < 3; i++ {
			p.saveState(ctx)
		}
		close(done)
	}()
	consumed := 0
	for running := true; running; consumed++ {
		select {
		case <-done:
			running = false
		default:
		}
		ld := plog.NewLogs()
		more[consumed%len(more)].CopyTo(ld)
		require.NoError(t, p.ConsumeLogs(ctx, ld))
	}
	wg.Wait()
	t.Logf("%d records processed during 3 snapshots", consumed)

	restored := state.New[state.User](cfg.State.MaxUsers, cfg.State.TTL)
	n, err := state.Load(ctx, client, restored)
	require.NoError(t, err)
	assert.GreaterOrEqual(t, n, len(before))
	for key := range before {
		assert.NotNil(t, restored.Get(key), "%s, held before the snapshot, is in it", key)
	}
	m, err := snapshot.ReadManifest(ctx, client, sigmaPrefixOf(""))
	require.NoError(t, err)
	assert.NotZero(t, m.Generation, "the Sigma correlation state was snapshotted")
}

// TestProcessorStartsEmptyOnAnUnreadableSnapshot: a snapshot whose second
// chunk cannot be decoded (a change to the state that did not raise the
// layout version, a damaged file) leaves the processor with no users at
// all, not with those of the first chunk, and says so.
func TestProcessorStartsEmptyOnAnUnreadableSnapshot(t *testing.T) {
	ctx := context.Background()
	host, cfg, set, logs, client := storedSnapshot(t)
	s := state.New[state.User](10_000, time.Hour)
	for i := range 5000 { // more than one chunk
		s.Touch(fmt.Sprintf("user%d@contoso.com", i), time.Now())
	}
	require.NoError(t, state.Save(ctx, client, s, (&stepHandoff{mu: new(sync.Mutex)}).underLock))
	require.NoError(t, client.Set(ctx, "email_compromise/state/v3/1/1", []byte("not a chunk of users")))
	require.NoError(t, client.Close(ctx))

	p, err := newEmailCompromiseProcessor(set, cfg, consumertest.NewNop())
	require.NoError(t, err)
	require.NoError(t, p.Start(ctx, host))
	assert.Zero(t, p.users.Len())
	require.NoError(t, p.Shutdown(ctx))
	require.Equal(t, 1, logs.FilterMessage("Could not restore the per-user state snapshot; starting with empty state").Len())
	assert.Contains(t, logs.All()[0].ContextMap()["error"], "decode snapshot chunk 1")
}

// TestProcessorGoesOnWithAnUnreadableSpraySnapshot: password-spray counters
// that cannot be read are logged and counted; the users' state is restored
// and the processor runs.
func TestProcessorGoesOnWithAnUnreadableSpraySnapshot(t *testing.T) {
	ctx := context.Background()
	host, cfg, set, logs, client := storedSnapshot(t)
	s := state.New[state.User](10, time.Hour)
	s.Touch("alice@contoso.com", time.Now())
	require.NoError(t, state.Save(ctx, client, s, func(f func()) { f() }))
	require.NoError(t, client.Set(ctx, sprayPrefixOf("")+"/manifest", []byte("1 1")))
	require.NoError(t, client.Set(ctx, sprayPrefixOf("")+"/1/0", []byte("not a gob of sources")))
	require.NoError(t, client.Close(ctx))

	p, err := newEmailCompromiseProcessor(set, cfg, consumertest.NewNop())
	require.NoError(t, err)
	require.NoError(t, p.Start(ctx, host))
	assert.Equal(t, 1, p.users.Len())
	require.NoError(t, p.ConsumeLogs(ctx, realisticBatch(t, 50, 10)))
	require.NoError(t, p.Shutdown(ctx))
	require.Equal(t, 1, logs.FilterMessage("Could not restore the password-spray counters; sprays in progress are counted afresh").Len())
}

// storedSnapshot is a file-backed storage extension with the processor's
// client to it open, for a test to write a snapshot in, and the settings
// (logging warnings) and configuration of a processor to start on it.
func storedSnapshot(t *testing.T) (component.Host, *Config, processor.Settings, *observer.ObservedLogs, storage.Client) {
	t.Helper()
	storageID := storagetest.NewStorageID("state")
	host := storagetest.NewStorageHost().WithFileBackedStorageExtension(storageID.Name(), t.TempDir())
	cfg := createDefaultConfig().(*Config)
	cfg.Storage = &storageID
	core, logs := observer.New(zap.WarnLevel)
	set := metadatatest.NewSettings(componenttest.NewTelemetry())
	set.Logger = zap.New(core)
	client, err := host.GetExtensions()[storageID].(storage.Extension).GetClient(context.Background(), component.KindProcessor, set.ID, "")
	require.NoError(t, err)
	return host, cfg, set, logs, client
}
