package emailcompromiseprocessor // import "github.com/otelsec/emailcompromise/processor/emailcompromiseprocessor"

import (
	"context"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"

	"github.com/otelsec/emailcompromise/internal/auditrecord"
	"github.com/otelsec/emailcompromise/processor/emailcompromiseprocessor/internal/detection"
	"github.com/otelsec/emailcompromise/processor/emailcompromiseprocessor/internal/metadata"
	"github.com/otelsec/emailcompromise/processor/emailcompromiseprocessor/internal/sigma"
)

// tenant is one organisation's policy with its own detectors (and so its
// own password-spray sources and Sigma correlation groups), and the prefix
// that keeps its users' state apart from another tenant's same address.
// The default tenant (top-level policy, records of no listed tenant) has
// no name and no prefix.
type tenant struct {
	name      string
	suite     *detection.Suite
	expirers  []expirer
	ruleAttrs map[*detection.Rule][]metric.AddOption
	// sigma holds the tenant's Sigma correlation state, snapshotted with the
	// users' (sigmastate.go); nil without Sigma rules.
	sigma *sigma.Engine
	// spray is the tenant's password-spray detector, whose per-address
	// counters are snapshotted with the users' (spraystate.go); nil when
	// the detector is off.
	spray *detection.PasswordSpray
}

// newTenant builds a tenant's suite from the shared configuration and the
// tenant's policy, with the metric attributes of each of its rules.
func newTenant(name string, cfg *Config, policy PolicyConfig, tb *metadata.TelemetryBuilder, logger *zap.Logger) (*tenant, error) {
	sigmaRules, engine, err := loadSigmaRules(cfg.Sigma, logger)
	if err != nil {
		return nil, err
	}
	t := &tenant{name: name, ruleAttrs: map[*detection.Rule][]metric.AddOption{}, sigma: engine}
	t.suite = buildSuite(cfg, policy, sigmaRules, func(r *detection.Rule) {
		tb.EmailCompromiseWarmupSuppressed.Add(context.Background(), 1, t.ruleAttrs[r]...)
	})
	for _, d := range t.suite.Detectors() {
		if spray, ok := d.(*detection.PasswordSpray); ok {
			t.spray = spray
		}
		if e, ok := d.(expirer); ok {
			t.expirers = append(t.expirers, e)
		}
		for _, r := range d.Rules() {
			attrs := []attribute.KeyValue{attribute.String("rule", r.ID), attribute.String("category", r.Category)}
			if name != "" {
				attrs = append(attrs, attribute.String("tenant", name))
			}
			t.ruleAttrs[r] = []metric.AddOption{metric.WithAttributeSet(attribute.NewSet(attrs...))}
		}
	}
	return t, nil
}

// logField names the tenant in a log line; nothing for the default.
func (t *tenant) logField() zap.Field {
	if t.name == "" {
		return zap.Skip()
	}
	return zap.String("tenant", t.name)
}

// userKey is the state key of a user of the tenant.
func (t *tenant) userKey(user string) string {
	if t.name == "" {
		return user
	}
	return t.name + "\x00" + user
}

// tenants finds the tenant of a record: by its cloud.account.id, else by
// its tenant.name attribute, on the record (as audit_log writes it) or on
// its resource (where scale-out's tier 1 moved it to partition by tenant and
// user), else the default.
type tenants struct {
	byKey    map[string]*tenant
	fallback *tenant
}

func (ts *tenants) of(rec *auditrecord.Record, attrs, resource pcommon.Map) *tenant {
	if len(ts.byKey) == 0 {
		return ts.fallback
	}
	if t, ok := ts.byKey[rec.TenantID]; ok && rec.TenantID != "" {
		return t
	}
	for _, m := range [...]pcommon.Map{attrs, resource} {
		if v, ok := m.Get(auditrecord.AttrTenantName); ok {
			if t, ok := ts.byKey[v.Str()]; ok {
				return t
			}
		}
	}
	return ts.fallback
}

// all lists every tenant, the default first.
func (ts *tenants) all() []*tenant {
	out := []*tenant{ts.fallback}
	for key, t := range ts.byKey {
		if key == t.name { // each tenant once, under its name
			out = append(out, t)
		}
	}
	return out
}

// newTenants builds the default tenant and one per configured tenant.
func newTenants(cfg *Config, tb *metadata.TelemetryBuilder, logger *zap.Logger) (*tenants, error) {
	fallback, err := newTenant("", cfg, cfg.PolicyConfig, tb, logger)
	if err != nil {
		return nil, err
	}
	ts := &tenants{byKey: map[string]*tenant{}, fallback: fallback}
	for _, tc := range cfg.Tenants {
		name := tc.Name
		if name == "" {
			name = tc.ID
		}
		t, err := newTenant(name, cfg, tc.PolicyConfig, tb, logger)
		if err != nil {
			return nil, err
		}
		ts.byKey[name] = t
		if tc.ID != "" {
			ts.byKey[tc.ID] = t
		}
	}
	return ts, nil
}

// forTenants runs f for every tenant, its part of a snapshot being written
// or read; a tenant whose part fails is counted and logged with failed, and
// the others go on.
func (p *emailCompromiseProcessor) forTenants(ctx context.Context, failed string, f func(t *tenant) error) {
	for _, t := range p.tenants.all() {
		if err := f(t); err != nil {
			p.telemetry.EmailCompromiseStateSnapshotErrors.Add(ctx, 1)
			p.logger.Warn(failed, t.logField(), zap.Error(err))
		}
	}
}
