package emailcompromiseprocessor // import "github.com/otelsec/emailcompromise/processor/emailcompromiseprocessor"

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"go.opentelemetry.io/collector/component"

	"github.com/otelsec/emailcompromise/processor/emailcompromiseprocessor/internal/detection"
)

// Output modes.
const (
	OutputAll            = "all"
	OutputDetectionsOnly = "detections_only"
)

// Config is the email_compromise processor's configuration. The top-level
// keys are the contract of DESIGN.md.
type Config struct {
	// OrganizationDomains are the organisation's mail domains; their
	// subdomains and the tenant's onmicrosoft.com domain count as internal.
	OrganizationDomains []string `mapstructure:"organization_domains"`
	// TrustedNetworks are CIDRs of corporate egress and VPN.
	TrustedNetworks []string `mapstructure:"trusted_networks"`
	// Admins are administrator addresses (O365 UserType 2 and 3 also count).
	Admins []string `mapstructure:"admins"`
	// ChangeWindows announce mailbox changes by admins or automation.
	ChangeWindows []ChangeWindowConfig `mapstructure:"change_windows"`
	// AuthorizedSenders are addresses and app ids allowed to send in bulk.
	AuthorizedSenders []string `mapstructure:"authorized_senders"`
	// AutomationApps are app ids / service principals whose rule and
	// forwarding changes are expected.
	AutomationApps  []string `mapstructure:"automation_apps"`
	ServiceAccounts []string `mapstructure:"service_accounts"`
	SharedMailboxes []string `mapstructure:"shared_mailboxes"`
	// Output is "all" (default) or "detections_only".
	Output string `mapstructure:"output"`
	// Storage is the id of a storage extension (e.g. file_storage) that keeps
	// the per-user state snapshot across restarts.
	Storage *component.ID `mapstructure:"storage"`
	// State bounds the in-memory per-user state.
	State StateConfig `mapstructure:"state"`
	// Detectors enables and tunes each built-in detector.
	Detectors DetectorsConfig `mapstructure:"detectors"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// ChangeWindowConfig is one announced change window.
type ChangeWindowConfig struct {
	Actors  []string `mapstructure:"actors"`
	Targets []string `mapstructure:"targets"`
	// Start and End are RFC 3339 timestamps.
	Start time.Time `mapstructure:"start"`
	End   time.Time `mapstructure:"end"`
}

// StateConfig bounds per-user state.
type StateConfig struct {
	// MaxUsers caps the users held; the least recently seen are evicted.
	MaxUsers int `mapstructure:"max_users"`
	// TTL drops a user not seen for this long.
	TTL time.Duration `mapstructure:"ttl"`
	// SnapshotInterval is how often state is written to the storage extension
	// (it is also written at shutdown).
	SnapshotInterval time.Duration `mapstructure:"snapshot_interval"`
}

// DetectorsConfig holds one block per built-in detector.
type DetectorsConfig struct {
	InboxRule         InboxRuleConfig `mapstructure:"inbox_rule"`
	MailboxForwarding DetectorToggle  `mapstructure:"mailbox_forwarding"`
}

// DetectorToggle is the block of a detector without thresholds.
type DetectorToggle struct {
	Enabled bool `mapstructure:"enabled"`
}

// InboxRuleConfig tunes the inbox-rule detector.
type InboxRuleConfig struct {
	Enabled bool `mapstructure:"enabled"`
	// Keywords are rule-condition words that count as a hiding trait.
	Keywords []string `mapstructure:"keywords"`
	// HidingFolders are folders a rule buries mail in.
	HidingFolders []string `mapstructure:"hiding_folders"`
}

var _ component.Config = (*Config)(nil)

// Validate checks every key and says how to fix what is wrong.
func (cfg *Config) Validate() error {
	var errs []error
	for i, d := range cfg.OrganizationDomains {
		d = strings.TrimSpace(d)
		if d == "" || strings.ContainsAny(d, "@ /*") || !strings.Contains(d, ".") {
			errs = append(errs, fmt.Errorf("organization_domains[%d]: %q is not a domain; write a bare domain such as contoso.com (subdomains are included automatically)", i, d))
		}
	}
	for i, n := range cfg.TrustedNetworks {
		if _, err := parseNetwork(n); err != nil {
			errs = append(errs, fmt.Errorf("trusted_networks[%d]: %q is not a CIDR or IP address; write e.g. 203.0.113.0/24 or 2001:db8::/32", i, n))
		}
	}
	for i, w := range cfg.ChangeWindows {
		errs = append(errs, w.validate(i)...)
	}
	switch cfg.Output {
	case OutputAll, OutputDetectionsOnly:
	default:
		errs = append(errs, fmt.Errorf("output: %q is not a mode; use %q (pass every record) or %q (pass only tagged records)", cfg.Output, OutputAll, OutputDetectionsOnly))
	}
	if cfg.State.MaxUsers <= 0 {
		errs = append(errs, fmt.Errorf("state.max_users: must be positive (default 200000); it caps memory at roughly 1 KiB per user"))
	}
	if cfg.State.TTL <= 0 {
		errs = append(errs, fmt.Errorf("state.ttl: must be a positive duration such as 720h (the default, 30 days)"))
	}
	if cfg.State.SnapshotInterval <= 0 {
		errs = append(errs, fmt.Errorf("state.snapshot_interval: must be a positive duration such as 1m (the default)"))
	}
	return errors.Join(errs...)
}

func (w ChangeWindowConfig) validate(i int) []error {
	var errs []error
	key := fmt.Sprintf("change_windows[%d]", i)
	if len(w.Actors) == 0 {
		errs = append(errs, fmt.Errorf("%s.actors: list the admin addresses or automation app ids the window is for", key))
	}
	if len(w.Targets) == 0 {
		errs = append(errs, fmt.Errorf("%s.targets: list the mailboxes the window covers (\"*@contoso.com\" or \"*\" for all)", key))
	}
	switch {
	case w.Start.IsZero():
		errs = append(errs, fmt.Errorf("%s.start: required; write an RFC 3339 time such as 2026-11-27T18:00:00Z", key))
	case w.End.IsZero():
		errs = append(errs, fmt.Errorf("%s.end: required; write an RFC 3339 time such as 2026-11-28T06:00:00Z", key))
	case !w.End.After(w.Start):
		errs = append(errs, fmt.Errorf("%s.end: must be after start (%s)", key, w.Start.Format(time.RFC3339)))
	}
	return errs
}

// parseNetwork reads a CIDR, or a single address as its /32 or /128.
func parseNetwork(s string) (netip.Prefix, error) {
	s = strings.TrimSpace(s)
	if p, err := netip.ParsePrefix(s); err == nil {
		return p.Masked(), nil
	}
	ip, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	return netip.PrefixFrom(ip, ip.BitLen()), nil
}

// policyOptions converts the validated configuration for the detectors.
func (cfg *Config) policyOptions() detection.PolicyOptions {
	opts := detection.PolicyOptions{
		OrganizationDomains: cfg.OrganizationDomains,
		Admins:              cfg.Admins,
		AuthorizedSenders:   cfg.AuthorizedSenders,
		AutomationApps:      cfg.AutomationApps,
		ServiceAccounts:     cfg.ServiceAccounts,
		SharedMailboxes:     cfg.SharedMailboxes,
	}
	for _, n := range cfg.TrustedNetworks {
		if p, err := parseNetwork(n); err == nil {
			opts.TrustedNetworks = append(opts.TrustedNetworks, p)
		}
	}
	for _, w := range cfg.ChangeWindows {
		opts.ChangeWindows = append(opts.ChangeWindows, detection.ChangeWindow{Actors: w.Actors, Targets: w.Targets, Start: w.Start, End: w.End})
	}
	return opts
}
