package emailcompromiseprocessor // import "github.com/otelsec/emailcompromise/processor/emailcompromiseprocessor"

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"strings"
	"time"

	"go.opentelemetry.io/collector/component"

	"github.com/otelsec/emailcompromise/processor/emailcompromiseprocessor/internal/detection"
	"github.com/otelsec/emailcompromise/processor/emailcompromiseprocessor/internal/sigma"
	"github.com/otelsec/emailcompromise/processor/emailcompromiseprocessor/internal/state"
)

// Output modes.
const (
	OutputAll            = "all"
	OutputDetectionsOnly = "detections_only"
)

// Config is the email_compromise processor's configuration. The top-level
// keys are the contract of docs/contract.md.
type Config struct {
	// PolicyConfig holds the organisation's policy keys, at the top level:
	// the single tenant's, and the default of records of no listed tenant.
	PolicyConfig `mapstructure:",squash"`
	// Tenants are per-tenant policies, for a collector that reads several
	// organisations' logs; per-user state is kept apart per tenant.
	Tenants []TenantConfig `mapstructure:"tenants"`
	// GeoIP locates client addresses for sources without coordinates.
	GeoIP GeoIPConfig `mapstructure:"geoip"`
	// Output is "all" (default) or "detections_only".
	Output string `mapstructure:"output"`
	// Storage is the id of a storage extension (e.g. file_storage) that keeps
	// the per-user state snapshot across restarts.
	Storage *component.ID `mapstructure:"storage"`
	// SuppressionPeriod: a rule that fires again for the same user within
	// this period tags the record but is not logged again.
	SuppressionPeriod time.Duration `mapstructure:"suppression_period"`
	// AllowedLateness is how far behind the newest event time seen for a
	// user a record may be and still be judged against the user's history.
	// Baselines are read as they stood this long before each record, so
	// that any arrival order within it finds the same detections. Later
	// records are judged alone by the rules that need no history.
	AllowedLateness time.Duration `mapstructure:"allowed_lateness"`
	// State bounds the in-memory per-user state.
	State StateConfig `mapstructure:"state"`
	// Detectors enables and tunes each built-in detector.
	Detectors DetectorsConfig `mapstructure:"detectors"`
	// Sigma loads Sigma detection, correlation and filter rules; with no
	// rules configured there is no Sigma detector.
	Sigma sigma.Config `mapstructure:"sigma"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// PolicyConfig is what an organisation tells the detectors about itself:
// its domains and networks, and who may do what.
type PolicyConfig struct {
	// OrganizationDomains are the organisation's mail domains (the tenant's
	// onmicrosoft.com domain listed too); they and their subdomains count as
	// internal.
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
}

// TenantConfig is one tenant's policy. A record belongs to it when its
// cloud.account.id (the Entra tenant id, the Google customer id) is ID, or
// its tenant.name attribute (written by audit_log for a configured tenant)
// is Name.
type TenantConfig struct {
	ID           string `mapstructure:"id"`
	Name         string `mapstructure:"name"`
	PolicyConfig `mapstructure:",squash"`
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
	// Warmup holds back a detection that needs history (travel, new
	// location, send baselines, new-address thread replies) while the
	// user's state reaches less than this far before its newest evidence,
	// measured from the earliest record held, whatever the order they came
	// in; a record bringing older history releases it. 0 (default) trusts
	// state at once; set it on scale-out replicas, which rebuild a user's
	// state when they take over its partition.
	Warmup time.Duration `mapstructure:"warmup"`
}

// GeoIPConfig names MaxMind-format databases (GeoLite2/GeoIP2 layouts).
type GeoIPConfig struct {
	CityDatabase string `mapstructure:"city_database"`
	ASNDatabase  string `mapstructure:"asn_database"`
}

// DetectorsConfig holds one block per built-in detector.
type DetectorsConfig struct {
	InboxRule         InboxRuleConfig        `mapstructure:"inbox_rule"`
	MailboxForwarding DetectorToggle         `mapstructure:"mailbox_forwarding"`
	IdPRisk           IdPRiskConfig          `mapstructure:"identity_provider_risk"`
	LegacyAuth        LegacyAuthConfig       `mapstructure:"legacy_authentication"`
	PasswordSpray     PasswordSprayConfig    `mapstructure:"password_spray"`
	BruteForce        BruteForceConfig       `mapstructure:"brute_force"`
	MFAFatigue        MFAFatigueConfig       `mapstructure:"mfa_fatigue"`
	Anonymizer        AnonymizerConfig       `mapstructure:"anonymizer"`
	NewLocation       NewLocationConfig      `mapstructure:"new_location"`
	ImpossibleTravel  ImpossibleTravelConfig `mapstructure:"impossible_travel"`
	TransportRule     DetectorToggle         `mapstructure:"transport_rule"`
	Delegation        DetectorToggle         `mapstructure:"delegation"`
	BulkSend          BulkSendConfig         `mapstructure:"bulk_send"`
	ThreadHijack      ThreadHijackConfig     `mapstructure:"thread_hijack"`
	SessionHijack     SessionHijackConfig    `mapstructure:"session_hijack"`
	DeviceCode        DetectorToggle         `mapstructure:"device_code"`
	Persistence       PersistenceConfig      `mapstructure:"persistence"`
	AccountLockout    AccountLockoutConfig   `mapstructure:"account_lockout"`
	MailCollection    MailCollectionConfig   `mapstructure:"mail_collection"`
	Chain             ChainConfig            `mapstructure:"chain"`
}

// SessionHijackConfig tunes the session-replay detector (its mobile
// carriers are impossible_travel.mobile_asns).
type SessionHijackConfig struct {
	Enabled bool `mapstructure:"enabled"`
	// Window: a use of the session from elsewhere within this long after
	// its interactive sign-in.
	Window time.Duration `mapstructure:"window"`
}

// PersistenceConfig tunes the persistence detector (MFA methods, devices,
// mail consents).
type PersistenceConfig struct {
	Enabled bool `mapstructure:"enabled"`
	// RiskWindow: a change within this long after a risky sign-in follows it.
	RiskWindow  time.Duration `mapstructure:"risk_window"`
	MinKnownIPs int           `mapstructure:"min_known_ips"`
}

// AccountLockoutConfig tunes the lockout detector.
type AccountLockoutConfig struct {
	Enabled     bool          `mapstructure:"enabled"`
	MinLockouts int           `mapstructure:"min_lockouts"`
	Window      time.Duration `mapstructure:"window"`
}

// MailCollectionConfig tunes the mail-collection detector.
type MailCollectionConfig struct {
	Enabled bool `mapstructure:"enabled"`
	// Factor over the daily baseline (mean + 2 deviations), Floor the
	// least items, for the items accessed from one new address in Window.
	Factor float64       `mapstructure:"factor"`
	Floor  int           `mapstructure:"floor"`
	Window time.Duration `mapstructure:"window"`
	// LearningHours: access history before the baseline is trusted.
	LearningHours int `mapstructure:"learning_hours"`
	// ConsentWindow: a sync by a new app within this long after a mail
	// consent uses it.
	ConsentWindow time.Duration `mapstructure:"consent_window"`
}

// BulkSendConfig tunes the per-mailbox send-rate detector.
type BulkSendConfig struct {
	Enabled bool `mapstructure:"enabled"`
	// Factor over the learned baseline (mean + 2 deviations) at this hour.
	Factor float64 `mapstructure:"factor"`
	// Floor: the absolute minimum sends in an hour (and the threshold of a
	// mailbox still learning).
	Floor int `mapstructure:"floor"`
	// LearningHours: hours observed before the baseline is trusted.
	LearningHours int `mapstructure:"learning_hours"`
}

// ThreadHijackConfig tunes the thread-hijack detector.
type ThreadHijackConfig struct {
	Enabled      bool          `mapstructure:"enabled"`
	RiskWindow   time.Duration `mapstructure:"risk_window"`
	DeleteWindow time.Duration `mapstructure:"delete_window"`
	MinKnownIPs  int           `mapstructure:"min_known_ips"`
}

// ChainConfig sets the per-user chain windows.
type ChainConfig struct {
	Enabled bool `mapstructure:"enabled"`
	// StageTwoWindow: mailbox manipulation within this long after the risky sign-in.
	StageTwoWindow time.Duration `mapstructure:"stage_two_window"`
	// Window: the whole chain within this long.
	Window time.Duration `mapstructure:"window"`
}

// IdPRiskConfig tunes the identity-provider risk passthrough.
type IdPRiskConfig struct {
	Enabled bool `mapstructure:"enabled"`
	// TrustedNetworkAction is "downgrade" (default) or "suppress".
	TrustedNetworkAction string `mapstructure:"trusted_network_action"`
}

// LegacyAuthConfig tunes the legacy-authentication detector.
type LegacyAuthConfig struct {
	Enabled bool `mapstructure:"enabled"`
	// ClientApps replaces the list of legacy clientAppUsed values.
	ClientApps []string `mapstructure:"client_apps"`
}

// PasswordSprayConfig tunes the password-spray detector (keyed by source address).
type PasswordSprayConfig struct {
	Enabled    bool          `mapstructure:"enabled"`
	MinUsers   int           `mapstructure:"min_users"`
	Window     time.Duration `mapstructure:"window"`
	MaxSources int           `mapstructure:"max_sources"`
}

// BruteForceConfig tunes the per-user brute-force detector.
type BruteForceConfig struct {
	Enabled     bool          `mapstructure:"enabled"`
	MinFailures int           `mapstructure:"min_failures"`
	Window      time.Duration `mapstructure:"window"`
}

// MFAFatigueConfig tunes the MFA-fatigue detector.
type MFAFatigueConfig struct {
	Enabled    bool          `mapstructure:"enabled"`
	MinPrompts int           `mapstructure:"min_prompts"`
	Window     time.Duration `mapstructure:"window"`
}

// AnonymizerConfig lists anonymizer networks and hosting ASNs.
type AnonymizerConfig struct {
	Enabled     bool     `mapstructure:"enabled"`
	Networks    []string `mapstructure:"networks"`
	HostingASNs []uint32 `mapstructure:"hosting_asns"`
}

// NewLocationConfig sets the learning period of new-country/new-ASN.
type NewLocationConfig struct {
	Enabled         bool          `mapstructure:"enabled"`
	LearningPeriod  time.Duration `mapstructure:"learning_period"`
	LearningSignIns int           `mapstructure:"learning_sign_ins"`
}

// ImpossibleTravelConfig tunes the impossible-travel detector.
type ImpossibleTravelConfig struct {
	Enabled         bool     `mapstructure:"enabled"`
	MaxSpeedKmh     float64  `mapstructure:"max_speed_kmh"`
	MinDistanceKm   float64  `mapstructure:"min_distance_km"`
	VPNASNs         []uint32 `mapstructure:"vpn_asns"`
	MobileASNs      []uint32 `mapstructure:"mobile_asns"`
	FamiliarSignIns int      `mapstructure:"familiar_sign_ins"`
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
	errs := cfg.PolicyConfig.validate("")
	errs = append(errs, cfg.validateTenants()...)
	errs = append(errs, cfg.Detectors.validate()...)
	for _, key := range []struct{ name, path string }{{"geoip.city_database", cfg.GeoIP.CityDatabase}, {"geoip.asn_database", cfg.GeoIP.ASNDatabase}} {
		if key.path == "" {
			continue
		}
		if _, err := os.Stat(key.path); err != nil {
			errs = append(errs, fmt.Errorf("%s: cannot read %q (%v); give the path of a MaxMind-format .mmdb file (GeoLite2-City / GeoLite2-ASN layout)", key.name, key.path, err))
		}
	}
	switch cfg.Output {
	case OutputAll, OutputDetectionsOnly:
	default:
		errs = append(errs, fmt.Errorf("output: %q is not a mode; use %q (pass every record) or %q (pass only tagged records)", cfg.Output, OutputAll, OutputDetectionsOnly))
	}
	if cfg.AllowedLateness < 0 {
		errs = append(errs, errors.New("allowed_lateness: must not be negative; e.g. 24h (the default), the longest delay between a user's records in your feeds"))
	}
	if cfg.SuppressionPeriod < 0 {
		errs = append(errs, errors.New("suppression_period: must not be negative; e.g. 1h (0 logs every detection)"))
	}
	if cfg.State.MaxUsers <= 0 {
		errs = append(errs, fmt.Errorf("state.max_users: must be positive (default 200000); it caps memory at roughly 1 KiB per user"))
	}
	if cfg.State.TTL <= 0 {
		errs = append(errs, fmt.Errorf("state.ttl: must be a positive duration such as 720h (the default, 30 days)"))
	}
	if cfg.State.Warmup < 0 {
		errs = append(errs, fmt.Errorf("state.warmup: must not be negative; e.g. 24h on scale-out replicas, 0 to disable"))
	}
	if cfg.State.SnapshotInterval <= 0 {
		errs = append(errs, fmt.Errorf("state.snapshot_interval: must be a positive duration such as 1m (the default)"))
	}
	if err := cfg.Sigma.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("sigma: %w", err))
	}
	return errors.Join(errs...)
}

func (d DetectorsConfig) validate() []error {
	var errs []error
	positive := func(key string, v int, example string) {
		if v <= 0 {
			errs = append(errs, fmt.Errorf("detectors.%s: must be positive; e.g. %s", key, example))
		}
	}
	positiveDuration := func(key string, v time.Duration, example string) {
		if v <= 0 {
			errs = append(errs, fmt.Errorf("detectors.%s: must be a positive duration; e.g. %s", key, example))
		}
	}
	switch d.IdPRisk.TrustedNetworkAction {
	case detection.TrustedNetworkDowngrade, detection.TrustedNetworkSuppress:
	default:
		errs = append(errs, fmt.Errorf("detectors.identity_provider_risk.trusted_network_action: %q is not an action; use %q or %q",
			d.IdPRisk.TrustedNetworkAction, detection.TrustedNetworkDowngrade, detection.TrustedNetworkSuppress))
	}
	positive("bulk_send.floor", d.BulkSend.Floor, "50")
	if h := d.BulkSend.LearningHours; h < 0 || h > state.BaselineHours {
		errs = append(errs, fmt.Errorf("detectors.bulk_send.learning_hours: %d is out of range; use 0 to %d (the hours of send counts kept), e.g. 72", h, state.BaselineHours))
	}
	if n := d.ThreadHijack.MinKnownIPs; n < 0 || n > state.MaxKnown {
		errs = append(errs, fmt.Errorf("detectors.thread_hijack.min_known_ips: %d is out of range; use 0 to %d (the networks kept per user), e.g. 3", n, state.MaxKnown))
	}
	if d.BulkSend.Factor < 1 {
		errs = append(errs, errors.New("detectors.bulk_send.factor: must be at least 1; e.g. 5 (five times the usual rate)"))
	}
	positiveDuration("session_hijack.window", d.SessionHijack.Window, "2h")
	positiveDuration("persistence.risk_window", d.Persistence.RiskWindow, "24h")
	if n := d.Persistence.MinKnownIPs; n < 0 || n > state.MaxKnown {
		errs = append(errs, fmt.Errorf("detectors.persistence.min_known_ips: %d is out of range; use 0 to %d (the networks kept per user), e.g. 3", n, state.MaxKnown))
	}
	positive("account_lockout.min_lockouts", d.AccountLockout.MinLockouts, "3")
	positiveDuration("account_lockout.window", d.AccountLockout.Window, "30m")
	if d.MailCollection.Factor < 1 {
		errs = append(errs, errors.New("detectors.mail_collection.factor: must be at least 1; e.g. 3 (three times the usual daily reading)"))
	}
	positive("mail_collection.floor", d.MailCollection.Floor, "200")
	positiveDuration("mail_collection.window", d.MailCollection.Window, "1h")
	positiveDuration("mail_collection.consent_window", d.MailCollection.ConsentWindow, "24h")
	if h := d.MailCollection.LearningHours; h < 0 || h > state.AccessDays*24 {
		errs = append(errs, fmt.Errorf("detectors.mail_collection.learning_hours: %d is out of range; use 0 to %d (the days of access counts kept), e.g. 72", h, state.AccessDays*24))
	}
	positiveDuration("thread_hijack.risk_window", d.ThreadHijack.RiskWindow, "24h")
	positiveDuration("thread_hijack.delete_window", d.ThreadHijack.DeleteWindow, "30m")
	positiveDuration("chain.stage_two_window", d.Chain.StageTwoWindow, "1h")
	positiveDuration("chain.window", d.Chain.Window, "24h")
	positive("password_spray.min_users", d.PasswordSpray.MinUsers, "10")
	positiveDuration("password_spray.window", d.PasswordSpray.Window, "30m")
	positive("password_spray.max_sources", d.PasswordSpray.MaxSources, "100000")
	positive("brute_force.min_failures", d.BruteForce.MinFailures, "10")
	positiveDuration("brute_force.window", d.BruteForce.Window, "30m")
	positive("mfa_fatigue.min_prompts", d.MFAFatigue.MinPrompts, "5")
	positiveDuration("mfa_fatigue.window", d.MFAFatigue.Window, "10m")
	positiveDuration("new_location.learning_period", d.NewLocation.LearningPeriod, "336h (14 days)")
	positive("new_location.learning_sign_ins", d.NewLocation.LearningSignIns, "10")
	if d.ImpossibleTravel.MaxSpeedKmh <= 0 {
		errs = append(errs, errors.New("detectors.impossible_travel.max_speed_kmh: must be positive; e.g. 900 (an airliner's cruise speed)"))
	}
	if n := d.ImpossibleTravel.FamiliarSignIns; n < 1 || n > state.MaxFamiliarSignIns {
		errs = append(errs, fmt.Errorf("detectors.impossible_travel.familiar_sign_ins: %d is out of range; use 1 to %d (default 3)", n, state.MaxFamiliarSignIns))
	}
	if n := d.NewLocation.LearningSignIns; n > state.MaxLearningSignIns {
		errs = append(errs, fmt.Errorf("detectors.new_location.learning_sign_ins: %d is too many; use at most %d (default 10)", n, state.MaxLearningSignIns))
	}
	if d.ImpossibleTravel.MinDistanceKm < 0 {
		errs = append(errs, errors.New("detectors.impossible_travel.min_distance_km: must not be negative; e.g. 500"))
	}
	for i, n := range d.Anonymizer.Networks {
		if _, err := parseNetwork(n); err != nil {
			errs = append(errs, fmt.Errorf("detectors.anonymizer.networks[%d]: %q is not a CIDR or IP address; write e.g. 185.220.100.0/22", i, n))
		}
	}
	return errs
}

// validate checks the policy keys; prefix is "" at the top level and
// "tenants[i]." in a tenant.
func (pc PolicyConfig) validate(prefix string) []error {
	var errs []error
	for i, d := range pc.OrganizationDomains {
		d = strings.TrimSpace(d)
		if d == "" || strings.ContainsAny(d, "@ /*") || !strings.Contains(d, ".") {
			errs = append(errs, fmt.Errorf("%sorganization_domains[%d]: %q is not a domain; write a bare domain such as contoso.com (subdomains are included automatically)", prefix, i, d))
		}
	}
	for i, n := range pc.TrustedNetworks {
		if _, err := parseNetwork(n); err != nil {
			errs = append(errs, fmt.Errorf("%strusted_networks[%d]: %q is not a CIDR or IP address; write e.g. 203.0.113.0/24 or 2001:db8::/32", prefix, i, n))
		}
	}
	for i, w := range pc.ChangeWindows {
		errs = append(errs, w.validate(fmt.Sprintf("%schange_windows[%d]", prefix, i))...)
	}
	return errs
}

// validateTenants checks that every tenant names itself, once, and its
// policy keys.
func (cfg *Config) validateTenants() []error {
	var errs []error
	seen := map[string]int{}
	for i, t := range cfg.Tenants {
		key := fmt.Sprintf("tenants[%d]", i)
		if t.ID == "" && t.Name == "" {
			errs = append(errs, fmt.Errorf("%s: give the tenant an id (its Entra tenant id or Google customer id, as in cloud.account.id) or a name (as audit_log's tenant name)", key))
		}
		for _, k := range []string{t.ID, t.Name} {
			if k == "" {
				continue
			}
			if j, dup := seen[k]; dup {
				errs = append(errs, fmt.Errorf("%s: %q is already tenants[%d]; each id and name may name one tenant", key, k, j))
			}
			seen[k] = i
		}
		errs = append(errs, t.PolicyConfig.validate(key+".")...)
	}
	return errs
}

func (w ChangeWindowConfig) validate(key string) []error {
	var errs []error
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

// parseNetworks converts validated CIDRs.
func parseNetworks(cidrs []string) []netip.Prefix {
	var out []netip.Prefix
	for _, n := range cidrs {
		if p, err := parseNetwork(n); err == nil {
			out = append(out, p)
		}
	}
	return out
}

// policyOptions converts the validated policy keys for the detectors.
func (pc PolicyConfig) policyOptions() detection.PolicyOptions {
	opts := detection.PolicyOptions{
		OrganizationDomains: pc.OrganizationDomains,
		Admins:              pc.Admins,
		AuthorizedSenders:   pc.AuthorizedSenders,
		AutomationApps:      pc.AutomationApps,
		ServiceAccounts:     pc.ServiceAccounts,
		SharedMailboxes:     pc.SharedMailboxes,
	}
	opts.TrustedNetworks = parseNetworks(pc.TrustedNetworks)
	for _, w := range pc.ChangeWindows {
		opts.ChangeWindows = append(opts.ChangeWindows, detection.ChangeWindow{Actors: w.Actors, Targets: w.Targets, Start: w.Start, End: w.End})
	}
	return opts
}
