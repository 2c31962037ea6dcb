package emailcompromiseprocessor // import "github.com/otelsec/emailcompromise/processor/emailcompromiseprocessor"

import (
	"context"
	"net/url"

	"go.opentelemetry.io/collector/extension/xextension/storage"
	"go.uber.org/zap"

	"github.com/otelsec/emailcompromise/internal/snapshot"
	"github.com/otelsec/emailcompromise/processor/emailcompromiseprocessor/internal/sigma"
)

// Each tenant's Sigma correlation state is snapshotted beside the per-user
// state, under keys of its own (internal/snapshot: chunks under a
// generation, then the manifest naming it, so that a crash at any point
// leaves a complete snapshot readable). The keys are those the state had
// before it moved onto internal/snapshot, and its chunks the same layout.
const sigmaStatePrefix = "email_compromise/sigma/v1/"

func sigmaPrefixOf(tenant string) string {
	return sigmaStatePrefix + "tenant=" + url.PathEscape(tenant)
}

// saveSigmaState snapshots an engine's correlation state. locked runs a
// function under the lock that guards the engine: the snapshot needs it to
// copy groups, not to encode or write.
func saveSigmaState(ctx context.Context, client storage.Client, tenant string, engine *sigma.Engine, locked func(func())) error {
	_, err := snapshot.Save(ctx, client, sigmaPrefixOf(tenant), sigma.GroupsPerChunk, engine.CorrelationWatermark(locked),
		engine.Correlations(locked), sigma.CorrelationCodec{})
	return err
}

// loadSigmaState restores an engine's correlation state from its latest
// snapshot, if any.
func loadSigmaState(ctx context.Context, client storage.Client, tenant string, engine *sigma.Engine) (sigma.RestoreReport, error) {
	restorer := engine.RestoreCorrelations()
	_, meta, err := snapshot.Load(ctx, client, sigmaPrefixOf(tenant), sigma.CorrelationCodec{}, restorer.Restore)
	if err != nil {
		return sigma.RestoreReport{}, err
	}
	return restorer.Finish(meta)
}

// saveSigmaStates snapshots every tenant's Sigma correlation state to
// client. It takes mu only while it copies a few hundred groups at a time.
func (p *emailCompromiseProcessor) saveSigmaStates(ctx context.Context, client storage.Client) {
	p.forTenants(ctx, "Could not snapshot Sigma correlation state", func(t *tenant) error {
		if t.sigma == nil {
			return nil
		}
		return saveSigmaState(ctx, client, t.name, t.sigma, p.steps.underLock)
	})
}

// restoreSigmaStates reads every tenant's Sigma correlation state back; what
// cannot be read costs the correlations' windows in progress, not detection.
func (p *emailCompromiseProcessor) restoreSigmaStates(ctx context.Context) {
	p.forTenants(ctx, "Could not restore the Sigma correlation state; correlations start empty", func(t *tenant) error {
		if t.sigma == nil {
			return nil
		}
		rep, err := loadSigmaState(ctx, p.storageClient, t.name, t.sigma)
		if err != nil {
			return err
		}
		if len(rep.Changed) > 0 {
			p.logger.Info("Sigma correlation state of changed or removed rules was dropped", t.logField(), zap.Strings("rules", rep.Changed))
		}
		p.logger.Info("Restored Sigma correlation state", t.logField(), zap.Int("groups", rep.Groups))
		return nil
	})
}
