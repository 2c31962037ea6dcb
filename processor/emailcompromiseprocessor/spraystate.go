package emailcompromiseprocessor // import "github.com/otelsec/emailcompromise/processor/emailcompromiseprocessor"

import (
	"context"
	"net/url"

	"go.opentelemetry.io/collector/extension/xextension/storage"
	"go.uber.org/zap"

	"github.com/otelsec/emailcompromise/internal/snapshot"
	"github.com/otelsec/emailcompromise/processor/emailcompromiseprocessor/internal/detection"
)

// Each tenant's password-spray counters (per source address, not per user)
// are snapshotted beside the per-user state, under keys of their own, so
// that a restart in the middle of a spray still counts the failures before
// it (TestRestartsChangeNoDetection).
const sprayStatePrefix = "email_compromise/spray/v1/"

// sourcesPerChunk keeps a chunk of addresses well under a megabyte.
const sourcesPerChunk = 1024

func sprayPrefixOf(tenant string) string {
	return sprayStatePrefix + "tenant=" + url.PathEscape(tenant)
}

// saveSprayStates snapshots every tenant's password-spray counters to
// client, copying a few hundred addresses at a time under the processing
// lock.
func (p *emailCompromiseProcessor) saveSprayStates(ctx context.Context, client storage.Client) {
	p.forTenants(ctx, "Could not snapshot the password-spray counters", func(t *tenant) error {
		if t.spray == nil {
			return nil
		}
		_, err := snapshot.Save(ctx, client, sprayPrefixOf(t.name), sourcesPerChunk, nil, t.spray.Sources(p.steps.underLock), snapshot.Gob[detection.SpraySource]{})
		return err
	})
}

// restoreSprayStates reads every tenant's password-spray counters back;
// what cannot be read costs the sprays in progress, not detection.
func (p *emailCompromiseProcessor) restoreSprayStates(ctx context.Context) {
	p.forTenants(ctx, "Could not restore the password-spray counters; sprays in progress are counted afresh", func(t *tenant) error {
		if t.spray == nil {
			return nil
		}
		n, _, err := snapshot.Load(ctx, p.storageClient, sprayPrefixOf(t.name), snapshot.Gob[detection.SpraySource]{}, t.spray.RestoreSource)
		if err != nil {
			return err
		}
		p.logger.Info("Restored password-spray counters", t.logField(), zap.Int("sources", n))
		return nil
	})
}
