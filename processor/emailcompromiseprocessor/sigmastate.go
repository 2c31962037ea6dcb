package emailcompromiseprocessor // import "github.com/otelsec/emailcompromise/processor/emailcompromiseprocessor"

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"go.opentelemetry.io/collector/extension/xextension/storage"
	"go.uber.org/zap"

	"github.com/otelsec/emailcompromise/processor/emailcompromiseprocessor/internal/sigma"
)

// Each tenant's Sigma correlation state is snapshotted beside the per-user
// state, under keys of its own: chunks under a generation, then a manifest
// naming the generation, then the previous generation's chunks go, so that
// a crash at any point leaves a complete snapshot readable.
const sigmaStatePrefix = "email_compromise/sigma/v1/"

// sigmaKeys are the storage keys of one tenant's Sigma state.
type sigmaKeys string

func sigmaKeysOf(tenant string) sigmaKeys {
	return sigmaKeys(sigmaStatePrefix + "tenant=" + url.PathEscape(tenant) + "/")
}

func (k sigmaKeys) manifest() string { return string(k) + "manifest" }

func (k sigmaKeys) chunk(generation uint64, chunk int) string {
	return fmt.Sprintf("%s%d/%d", k, generation, chunk)
}

// saveSigmaState snapshots an engine's correlation state. locked runs a
// function under the lock that guards the engine: SaveCorrelations needs it
// to copy groups, not to encode or write.
func saveSigmaState(ctx context.Context, client storage.Client, keys sigmaKeys, engine *sigma.Engine, locked func(func())) error {
	generation, old, err := keys.readManifest(ctx, client)
	if err != nil {
		return err
	}
	chunks := 0
	err = engine.SaveCorrelations(func(data []byte) error {
		err := client.Set(ctx, keys.chunk(generation+1, chunks), data)
		chunks++
		return err
	}, locked)
	if err != nil {
		return err
	}
	if err := client.Set(ctx, keys.manifest(), []byte(fmt.Sprintf("%d %d", generation+1, chunks))); err != nil {
		return err
	}
	deletes := make([]*storage.Operation, old)
	for i := range deletes {
		deletes[i] = storage.DeleteOperation(keys.chunk(generation, i))
	}
	return client.Batch(ctx, deletes...)
}

// loadSigmaState restores an engine's correlation state from its latest
// snapshot, if any.
func loadSigmaState(ctx context.Context, client storage.Client, keys sigmaKeys, engine *sigma.Engine) (sigma.RestoreReport, error) {
	generation, n, err := keys.readManifest(ctx, client)
	if err != nil || n == 0 {
		return sigma.RestoreReport{}, err
	}
	chunks := make([][]byte, n)
	for i := range chunks {
		if chunks[i], err = client.Get(ctx, keys.chunk(generation, i)); err != nil {
			return sigma.RestoreReport{}, err
		}
		if chunks[i] == nil {
			return sigma.RestoreReport{}, fmt.Errorf("the Sigma state snapshot's generation %d lacks chunk %d", generation, i)
		}
	}
	return engine.RestoreCorrelations(chunks)
}

func (k sigmaKeys) readManifest(ctx context.Context, client storage.Client) (generation uint64, chunks int, err error) {
	data, err := client.Get(ctx, k.manifest())
	if err != nil || data == nil {
		return 0, 0, err
	}
	gen, n, ok := strings.Cut(string(data), " ")
	g, err1 := strconv.ParseUint(gen, 10, 64)
	c, err2 := strconv.Atoi(n)
	if !ok || err1 != nil || err2 != nil || c < 0 {
		return 0, 0, errors.New("the Sigma state snapshot's manifest is corrupt")
	}
	return g, c, nil
}

// saveSigmaStates snapshots every tenant's Sigma correlation state to
// client. It takes mu only while it copies a few hundred groups at a time.
func (p *emailCompromiseProcessor) saveSigmaStates(ctx context.Context, client storage.Client) {
	for _, t := range p.tenants.all() {
		if t.sigma == nil {
			continue
		}
		if err := saveSigmaState(ctx, client, sigmaKeysOf(t.name), t.sigma, p.steps.underLock); err != nil {
			p.telemetry.EmailCompromiseStateSnapshotErrors.Add(ctx, 1)
			p.logger.Warn("Could not snapshot Sigma correlation state", t.logField(), zap.Error(err))
		}
	}
}

// restoreSigmaStates reads every tenant's Sigma correlation state back; what
// cannot be read costs the correlations' windows in progress, not detection.
func (p *emailCompromiseProcessor) restoreSigmaStates(ctx context.Context) {
	for _, t := range p.tenants.all() {
		if t.sigma == nil {
			continue
		}
		rep, err := loadSigmaState(ctx, p.storageClient, sigmaKeysOf(t.name), t.sigma)
		if err != nil {
			p.telemetry.EmailCompromiseStateSnapshotErrors.Add(ctx, 1)
			p.logger.Warn("Could not restore the Sigma correlation state; correlations start empty", t.logField(), zap.Error(err))
			continue
		}
		if len(rep.Changed) > 0 {
			p.logger.Info("Sigma correlation state of changed or removed rules was dropped", t.logField(), zap.Strings("rules", rep.Changed))
		}
		p.logger.Info("Restored Sigma correlation state", t.logField(), zap.Int("groups", rep.Groups))
	}
}
