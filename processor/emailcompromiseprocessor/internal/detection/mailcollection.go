package detection

import (
	"fmt"
	"slices"
	"time"

	"github.com/otelsec/emailcompromise/internal/asciifold"
	"github.com/otelsec/emailcompromise/internal/auditrecord"
	"github.com/otelsec/emailcompromise/processor/emailcompromiseprocessor/internal/state"
)

var (
	// RuleMailCollection is a mailbox read or synced far above its baseline
	// from an address new to the user.
	RuleMailCollection = &Rule{
		ID:           CategoryMailCollection + "/mail_items_accessed",
		Category:     CategoryMailCollection,
		Title:        "Mailbox read or synced far above its daily baseline from an address new to the user",
		Techniques:   []string{TechniqueEmailAccounts, TechniqueRemoteEmail},
		Reference:    "https://learn.microsoft.com/purview/audit-log-investigate-accounts#mailitemsaccessed",
		NeedsHistory: true,
	}
	// RuleSyncByNewApp is a sync by an application new to the mailbox after a
	// mail consent.
	RuleSyncByNewApp = &Rule{
		ID:           CategoryMailCollection + "/sync_by_new_app",
		Category:     CategoryMailCollection,
		Title:        "Mailbox synced by an application new to it, after a consent granted access to mail",
		Techniques:   []string{TechniqueEmailAccounts, TechniqueRemoteEmail, TechniqueStealToken},
		Reference:    "https://attack.mitre.org/techniques/T1114/002/",
		NeedsHistory: true,
	}
)

// MailCollectionOptions tune the mail-collection detector.
type MailCollectionOptions struct {
	// Factor and Floor: the items accessed from one new address within
	// Window must reach max(Floor, Factor x (mean + 2 x deviation)) of the
	// mailbox's daily counts on the previous days.
	Factor float64
	Floor  int
	Window time.Duration
	// LearningHours: access history needed before the baseline is trusted;
	// until then the bar is Factor x Floor.
	LearningHours int
	// ConsentWindow is how long after a mail consent a sync by a new app
	// counts as using it.
	ConsentWindow time.Duration
}

// MailCollection detects a mailbox being harvested, from the O365
// MailItemsAccessed audit (Bind: items opened; Sync: folders downloaded by
// a client). Each access from an address new to the user (not trusted,
// network and autonomous system unknown before the allowed lateness) fires
// when the items accessed from that network within Window up to it reach
// the threshold, computed from the mailbox's daily totals on the previous
// seven days that ended before the allowed lateness (the highest left out).
// A Sync by an application the mailbox had not seen before the allowed
// lateness, within ConsentWindow after a consent that granted mail scopes,
// fires as well (evidence: the consent and the sync). Silent: Outlook's
// first sync on a new laptop from the user's known address; the daily
// reading of the user's own clients. An access arriving late completes the
// counts of the later ones from its network. While a user has no network
// learned before the allowed lateness (a fresh deployment's first day),
// every address is new: then only accesses that reach Floor alone count.
type MailCollection struct {
	policy *Policy
	opts   MailCollectionOptions
}

// NewMailCollection returns the mail-collection detector.
func NewMailCollection(p *Policy, opts MailCollectionOptions) *MailCollection {
	return &MailCollection{policy: p, opts: opts}
}

// Rules returns RuleMailCollection and RuleSyncByNewApp.
func (d *MailCollection) Rules() []*Rule { return []*Rule{RuleMailCollection, RuleSyncByNewApp} }

// Reads asks for the sign-in history (the user's networks and mail apps)
// and the account changes (mail consents).
func (d *MailCollection) Reads() History { return HistorySignIns | HistoryAccountChanges }

// mailAccess reports whether r is a MailItemsAccessed record with a count.
func mailAccess(r *auditrecord.Record) bool {
	return r.Kind == auditrecord.KindMailItem && r.Mail.Accessed > 0 && asciifold.Equal(r.Operation, "MailItemsAccessed")
}

// Learn counts the access into the mailbox's daily totals, learns its
// client application, and keeps it one by one when it came from a new
// address (or synced through a new application).
func (d *MailCollection) Learn(ev *Event) {
	r, u := ev.Record, ev.User
	if u == nil || !mailAccess(r) {
		return
	}
	at := state.At(r.Time)
	acct := u.AccountOf()
	id := state.HashString(r.ID)
	if !acct.CountAccess(state.MailAccess{At: at.Sec(), ID: uint32(id ^ id>>32), Count: uint32(r.Mail.Accessed)}, (u.Newest - state.Instant(ev.Lateness)).Sec()) {
		return // delivered again
	}
	app := state.Hash32(r.AppID)
	if app != 0 {
		u.SignIns.Sight(state.AppKnown(app), at.Sec())
	}
	if !r.ClientIP.IsValid() || d.policy.IsTrustedNetwork(r.ClientIP) {
		return
	}
	sync := asciifold.Equal(r.Mail.AccessType, "Sync")
	if !newAddress(ev, state.AddrOf(r.ClientIP), r.SignIn.ASN, at) && !(sync && d.newApp(ev, app, at)) {
		return
	}
	// A user with no network learned before the allowed lateness has every
	// address new: only accesses that reach the floor alone are kept, so a
	// fresh deployment's first day does not keep every mailbox's reading.
	// Whether one was is final when it arrives (nothing before the allowed
	// lateness can still be learned), so the verdict does not depend on
	// arrival order.
	if !u.SignIns.AnyBefore(state.KnownNetwork, (at-state.Instant(ev.Lateness)).Sec()) && r.Mail.Accessed < d.opts.Floor && !sync {
		return
	}
	acct.Forget(u.Newest - state.Instant(ev.Lateness+max(d.opts.Window, d.opts.ConsentWindow)))
	acct.AddSource(state.SourceAccess{At: at, ID: ev.RecordID(), Network: state.NetworkOf(r.ClientIP), ASN: r.SignIn.ASN,
		Count: uint32(r.Mail.Accessed), Sync: sync, App: app, IP: state.AddrOf(r.ClientIP)})
}

// newApp reports whether the mailbox had not seen the application before
// the allowed lateness.
func (d *MailCollection) newApp(ev *Event, app uint32, at state.Instant) bool {
	settled := (at - state.Instant(ev.Lateness)).Sec()
	return app != 0 && !ev.User.SignIns.KnownBefore(state.AppKnown(app), settled)
}

// Detect judges a kept access and the later ones from its network, and
// pairs syncs by new apps with mail consents, whichever arrives last; each
// fires high.
func (d *MailCollection) Detect(ev *Event, out []Finding) []Finding {
	u := ev.User
	if u == nil || u.Account == nil {
		return out
	}
	acct := u.Account
	at := state.At(ev.Record.Time)
	if mailAccess(ev.Record) {
		if i := slices.IndexFunc(acct.Sources, func(s state.SourceAccess) bool { return s.At == at && s.ID == ev.RecordID() }); i >= 0 {
			this := acct.Sources[i]
			// This access, and the later ones from its network whose
			// count it may complete.
			for j := range acct.Sources {
				if s := &acct.Sources[j]; s.Network == this.Network && s.At >= at && s.At-at < state.Instant(d.opts.Window) {
					out = d.volume(ev, s, out)
				}
			}
			if this.Sync {
				for j := range acct.Changes {
					out = d.syncAfterConsent(ev, &acct.Changes[j], &this, out)
				}
			}
		}
	}
	if i := slices.IndexFunc(acct.Changes, func(c state.AccountChange) bool { return c.At == at && c.ID == ev.RecordID() }); i >= 0 {
		for j := range acct.Sources {
			out = d.syncAfterConsent(ev, &acct.Changes[i], &acct.Sources[j], out)
		}
	}
	return out
}

// volume fires when the items accessed from s's network within the window
// up to s reach the mailbox's threshold.
func (d *MailCollection) volume(ev *Event, s *state.SourceAccess, out []Finding) []Finding {
	acct := ev.User.Account
	if !newAddress(ev, s.IP, s.ASN, s.At) {
		return out // a source kept for its new app only
	}
	var total uint32
	for i := range acct.Sources {
		x := &acct.Sources[i]
		if x.Network == s.Network && x.At <= s.At && s.At-x.At < state.Instant(d.opts.Window) {
			total += x.Count
		}
	}
	threshold, baseline := d.threshold(ev, s.At)
	if float64(total) < threshold {
		return out
	}
	base := "no baseline yet"
	if baseline >= 0 {
		base = fmt.Sprintf("%.0f a day before", baseline)
	}
	return append(out, Finding{
		Rule:     RuleMailCollection,
		Severity: SeverityHigh,
		Reason: fmt.Sprintf("%s's mailbox: %d items accessed from %s within %s up to %s, an address the user had not signed in from (threshold %.0f; %s).",
			ev.Record.User, total, s.IP, d.opts.Window, stamp(s.At.Time()), threshold, base),
		Evidence: []Evidence{{ID: s.ID, At: s.At.Time()}},
		Anchors:  []state.Stage{{At: s.At, ID: s.ID, IP: s.IP, ASN: s.ASN}},
	})
}

// threshold is the bar for the items accessed from one new address, and the
// daily baseline's mean (-1 while learning).
func (d *MailCollection) threshold(ev *Event, at state.Instant) (threshold, baseline float64) {
	acct := ev.User.Account
	floor := float64(d.opts.Floor)
	settled := at - state.Instant(ev.Lateness)
	if acct.FirstAccess == 0 || acct.FirstAccess.Time().Add(time.Duration(d.opts.LearningHours)*time.Hour).After(settled.Time()) {
		return d.opts.Factor * floor, -1
	}
	first, today := state.DayOf(state.At(acct.FirstAccess.Time())), state.DayOf(at)
	var counts []float64
	for back := uint32(1); back <= baselineDays && back <= today; back++ {
		day := today - back
		// Only whole days before the record, ended before the allowed
		// lateness: their totals can no longer change.
		if day < first || state.Instant(int64(day+1)*int64(24*time.Hour)) > settled {
			continue
		}
		counts = append(counts, float64(acct.DayTotal(day)))
	}
	if len(counts) == 0 {
		return d.opts.Factor * floor, -1
	}
	return robustThreshold(counts, floor, d.opts.Factor)
}

// syncAfterConsent fires on a sync by an application new to the mailbox
// within the consent window after a consent that granted mail scopes.
func (d *MailCollection) syncAfterConsent(ev *Event, c *state.AccountChange, s *state.SourceAccess, out []Finding) []Finding {
	if !c.MailScopes || !s.Sync || s.At < c.At || s.At-c.At > state.Instant(d.opts.ConsentWindow) || !d.newApp(ev, s.App, s.At) {
		return out
	}
	return append(out, Finding{
		Rule:     RuleSyncByNewApp,
		Severity: SeverityHigh,
		Reason: fmt.Sprintf("%s's mailbox was synced (%s) at %s from %s by an application it had not seen, %s after %s.",
			ev.Record.User, countOf(int(s.Count), "folder"), stamp(s.At.Time()), s.IP, s.At.Time().Sub(c.At.Time()).Round(time.Minute), c.What),
		Evidence: []Evidence{{ID: c.ID, At: c.At.Time()}, {ID: s.ID, At: s.At.Time()}},
		Anchors:  []state.Stage{{At: s.At, ID: s.ID, IP: s.IP, ASN: s.ASN}},
	})
}

// countOf writes n things, singular or plural ("1 folder", "12 folders").
func countOf(n int, thing string) string {
	if n == 1 {
		return "1 " + thing
	}
	return fmt.Sprintf("%d %ss", n, thing)
}
