package detection

import (
	"fmt"
	"slices"
	"time"

	"github.com/otelsec/emailcompromise/internal/asciifold"
	"github.com/otelsec/emailcompromise/internal/auditrecord"
	"github.com/otelsec/emailcompromise/processor/emailcompromiseprocessor/internal/state"
)

// ThreadHijack's detections.
var (
	// RuleThreadReply is a reply or forward into one of the mailbox's
	// conversations from the attacker's session. It needs history (the
	// conversation, the user's networks).
	RuleThreadReply = &Rule{
		ID:           CategoryThreadHijack + "/reply_from_risky_session",
		Category:     CategoryThreadHijack,
		Title:        "Reply or forward into an existing conversation from a new or risky session",
		Techniques:   []string{TechniqueEmailAccounts, "T1534", "T1566.002"},
		Reference:    "https://attack.mitre.org/techniques/T1534/",
		NeedsHistory: true,
	}
	// RuleSentDeleted is a sent message deleted soon after it was sent,
	// which hides it from the owner.
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
	// RiskWindow is how long after a risky sign-in its session counts as risky.
	RiskWindow time.Duration
	// DeleteWindow is how soon after sending a deletion counts as hiding it.
	DeleteWindow time.Duration
	// MinKnownIPs: with fewer networks learned, a new address says nothing
	// (the user is still being learned).
	MinKnownIPs int
}

// legacyMailClients mark a mailbox session over a legacy protocol.
var legacyMailClients = []string{"client=pop3", "client=imap4", "client=airsync", "client=activesync"}

// ThreadHijack detects the use of a trusted mailbox in its own
// conversations: a reply or forward into a thread the mailbox had before
// (a subject it sent or received earlier), sent from a session that is the
// attacker's: tied to a risky sign-in within RiskWindow before it (the same
// address, the same autonomous system or the same session id), over a
// legacy client, or from an address and network never used to sign in
// before the allowed lateness. And a sent message deleted from Sent Items
// within minutes, which hides the reply from the owner. Invoice and payment
// themes raise severity. A risky sign-in, a conversation's earlier message
// or a send that arrives after the reply or the deletion completes the
// detection late. Source: the O365 mailbox audit (Send, SoftDelete,
// HardDelete, MoveToDeletedItems, MailItemsAccessed, Create).
type ThreadHijack struct {
	opts ThreadHijackOptions
	// keys are the conversation keys of the record's items, computed once
	// by Learn for Detect (the suite calls both for each record).
	keys []uint32
}

// NewThreadHijack returns the detector; it must run after the detectors
// whose findings are access stages (risky sign-ins), which it reads.
func NewThreadHijack(opts ThreadHijackOptions) *ThreadHijack { return &ThreadHijack{opts: opts} }

// Rules returns RuleThreadReply and RuleSentDeleted.
func (d *ThreadHijack) Rules() []*Rule { return []*Rule{RuleThreadReply, RuleSentDeleted} }

// Reads asks for both histories: the sign-ins that tell a new address, and
// the sends a deletion is paired with.
func (d *ThreadHijack) Reads() History { return HistorySignIns | HistorySends }

// Learn remembers the mailbox's conversations, its replies and its
// deletions of sent mail (sends themselves are in the shared send history).
func (d *ThreadHijack) Learn(ev *Event) {
	r, u := ev.Record, ev.User
	if u == nil || r.Kind != auditrecord.KindMailItem || r.Source != auditrecord.SourceO365 {
		return
	}
	mail := u.MailOf()
	mail.Forget(u.Newest - state.Instant(ev.Lateness+d.opts.DeleteWindow))
	at := state.SecOf(r.Time)
	d.keys = d.keys[:0]
	for _, it := range r.Mail.Items {
		var key uint32
		if it.Subject != "" {
			key = conversation32(it.Subject)
			mail.Conversations = state.Sight(mail.Conversations, key, at, state.MaxConversations)
		}
		d.keys = append(d.keys, key)
	}
	switch {
	case sendOperation(r) && len(r.Mail.Items) > 0:
		subject := r.Mail.Items[0].Subject
		if _, reply := stripReplyPrefixes(subject); reply {
			mail.AddReply(state.Reply{
				At: state.At(r.Time), ID: ev.RecordID(), Conversation: d.keys[0],
				IP: state.AddrOf(r.ClientIP), ASN: r.SignIn.ASN, Session: state.Hash32(r.SessionID),
				LegacyClient: state.TextOf(legacyClient(r)), Subject: shorten(subject, 120),
			})
		}
	case deleteOperation(r):
		for _, it := range r.Mail.Items {
			folder := itemFolder(r, &it)
			if !sentItemsFolder(folder) || it.InternetMessageID == "" {
				continue
			}
			mail.AddSentDelete(state.SentDelete{At: state.At(r.Time), ID: ev.RecordID(), Message: messageHash(it.InternetMessageID),
				Operation: state.TextOf(r.Operation), Folder: state.TextOf(shorten(folder, maxKeptName)), Subject: shorten(it.Subject, 120)})
		}
	}
}

// Detect fires on the replies ev makes a hijack (its own reply, replies
// into a conversation whose earlier message it is, replies in the risk
// window after a risky sign-in found on it) and on the send-then-delete
// pairs ev is one end of: high, critical on a payment theme.
func (d *ThreadHijack) Detect(ev *Event, out []Finding) []Finding {
	u := ev.User
	if u == nil || u.Mail == nil {
		return out
	}
	r, mail := ev.Record, u.Mail
	at := state.At(r.Time)
	if r.Kind == auditrecord.KindMailItem && r.Source == auditrecord.SourceO365 {
		for i := range mail.Replies {
			reply := &mail.Replies[i]
			self := reply.At == at && reply.ID == ev.RecordID()
			// This record's own reply; or replies into a conversation
			// whose earlier message this record is.
			if self || (reply.At > at && slices.Contains(d.keys, reply.Conversation) && reply.Conversation != 0) {
				out = d.judgeReply(ev, reply, nil, out)
			}
		}
		out = d.sentDeleted(ev, out)
	}
	for _, ns := range ev.NewStages {
		if ns.Stage.Kind != state.StageAccess || ns.State != u {
			continue
		}
		for i := range mail.Replies {
			if reply := &mail.Replies[i]; reply.At >= ns.Stage.At && reply.At-ns.Stage.At <= state.Instant(d.opts.RiskWindow) {
				out = d.judgeReply(ev, reply, &ns.Stage, out)
			}
		}
	}
	return out
}

// judgeReply fires when a reply went into a conversation the mailbox had
// before it, from the attacker's session: tied to the access stage only
// (when given), or to any way in (legacy client, new network, each risky
// sign-in of the window).
func (d *ThreadHijack) judgeReply(ev *Event, reply *state.Reply, only *state.Stage, out []Finding) []Finding {
	mail := ev.User.Mail
	if !state.KnownBefore(mail.Conversations, reply.Conversation, reply.At.Sec()) {
		return out
	}
	if only == nil {
		if client := reply.LegacyClient.String(); client != "" {
			out = append(out, d.replyFinding(ev, reply, "legacy client ("+client+")", nil))
		}
		if why := d.newAddress(ev, reply); why != "" {
			out = append(out, d.replyFinding(ev, reply, why, nil))
		}
	}
	if u := ev.User; u.Found != nil {
		for i := range u.Found.Stages.List {
			x := &u.Found.Stages.List[i]
			if x.Kind != state.StageAccess || (only != nil && x.ID != only.ID) ||
				reply.At < x.At || reply.At-x.At > state.Instant(d.opts.RiskWindow) {
				continue
			}
			if tie := sessionTie(x, reply); tie != "" {
				why := fmt.Sprintf("session %s after a risky sign-in at %s (%s), %s", reply.At.Time().Sub(x.At.Time()).Round(time.Minute),
					stamp(x.At.Time()), x.Rule, tie)
				out = append(out, d.replyFinding(ev, reply, why, x))
			}
		}
	}
	return out
}

// newAddress says why the reply's address is new to the user, or "": it
// and its network (its autonomous system where known, else its /24 or /48)
// were never used to sign in before the allowed lateness, and enough
// networks were learned by then to say so.
func (d *ThreadHijack) newAddress(ev *Event, reply *state.Reply) string {
	if !reply.IP.IsValid() {
		return ""
	}
	h := &ev.User.SignIns
	settled := (reply.At - state.Instant(ev.Lateness)).Sec()
	if len(h.KindBefore(state.KnownNetwork, settled)) < d.opts.MinKnownIPs || h.KnownBefore(state.NetworkKnown(reply.IP.IP()), settled) {
		return ""
	}
	if reply.ASN != 0 && h.KnownBefore(state.ASNKnown(reply.ASN), settled) {
		return ""
	}
	return "new address " + reply.IP.String() + " never used to sign in"
}

// sessionTie says what ties a reply to a risky sign-in's session, or "".
func sessionTie(x *state.Stage, reply *state.Reply) string {
	switch {
	case x.IP.IsValid() && x.IP == reply.IP:
		return "the same address " + reply.IP.String()
	case x.ASN != 0 && x.ASN == reply.ASN:
		return fmt.Sprintf("the same network AS%d", reply.ASN)
	case x.Session != 0 && x.Session == reply.Session:
		return "the same session"
	}
	return ""
}

func (d *ThreadHijack) replyFinding(ev *Event, reply *state.Reply, why string, access *state.Stage) Finding {
	severity, theme := SeverityHigh, ""
	subject := reply.Subject
	if w := paymentTheme(subject); w != "" {
		severity, theme = SeverityCritical, fmt.Sprintf(" about %q", w)
	}
	evidence := []Evidence{{ID: reply.ID, At: reply.At.Time()}}
	if access != nil {
		evidence = append(evidence, Evidence{ID: access.ID, At: access.At.Time()})
	}
	return Finding{
		Rule:     RuleThreadReply,
		Severity: severity,
		Reason: fmt.Sprintf("%s replied at %s into its existing conversation %q%s from a %s.",
			ev.Record.User, stamp(reply.At.Time()), subject, theme, why),
		Evidence: evidence,
		Anchors:  []state.Stage{{At: reply.At, ID: reply.ID, IP: reply.IP, ASN: reply.ASN, Session: reply.Session}},
	}
}

// sentDeleted pairs sends and deletions of the same message within the
// delete window, whichever of the two this record is.
func (d *ThreadHijack) sentDeleted(ev *Event, out []Finding) []Finding {
	r, mail := ev.Record, ev.User.Mail
	at := state.At(r.Time)
	window := state.Instant(d.opts.DeleteWindow)
	for i := range mail.SentDeletes {
		del := &mail.SentDeletes[i]
		deleting := del.At == at && del.ID == ev.RecordID()
		for j := range mail.Sends {
			s := &mail.Sends[j]
			sending := s.At == at && s.ID == ev.RecordID()
			if (!deleting && !sending) || s.Message != del.Message || del.At < s.At || del.At-s.At > window {
				continue
			}
			severity, theme := SeverityHigh, ""
			subject := del.Subject
			if w := paymentTheme(subject); w != "" {
				severity, theme = SeverityCritical, fmt.Sprintf(" about %q", w)
			}
			out = append(out, Finding{
				Rule:     RuleSentDeleted,
				Severity: severity,
				Reason: fmt.Sprintf("%s: %s of its sent message %q%s from %s at %s, %s after sending it.",
					r.User, del.Operation, subject, theme, del.Folder, stamp(del.At.Time()), del.At.Time().Sub(s.At.Time()).Round(time.Second)),
				Evidence: []Evidence{{ID: s.ID, At: s.At.Time()}, {ID: del.ID, At: del.At.Time()}},
				Anchors:  []state.Stage{{At: del.At, ID: del.ID}},
			})
		}
	}
	return out
}

// legacyClient returns the client string of a legacy protocol, or "".
func legacyClient(r *auditrecord.Record) string {
	if slices.ContainsFunc(legacyMailClients, func(c string) bool { return asciifold.ContainsLower(r.Mail.ClientInfo, c) }) {
		return shorten(r.Mail.ClientInfo, 80)
	}
	return ""
}

// itemFolder is where an affected item was: its own folder, else the record's.
func itemFolder(r *auditrecord.Record, it *auditrecord.MailItem) string {
	if it.Folder != "" {
		return it.Folder
	}
	return r.Mail.Folder
}

// maxKeptName bounds a place or folder name a user's state keeps for the
// reasons it writes: the record's own can be of any length.
const maxKeptName = 120

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
