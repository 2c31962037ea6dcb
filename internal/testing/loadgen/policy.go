package loadgen

import (
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
)

// ChangeWindow is an announced period of admin changes (the processor's
// change_windows entry).
type ChangeWindow struct {
	Actors, Targets []string
	Start, End      time.Time
}

// Policy is the organisation configuration the tenant's false-positive
// classes need; feed it to the email_compromise processor's top-level keys.
// Without it the benign traffic is not silent: the office egress and the
// VPN are what make the office sign-ins trusted, the scanner must be a
// service account, the newsletter an authorised sender, and so on.
type Policy struct {
	OrganizationDomains []string
	TrustedNetworks     []string
	Admins              []string
	ChangeWindows       []ChangeWindow
	AuthorizedSenders   []string
	ServiceAccounts     []string
	SharedMailboxes     []string
}

// Policy returns the tenant's organisation configuration.
func (g *Generator) Policy() Policy {
	return Policy{
		OrganizationDomains: []string{Domain, TenantDomain, GoogleDomain},
		TrustedNetworks:     []string{TrustedNetwork},
		Admins:              []string{Admin},
		ChangeWindows:       []ChangeWindow{g.change},
		AuthorizedSenders:   []string{BulkSender, marketingAppID},
		ServiceAccounts:     []string{ServiceAccount},
		SharedMailboxes:     []string{SharedMailbox},
	}
}

// ProcessorConfig renders the policy as the email_compromise processor's
// configuration keys (for a collector YAML file).
func (p Policy) ProcessorConfig() map[string]any {
	windows := make([]any, 0, len(p.ChangeWindows))
	for _, w := range p.ChangeWindows {
		windows = append(windows, map[string]any{
			"actors": w.Actors, "targets": w.Targets,
			"start": w.Start.Format(time.RFC3339), "end": w.End.Format(time.RFC3339),
		})
	}
	return map[string]any{
		"organization_domains": p.OrganizationDomains,
		"trusted_networks":     p.TrustedNetworks,
		"admins":               p.Admins,
		"change_windows":       windows,
		"authorized_senders":   p.AuthorizedSenders,
		"service_accounts":     p.ServiceAccounts,
		"shared_mailboxes":     p.SharedMailboxes,
	}
}

// ReadOnce is the baseline consumer of the processor benchmarks: it reads
// every attribute and every body value of every record exactly once and
// does nothing else. It walks the same way as readOnce in the processor's
// own benchmark_test.go, so that both benchmarks divide by the same work.
func ReadOnce(ld plog.Logs) int {
	n := 0
	var visit func(v pcommon.Value)
	visit = func(v pcommon.Value) {
		switch v.Type() {
		case pcommon.ValueTypeMap:
			v.Map().Range(func(k string, e pcommon.Value) bool { n += len(k); visit(e); return true })
		case pcommon.ValueTypeSlice:
			for i := 0; i < v.Slice().Len(); i++ {
				visit(v.Slice().At(i))
			}
		case pcommon.ValueTypeStr:
			n += len(v.Str())
		default:
			n++
		}
	}
	for i := 0; i < ld.ResourceLogs().Len(); i++ {
		sls := ld.ResourceLogs().At(i).ScopeLogs()
		for j := 0; j < sls.Len(); j++ {
			lrs := sls.At(j).LogRecords()
			for k := 0; k < lrs.Len(); k++ {
				lr := lrs.At(k)
				lr.Attributes().Range(func(k string, v pcommon.Value) bool { n += len(k); visit(v); return true })
				visit(lr.Body())
			}
		}
	}
	return n
}
