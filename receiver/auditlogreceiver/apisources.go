package auditlogreceiver // import "github.com/otelsec/emailcompromise/receiver/auditlogreceiver"

import (
	"context"
	"fmt"
	"strings"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/extension/xextension/storage"
	"go.uber.org/zap"

	"github.com/otelsec/emailcompromise/receiver/auditlogreceiver/internal/metadata"
	"github.com/otelsec/emailcompromise/receiver/auditlogreceiver/internal/vendorapi"
)

// apiSource is a configured API source with the label of its metrics and,
// for a tenant's block, the mark of its records.
type apiSource struct {
	source *vendorapi.Source
	label  sourceLabel
	mark   *tenantMark
}

// apiBlock is one configured API block, ready to become a source.
type apiBlock struct {
	name string
	http *confighttp.ClientConfig
	// accountID is the directory id of a Microsoft block's credentials,
	// which a tenant's records that name no tenant get as
	// cloud.account.id; empty for Google, whose records name their
	// customer.
	accountID string
	build     func(context.Context, vendorapi.Env) (*vendorapi.Source, error)
}

// blocks lists the blocks that are set.
func (c *APISourcesConfig) blocks() []apiBlock {
	var blocks []apiBlock
	if b := c.O365.Get(); b != nil {
		blocks = append(blocks, apiBlock{sourceO365, &b.HTTP, directoryID(b.TenantID), func(ctx context.Context, env vendorapi.Env) (*vendorapi.Source, error) {
			return vendorapi.NewO365Source(ctx, b.settings(), env)
		}})
	}
	if b := c.Graph.Get(); b != nil {
		blocks = append(blocks, apiBlock{sourceGraph, &b.HTTP, directoryID(b.TenantID), func(ctx context.Context, env vendorapi.Env) (*vendorapi.Source, error) {
			return vendorapi.NewGraphSource(ctx, b.settings(), env)
		}})
	}
	if b := c.GraphRisk.Get(); b != nil {
		blocks = append(blocks, apiBlock{sourceGraphRisk, &b.HTTP, directoryID(b.TenantID), func(ctx context.Context, env vendorapi.Env) (*vendorapi.Source, error) {
			return vendorapi.NewGraphRiskSource(ctx, b.settings(), env)
		}})
	}
	if b := c.Google.Get(); b != nil {
		blocks = append(blocks, apiBlock{sourceGoogle, &b.HTTP, "", func(ctx context.Context, env vendorapi.Env) (*vendorapi.Source, error) {
			return vendorapi.NewGoogleSource(ctx, b.settings(), env)
		}})
	}
	return blocks
}

// directoryID is a tenant_id as Microsoft's records carry it, the
// directory's GUID in lowercase; a domain, which Graph accepts as tenant_id,
// is not what any record carries, and gives none.
func directoryID(tenantID string) string {
	if id := strings.TrimSpace(tenantID); guid.MatchString(id) {
		return strings.ToLower(id)
	}
	return ""
}

// apiSources sets up the configured API sources: the top level's, whose
// errors (an unreadable key file, bad TLS settings, a corrupt checkpoint)
// fail the start, then each tenant's, whose errors leave that source out,
// logged and counted, so that one tenant's broken settings never stop the
// others.
func (r *auditLogReceiver) apiSources(ctx context.Context, host component.Host, client storage.Client) ([]apiSource, error) {
	var sources []apiSource
	for _, b := range r.cfg.blocks() {
		label := sourceLabel{source: b.name}
		src, err := r.newAPISource(ctx, host, client, b, b.name, label, r.settings.Logger)
		if err != nil {
			return nil, err
		}
		sources = append(sources, apiSource{source: src, label: label})
	}
	for i, t := range r.cfg.Tenants {
		logger := r.settings.Logger.With(zap.String("tenant", t.Name))
		for _, b := range t.blocks() {
			label := sourceLabel{tenant: t.Name, source: b.name}
			src, err := r.newAPISource(ctx, host, client, b, fmt.Sprintf("tenants[%d].%s", i, b.name), label, logger)
			if err != nil {
				r.metrics(label).ReadError(ctx)
				logger.Error("cannot set up the tenant's API source; it is not read until the receiver starts again with its settings fixed, the other sources run",
					zap.String("source", b.name), zap.Error(err))
				continue
			}
			sources = append(sources, apiSource{source: src, label: label, mark: &tenantMark{name: t.Name, accountID: b.accountID}})
		}
	}
	return sources, nil
}

// newAPISource makes the source of block b, whose keys are under key in the
// configuration, with the HTTP client of its http settings (TLS, proxy,
// timeout; token requests use it too), logger, its own metrics and the
// storage client. A tenant's source keeps its checkpoints under the
// tenant's name.
func (r *auditLogReceiver) newAPISource(ctx context.Context, host component.Host, client storage.Client, b apiBlock, key string, label sourceLabel, logger *zap.Logger) (*vendorapi.Source, error) {
	hc, err := b.http.ToClient(ctx, host.GetExtensions(), r.settings.TelemetrySettings)
	if err != nil {
		return nil, fmt.Errorf("%s.http: %w", key, err)
	}
	return b.build(ctx, vendorapi.Env{
		Logger:       logger,
		Metrics:      r.metrics(label),
		HTTP:         hc,
		Storage:      client,
		ScopeName:    metadata.ScopeName,
		ScopeVersion: r.settings.BuildInfo.Version,
		ConfigKey:    key,
		Tenant:       label.tenant,
	})
}
