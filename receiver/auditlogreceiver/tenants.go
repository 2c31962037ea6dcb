package auditlogreceiver // import "github.com/otelsec/emailcompromise/receiver/auditlogreceiver"

import (
	"fmt"
	"regexp"

	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otelsec/emailcompromise/internal/auditrecord"
)

// TenantConfig is one organisation of the many a provider reads with one
// receiver: its own API blocks (the keys and defaults of the top-level
// ones), credentials and checkpoints. Every record of its blocks carries its
// name in tenant.name, by which the email_compromise processor applies the
// tenant's policy and keeps its users' state apart from another tenant's.
type TenantConfig struct {
	// Name is the tenant's tenant.name; it also keys its checkpoints, so
	// renaming a tenant starts its streams afresh.
	Name             string `mapstructure:"name"`
	APISourcesConfig `mapstructure:",squash"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// Unmarshal starts a tenant from the API blocks' defaults, as
// createDefaultConfig starts the top level: a list element would otherwise
// start from zero values, and a tenant's block would lack every default the
// same block has at the top level.
func (t *TenantConfig) Unmarshal(conf *confmap.Conf) error {
	t.APISourcesConfig = defaultAPISources()
	return conf.Unmarshal(t)
}

// tenantName is what a name may be: it is a metric attribute, a part of
// storage keys and a value other configurations (the processor's tenants,
// routing) match exactly, so it is kept to one plain spelling.
var tenantName = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)

const tenantNameRule = "use 1 to 63 lowercase letters, digits, _ and -, starting with a letter or digit, e.g. contoso"

// validateTenants checks that every tenant has a name of its own and at
// least one API block, and the keys of its blocks, each named with the
// tenant's index.
func (cfg *Config) validateTenants() []error {
	var errs []error
	names := make(map[string]int, len(cfg.Tenants))
	for i := range cfg.Tenants {
		t := &cfg.Tenants[i]
		key := fmt.Sprintf("tenants[%d]", i)
		switch j, dup := names[t.Name]; {
		case t.Name == "":
			errs = append(errs, fmt.Errorf("%s.name: required, the name written on the tenant's records as tenant.name, e.g. contoso", key))
		case !tenantName.MatchString(t.Name):
			errs = append(errs, fmt.Errorf("%s.name: %q is not a tenant name: %s", key, t.Name, tenantNameRule))
		case dup:
			errs = append(errs, fmt.Errorf("%s.name: %q is already the name of tenants[%d]; each tenant needs its own (it marks its records and keys its checkpoints)", key, t.Name, j))
		default:
			names[t.Name] = i
		}
		if !t.configured() {
			errs = append(errs, fmt.Errorf("%s: no API block; give the tenant at least one of o365_management_api, graph_signins, graph_risk_detections, google_workspace_reports", key))
		}
		errs = append(errs, t.validate(key+".")...)
	}
	return errs
}

// tenantMark is what the receiver writes on every record of a tenant's
// block: the tenant's name, and the tenant id configured for the block on
// records whose vendor record names none (Graph sign-ins and risk
// detections carry no tenant id; O365 and Google records carry their own,
// which is kept).
type tenantMark struct {
	name      string
	accountID string
}

// filesMark is the mark of the records read from files: files.tenant_name,
// when set; their vendor records name their own tenant or none.
func (f FilesConfig) filesMark() *tenantMark {
	if f.TenantName == "" {
		return nil
	}
	return &tenantMark{name: f.TenantName}
}

// apply marks every record of logs; a nil mark (the top-level blocks,
// files without tenant_name) leaves them as read.
func (m *tenantMark) apply(logs plog.Logs) {
	if m == nil {
		return
	}
	for i := 0; i < logs.ResourceLogs().Len(); i++ {
		scopes := logs.ResourceLogs().At(i).ScopeLogs()
		for j := 0; j < scopes.Len(); j++ {
			records := scopes.At(j).LogRecords()
			for k := 0; k < records.Len(); k++ {
				attrs := records.At(k).Attributes()
				attrs.PutStr(auditrecord.AttrTenantName, m.name)
				if _, ok := attrs.Get(auditrecord.AttrCloudAccount); !ok && m.accountID != "" {
					attrs.PutStr(auditrecord.AttrCloudAccount, m.accountID)
				}
			}
		}
	}
}
