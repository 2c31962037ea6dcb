package detection

import (
	"fmt"
	"math"
	"time"

	"github.com/otelsec/emailcompromise/processor/emailcompromiseprocessor/internal/state"
)

var RuleBulkSend = &Rule{
	ID:           CategoryBulkSend + "/send_rate_anomaly",
	Category:     CategoryBulkSend,
	Title:        "Mailbox sends far more than its learned baseline",
	Techniques:   []string{TechniqueEmailAccounts, "T1534", "T1566"},
	Reference:    "https://attack.mitre.org/techniques/T1534/",
	NeedsHistory: true,
}

// BulkSendOptions tune the bulk-send detector.
type BulkSendOptions struct {
	// Factor: the hour's sends must exceed Factor times the baseline.
	Factor float64
	// Floor: and at least Floor sends (the threshold of a mailbox without
	// a baseline).
	Floor int
	// LearningHours: closed hours folded in before the baseline is trusted.
	LearningHours int
}

// ewmaAlpha weights a new hour against the learned mean of that hour of day:
// about the last two weeks count.
const ewmaAlpha = 0.15

// BulkSend keeps a per-mailbox baseline of sends per hour (an exponentially
// weighted mean and deviation per hour of day, so a mailbox that sends its
// newsletter at 9:00 has a 9:00 baseline) and fires when the current hour
// exceeds it by a factor and an absolute floor. From that moment every
// further send of the hour is tagged. Input: the O365 mailbox audit Send,
// SendAs and SendOnBehalf records (one per message). Authorised senders (by
// address or app id), service accounts and shared mailboxes never fire.
// Anomalous hours are not learned, so a burst does not raise its own bar.
type BulkSend struct {
	policy *Policy
	opts   BulkSendOptions
}

func NewBulkSend(p *Policy, opts BulkSendOptions) *BulkSend { return &BulkSend{policy: p, opts: opts} }

func (d *BulkSend) Rules() []*Rule { return []*Rule{RuleBulkSend} }

func (d *BulkSend) Detect(ev *Event, out []Finding) []Finding {
	r := ev.Record
	if ev.User == nil || !sendOperation(r) || d.policy.IsAuthorizedSender(r) ||
		d.policy.IsServiceAccount(r.User) || d.policy.IsSharedMailbox(r.User) {
		return out
	}
	mail := mailHistory(ev.User)
	b := &mail.Sends
	d.roll(b, r.Time)
	if r.Time.Before(b.WindowStart) {
		return out // a late record of a closed hour: counted nowhere
	}
	b.Count++
	if len(r.Mail.Items) > 0 && len(b.Subjects) < state.MaxWindowSubjects {
		k := conversationKey(r.Mail.Items[0].Subject)
		if !containsHash(b.Subjects, k) {
			b.Subjects = append(b.Subjects, k)
		}
	}
	threshold, baseline := d.threshold(b, r.Time)
	if float64(b.Count) <= threshold {
		return out
	}
	if b.AnomalousSince.IsZero() {
		b.AnomalousSince = r.Time
	}
	severity := SeverityMedium
	distinct := fmt.Sprintf("%d distinct subjects", len(b.Subjects))
	if len(b.Subjects) >= state.MaxWindowSubjects {
		distinct = fmt.Sprintf("at least %d distinct subjects", len(b.Subjects))
	} else if float64(len(b.Subjects)) <= 0.2*float64(b.Count) {
		severity = SeverityHigh // the same few messages over and over: a campaign
	}
	base := "no baseline yet"
	if baseline >= 0 {
		base = fmt.Sprintf("baseline %.1f/h at this hour", baseline)
	}
	return append(out, Finding{
		Rule:     RuleBulkSend,
		Severity: severity,
		Reason: fmt.Sprintf("%s has sent %d messages since %s (%s, threshold %.0f), %s, anomalous since %s.",
			r.User, b.Count, b.WindowStart.Format("15:04"), base, threshold, distinct, b.AnomalousSince.Format(time.TimeOnly)),
	})
}

// threshold is max(Floor, Factor x (mean + 2 x deviation)) for the hour of
// day of t; baseline is that mean, or -1 while still learning.
func (d *BulkSend) threshold(b *state.SendBaseline, t time.Time) (threshold, baseline float64) {
	if b.LearnedHours < uint32(d.opts.LearningHours) {
		return float64(d.opts.Floor), -1
	}
	h := t.UTC().Hour()
	mean, dev := float64(b.Mean[h]), float64(b.Dev[h])
	return math.Max(float64(d.opts.Floor), d.opts.Factor*(mean+2*dev)), mean
}

// roll closes the window when t is in a later hour, folding the closed hour
// (unless anomalous) and the silent hours since into the baseline.
func (d *BulkSend) roll(b *state.SendBaseline, t time.Time) {
	hour := t.UTC().Truncate(time.Hour)
	if !hour.After(b.WindowStart) {
		return
	}
	if !b.WindowStart.IsZero() {
		if b.AnomalousSince.IsZero() {
			learn(b, b.WindowStart.Hour(), float64(b.Count))
		}
		// Hours without a send are learned as zero, at most one day of them.
		for h, n := b.WindowStart.Add(time.Hour), 0; h.Before(hour) && n < 24; h, n = h.Add(time.Hour), n+1 {
			learn(b, h.Hour(), 0)
		}
	}
	b.WindowStart, b.Count, b.Subjects, b.AnomalousSince = hour, 0, b.Subjects[:0], time.Time{}
}

func learn(b *state.SendBaseline, hour int, count float64) {
	b.LearnedHours++
	if b.Seen[hour] < 255 {
		b.Seen[hour]++
	}
	if b.Seen[hour] == 1 {
		b.Mean[hour], b.Dev[hour] = float32(count), 0
		return
	}
	mean := float64(b.Mean[hour])
	dev := float64(b.Dev[hour])
	dev = ewmaAlpha*math.Abs(count-mean) + (1-ewmaAlpha)*dev
	mean = ewmaAlpha*count + (1-ewmaAlpha)*mean
	b.Mean[hour], b.Dev[hour] = float32(mean), float32(dev)
}

func containsHash(list []uint64, v uint64) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// mailHistory returns the user's mailbox history, creating it on first use.
func mailHistory(u *state.User) *state.MailHistory {
	if u.Mail == nil {
		u.Mail = &state.MailHistory{}
	}
	return u.Mail
}
