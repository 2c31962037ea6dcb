package detection

import (
	"fmt"
	"slices"
	"time"

	"github.com/otelsec/emailcompromise/internal/auditrecord"
	"github.com/otelsec/emailcompromise/processor/emailcompromiseprocessor/internal/state"
)

var (
	RuleThreadReply = &Rule{
		ID:           CategoryThreadHijack + "/reply_from_risky_session",
		Category:     CategoryThreadHijack,
		Title:        "Reply or forward into an existing conversation from a new or risky session",
		Techniques:   []string{TechniqueEmailAccounts, "T1534", "T1566.002"},
		Reference:    "https://attack.mitre.org/techniques/T1534/",
		NeedsHistory: true,
	}
	RuleSentDeleted = &Rule{
		ID:         CategoryThreadHijack + "/sent_item_deleted",
		Category:   CategoryThreadHijack,
		Title:      "Sent message deleted from Sent Items minutes after it was sent",
		Techniques: []string{TechniqueEmailAccounts, "T1070.008"},
		Reference:  "https://attack.mitre.org/techniques/T1070/008/",
	}
)

// ThreadHijackOptions tune the thread-hijack detector.
type ThreadHijackOptions struct {
	// RiskWindow is how long after a risky sign-in a session counts as risky.
	RiskWindow time.Duration
	// DeleteWindow is how soon after sending a deletion counts as hiding it.
	DeleteWindow time.Duration
	// MinKnownIPs: with fewer learned sign-in addresses, a new address says
	// nothing (the user is still being learned).
	MinKnownIPs int
}

// legacyMailClients mark a mailbox session over a legacy protocol.
var legacyMailClients = []string{"client=pop3", "client=imap4", "client=airsync", "client=activesync"}

// ThreadHijack detects the use of a trusted mailbox in its own
// conversations: a reply or forward into a thread the mailbox recently had
// (a subject it sent or received), sent from a session that is new
// or risky for the user (an address never seen, a risky sign-in in the last
// hours, a legacy client); and a sent message deleted from Sent Items within
// minutes, which hides the reply from the owner. Invoice and payment themes
// raise severity. Source: the O365 mailbox audit (Send, SoftDelete,
// HardDelete, MoveToDeletedItems, MailItemsAccessed, Create).
type ThreadHijack struct {
	opts ThreadHijackOptions
}

func NewThreadHijack(opts ThreadHijackOptions) *ThreadHijack { return &ThreadHijack{opts: opts} }

func (d *ThreadHijack) Rules() []*Rule { return []*Rule{RuleThreadReply, RuleSentDeleted} }

func (d *ThreadHijack) Detect(ev *Event, out []Finding) []Finding {
	if ev.User == nil || ev.User.Mail == nil {
		return out
	}
	r := ev.Record
	switch {
	case sendOperation(r):
		return d.reply(ev, out)
	case deleteOperation(r):
		return d.sentDeleted(ev, out)
	}
	return out
}

func (d *ThreadHijack) reply(ev *Event, out []Finding) []Finding {
	r := ev.Record
	if len(r.Mail.Items) == 0 {
		return out
	}
	subject := r.Mail.Items[0].Subject
	if _, reply := stripReplyPrefixes(subject); !reply || !ev.User.Mail.Conversations.Has(conversationKey(subject)) {
		return out
	}
	why := d.riskySession(ev)
	if why == "" {
		return out
	}
	severity, theme := SeverityHigh, ""
	if w := paymentTheme(subject); w != "" {
		severity, theme = SeverityCritical, fmt.Sprintf(" about %q", w)
	}
	return append(out, Finding{
		Rule:     RuleThreadReply,
		Severity: severity,
		Reason:   fmt.Sprintf("%s replied into its existing conversation %q%s from a %s.", r.User, shorten(subject, 120), theme, why),
	})
}

// riskySession says what makes the session sending r new or risky, or "".
func (d *ThreadHijack) riskySession(ev *Event) string {
	r, u := ev.Record, ev.User
	if c := u.Chain; c != nil && !c.RiskAt.IsZero() && r.Time.Sub(c.RiskAt) >= 0 && r.Time.Sub(c.RiskAt) <= d.opts.RiskWindow {
		return fmt.Sprintf("session %s after a risky sign-in (%s)", r.Time.Sub(c.RiskAt).Round(time.Minute), c.RiskRule)
	}
	if slices.ContainsFunc(legacyMailClients, func(c string) bool { return containsFold(r.Mail.ClientInfo, c) }) {
		return "legacy client (" + r.Mail.ClientInfo + ")"
	}
	if ips := u.SignIns.IPs; r.ClientIP.IsValid() && len(ips) >= d.opts.MinKnownIPs && state.Count(ips, r.ClientIP) == 0 {
		return "new address " + r.ClientAddress + " never used to sign in"
	}
	return ""
}

func (d *ThreadHijack) sentDeleted(ev *Event, out []Finding) []Finding {
	r := ev.Record
	mail := ev.User.Mail
	for _, it := range r.Mail.Items {
		folder := it.Folder
		if folder == "" {
			folder = r.Mail.Folder
		}
		if !sentItemsFolder(folder) || it.InternetMessageID == "" {
			continue
		}
		id := stableHash(it.InternetMessageID)
		for _, s := range mail.RecentSent {
			if s.MessageID != id || r.Time.Before(s.At) || r.Time.Sub(s.At) > d.opts.DeleteWindow {
				continue
			}
			severity, theme := SeverityHigh, ""
			if w := paymentTheme(it.Subject); w != "" {
				severity, theme = SeverityCritical, fmt.Sprintf(" about %q", w)
			}
			return append(out, Finding{
				Rule:     RuleSentDeleted,
				Severity: severity,
				Reason: fmt.Sprintf("%s %s its sent message %q%s from %s %s after sending it.",
					r.Actor, r.Operation, shorten(it.Subject, 120), theme, folder, r.Time.Sub(s.At).Round(time.Second)),
			})
		}
	}
	return out
}

// Learn remembers the mailbox's conversations and sent items.
func (d *ThreadHijack) Learn(ev *Event) {
	r := ev.Record
	if ev.User == nil || r.Kind != auditrecord.KindMailItem || r.Source != auditrecord.SourceO365 {
		return
	}
	mail := mailHistory(ev.User)
	send := sendOperation(r)
	for _, it := range r.Mail.Items {
		if it.Subject != "" {
			mail.Conversations.Add(conversationKey(it.Subject), state.MaxConversations)
		}
		if send && it.InternetMessageID != "" {
			mail.RecentSent = d.pruneSent(mail.RecentSent, r.Time)
			if len(mail.RecentSent) == state.MaxRecentSent {
				mail.RecentSent = append(mail.RecentSent[:0], mail.RecentSent[1:]...)
			}
			mail.RecentSent = append(mail.RecentSent, state.SentItem{MessageID: stableHash(it.InternetMessageID), At: r.Time})
		}
	}
}

// pruneSent drops sent items too old to matter: a deletion after
// DeleteWindow is housekeeping, so keeping them would only cost memory.
func (d *ThreadHijack) pruneSent(sent []state.SentItem, now time.Time) []state.SentItem {
	kept := sent[:0]
	for _, s := range sent {
		if now.Sub(s.At) <= d.opts.DeleteWindow {
			kept = append(kept, s)
		}
	}
	return kept
}

// shorten cuts s for a reason (subjects can be 10,000 characters).
func shorten(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

func utf8RuneStart(b byte) bool { return b&0xC0 != 0x80 }
