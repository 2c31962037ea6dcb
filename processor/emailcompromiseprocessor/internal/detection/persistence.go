package detection

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/otelsec/emailcompromise/internal/asciifold"
	"github.com/otelsec/emailcompromise/internal/auditrecord"
	"github.com/otelsec/emailcompromise/processor/emailcompromiseprocessor/internal/state"
)

var (
	// RuleSecurityInfo is an MFA method, 2-step verification or recovery
	// factor changed.
	RuleSecurityInfo = &Rule{
		ID:           CategoryPersistence + "/security_info_changed",
		Category:     CategoryPersistence,
		Title:        "MFA method, 2-step verification or recovery factor changed from an address that is not the user's, or after a risky sign-in",
		Techniques:   []string{TechniqueEmailAccounts, TechniqueMFAModify},
		Reference:    "https://attack.mitre.org/techniques/T1556/006/",
		NeedsHistory: true,
	}
	// RuleDeviceRegistered is a device registered to the account.
	RuleDeviceRegistered = &Rule{
		ID:           CategoryPersistence + "/device_registered",
		Category:     CategoryPersistence,
		Title:        "Device registered from an address that is not the user's, or after a risky sign-in",
		Techniques:   []string{TechniqueEmailAccounts, TechniqueDeviceRegistration},
		Reference:    "https://attack.mitre.org/techniques/T1098/005/",
		NeedsHistory: true,
	}
	// RuleMailAppConsent is an OAuth consent granting access to mail.
	RuleMailAppConsent = &Rule{
		ID:           CategoryPersistence + "/mail_app_consent",
		Category:     CategoryPersistence,
		Title:        "OAuth consent granting an application access to mail",
		Techniques:   []string{TechniqueEmailAccounts, TechniqueStealToken, "T1550.001"},
		Reference:    "https://attack.mitre.org/techniques/T1528/",
		NeedsHistory: true,
	}
)

// PersistenceOptions tune the persistence detector.
type PersistenceOptions struct {
	// RiskWindow is how long after a risky sign-in (any access stage) an
	// account change counts as following it.
	RiskWindow time.Duration
	// MinKnownIPs: with fewer networks learned, an unknown address says
	// little (the user is still being learned) and the finding stays low.
	MinKnownIPs int
}

// mailScopes are the delegated scopes that read, send or sync mail (Graph,
// Exchange Web Services, the legacy protocols, Gmail). offline_access only
// keeps whatever access was granted: named in the reason, not enough alone.
var mailScopes = asciifold.NewSet([]string{
	"Mail.Read", "Mail.ReadWrite", "Mail.Send", "Mail.ReadBasic", "Mail.Read.Shared", "Mail.ReadWrite.Shared",
	"Mail.Send.Shared", "MailboxSettings.ReadWrite", "EWS.AccessAsUser.All", "full_access_as_user",
	"IMAP.AccessAsUser.All", "POP.AccessAsUser.All", "SMTP.Send",
	"https://mail.google.com/", "https://www.googleapis.com/auth/gmail.readonly",
	"https://www.googleapis.com/auth/gmail.modify", "https://www.googleapis.com/auth/gmail.send",
	"https://www.googleapis.com/auth/gmail.settings.basic", "https://www.googleapis.com/auth/gmail.settings.sharing",
})

// Persistence detects what attackers do to keep a mailbox once in: register
// an MFA method (or turn 2-step verification off, change a recovery
// factor), register a device, consent an OAuth app to read or send mail.
// Each successful change fires when it comes from an address that is not
// the user's (not trusted, network and autonomous system unknown before the
// allowed lateness): low while the user's networks are still being learned,
// medium (a consent: high) once they are. Each risky sign-in within
// RiskWindow before the change makes a second detection, high (a consent:
// critical), with both records as evidence; a risky sign-in arriving after
// the change completes it late. Silent: a user registering a phone from a
// known address with no prior risk; consents without mail scopes;
// administrators and automation inside a change window.
type Persistence struct {
	policy *Policy
	opts   PersistenceOptions
}

// NewPersistence returns the persistence detector.
func NewPersistence(p *Policy, opts PersistenceOptions) *Persistence {
	return &Persistence{policy: p, opts: opts}
}

// Rules returns RuleSecurityInfo, RuleDeviceRegistered and RuleMailAppConsent.
func (d *Persistence) Rules() []*Rule {
	return []*Rule{RuleSecurityInfo, RuleDeviceRegistered, RuleMailAppConsent}
}

// Reads asks for the sign-in history (the user's networks) and the
// account changes.
func (d *Persistence) Reads() History { return HistorySignIns | HistoryAccountChanges }

// Detect judges the change this record is, and the changes a new access
// stage on this record precedes.
func (d *Persistence) Detect(ev *Event, out []Finding) []Finding {
	u := ev.User
	if u == nil || u.Account == nil || len(u.Account.Changes) == 0 {
		return out
	}
	changes := u.Account.Changes
	at := state.At(ev.Record.Time)
	if i := slices.IndexFunc(changes, func(c state.AccountChange) bool { return c.At == at && c.ID == ev.RecordID() }); i >= 0 {
		c := &changes[i]
		out = d.fromElsewhere(ev, c, out)
		if u.Found != nil {
			for j := range u.Found.Stages.List {
				if s := &u.Found.Stages.List[j]; s.Kind == state.StageAccess {
					out = d.afterRisk(ev, s, c, out)
				}
			}
		}
	}
	for _, ns := range ev.NewStages {
		if ns.Stage.Kind != state.StageAccess || ns.State != u {
			continue
		}
		for i := range changes {
			out = d.afterRisk(ev, &ns.Stage, &changes[i], out)
		}
	}
	return out
}

// fromElsewhere fires on a change from an address that is not the user's.
func (d *Persistence) fromElsewhere(ev *Event, c *state.AccountChange, out []Finding) []Finding {
	if c.Expected || !c.IP.IsValid() || d.policy.IsTrustedNetwork(c.IP.IP()) {
		return out
	}
	if !newAddress(ev, c.IP, c.ASN, c.At) {
		return out
	}
	h := &ev.User.SignIns
	settled := (c.At - state.Instant(ev.Lateness)).Sec()
	rule, severity := persistenceRule(c)
	why := "an address the user had not signed in from"
	if len(h.KindBefore(state.KnownNetwork, settled)) < d.opts.MinKnownIPs {
		why = "an address not yet among the user's known networks (little history)"
		severity--
	}
	return append(out, Finding{
		Rule:     rule,
		Severity: severity,
		Reason:   fmt.Sprintf("%s: %s at %s from %s.", ev.Record.User, c.What, stamp(c.At.Time()), why+" "+c.IP.String()),
		Evidence: []Evidence{{ID: c.ID, At: c.At.Time()}},
		Anchors:  []state.Stage{{At: c.At, ID: c.ID, IP: c.IP}},
	})
}

// afterRisk fires when the change followed a risky sign-in within the
// risk window.
func (d *Persistence) afterRisk(ev *Event, access *state.Stage, c *state.AccountChange, out []Finding) []Finding {
	if c.Expected || c.At < access.At || c.At-access.At > state.Instant(d.opts.RiskWindow) || access.ID == c.ID {
		return out
	}
	rule, severity := persistenceRule(c)
	from := ""
	if c.IP.IsValid() {
		from = " from " + c.IP.String()
	}
	return append(out, Finding{
		Rule:     rule,
		Severity: severity + 1,
		Reason: fmt.Sprintf("%s: %s at %s%s, %s after a risky sign-in (%s: %s).", ev.Record.User, c.What, stamp(c.At.Time()),
			from, c.At.Time().Sub(access.At.Time()).Round(time.Minute), access.Rule, strings.TrimSuffix(access.Reason, ".")),
		Evidence: []Evidence{{ID: access.ID, At: access.At.Time()}, {ID: c.ID, At: c.At.Time()}},
		Anchors:  []state.Stage{{At: c.At, ID: c.ID, IP: c.IP}},
	})
}

// persistenceRule is a change's rule and its severity from an unknown
// address.
func persistenceRule(c *state.AccountChange) (*Rule, Severity) {
	switch auditrecord.ChangeKind(c.Kind) {
	case auditrecord.ChangeConsent:
		return RuleMailAppConsent, SeverityHigh
	case auditrecord.ChangeDevice:
		return RuleDeviceRegistered, SeverityMedium
	}
	return RuleSecurityInfo, SeverityMedium
}

// learnAccountChange keeps the user's recent account changes (consents only
// with mail scopes), which a late risky sign-in or a mailbox sync can still
// reveal as the attacker's.
func learnAccountChange(ev *Event, opts SuiteOptions) {
	r, u := ev.Record, ev.User
	if u == nil || r.Kind != auditrecord.KindAccountChange || r.Result == auditrecord.ResultFailure {
		return
	}
	c, ok := r.AccountChange()
	if !ok {
		return
	}
	hasMail := slices.ContainsFunc(c.Scopes, mailScopes.Has)
	if c.Kind == auditrecord.ChangeConsent && !hasMail {
		return
	}
	what := c.What
	if c.Kind == auditrecord.ChangeConsent {
		app := c.App
		if app == "" {
			app = "an application"
		}
		what = fmt.Sprintf("consent to %s for %s", app, strings.Join(c.Scopes, " "))
		if c.AdminConsent {
			what = "admin " + what
		}
	}
	acct := u.AccountOf()
	acct.Forget(u.Newest - state.Instant(ev.Lateness+opts.Retention))
	acct.AddChange(state.AccountChange{
		At: state.At(r.Time), ID: ev.RecordID(), Kind: uint8(c.Kind), MailScopes: hasMail,
		Expected: opts.Policy != nil && opts.Policy.ClassifyChange(r).Expected, ASN: r.SignIn.ASN, IP: state.AddrOf(r.ClientIP), What: state.TextOf(shorten(what, 300)),
	})
}
