package auditlogreceiver // import "github.com/otelsec/emailcompromise/receiver/auditlogreceiver"

import (
	"context"
	"fmt"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/extension/xextension/storage"

	"github.com/otelsec/emailcompromise/receiver/auditlogreceiver/internal/metadata"
	"github.com/otelsec/emailcompromise/receiver/auditlogreceiver/internal/vendorapi"
)

// apiSources sets up the configured API sources; an error (an unreadable
// key file, bad TLS settings, a corrupt checkpoint) fails the start.
func (r *auditLogReceiver) apiSources(ctx context.Context, host component.Host, client storage.Client) ([]*vendorapi.Source, error) {
	var sources []*vendorapi.Source
	add := func(name string, httpCfg *confighttp.ClientConfig, build func(vendorapi.Env) (*vendorapi.Source, error)) error {
		env, err := r.apiEnv(ctx, host, client, name, httpCfg)
		if err != nil {
			return err
		}
		src, err := build(env)
		if err != nil {
			return err
		}
		sources = append(sources, src)
		return nil
	}
	if c := r.cfg.O365.Get(); c != nil {
		if err := add(sourceO365, &c.HTTP, func(env vendorapi.Env) (*vendorapi.Source, error) {
			return vendorapi.NewO365Source(ctx, c.settings(), env)
		}); err != nil {
			return nil, err
		}
	}
	if c := r.cfg.Graph.Get(); c != nil {
		if err := add(sourceGraph, &c.HTTP, func(env vendorapi.Env) (*vendorapi.Source, error) {
			return vendorapi.NewGraphSource(ctx, c.settings(), env)
		}); err != nil {
			return nil, err
		}
	}
	if c := r.cfg.GraphRisk.Get(); c != nil {
		if err := add(sourceGraphRisk, &c.HTTP, func(env vendorapi.Env) (*vendorapi.Source, error) {
			return vendorapi.NewGraphRiskSource(ctx, c.settings(), env)
		}); err != nil {
			return nil, err
		}
	}
	if c := r.cfg.Google.Get(); c != nil {
		if err := add(sourceGoogle, &c.HTTP, func(env vendorapi.Env) (*vendorapi.Source, error) {
			return vendorapi.NewGoogleSource(ctx, c.settings(), env)
		}); err != nil {
			return nil, err
		}
	}
	return sources, nil
}

// apiEnv is what the API source name runs with: the HTTP client of its http
// settings (TLS, proxy, timeout; token requests use it too), the receiver's
// logger, its own metrics and the storage client.
func (r *auditLogReceiver) apiEnv(ctx context.Context, host component.Host, client storage.Client, name string, httpCfg *confighttp.ClientConfig) (vendorapi.Env, error) {
	hc, err := httpCfg.ToClient(ctx, host.GetExtensions(), r.settings.TelemetrySettings)
	if err != nil {
		return vendorapi.Env{}, fmt.Errorf("%s.http: %w", name, err)
	}
	return vendorapi.Env{
		Logger:       r.settings.Logger,
		Metrics:      r.metrics(name),
		HTTP:         hc,
		Storage:      client,
		ScopeName:    metadata.ScopeName,
		ScopeVersion: r.settings.BuildInfo.Version,
	}, nil
}
