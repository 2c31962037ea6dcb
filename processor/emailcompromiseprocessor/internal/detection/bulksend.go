package detection

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"time"

	"github.com/otelsec/emailcompromise/processor/emailcompromiseprocessor/internal/state"
)

// RuleBulkSend is BulkSend's detection: a mailbox sending far more in an
// hour than it usually does. It needs history (the baseline).
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
	// LearningHours: hours of sending history before the baseline is trusted.
	LearningHours int
}

// baselineDays is how many earlier days' same hour the baseline reads.
const baselineDays = 7

// BulkSend fires on every send that takes a clock hour's count past the
// mailbox's threshold: the send's rank in its hour (sends up to and
// including its second) exceeds max(Floor, Factor x (mean + 2 x mean
// absolute deviation)) of the same hour on the previous seven days, read
// only from hours that ended before the allowed lateness (whose counts no
// late record can change), with the highest of them left out so that one
// earlier burst does not raise the bar. A send arriving late raises the
// rank of the hour's later sends: those it takes past the threshold are
// tagged on it. Input: the O365 mailbox audit Send, SendAs and SendOnBehalf
// records (one per message). Authorised senders (by address or app id),
// service accounts and shared mailboxes never fire.
type BulkSend struct {
	policy *Policy
	opts   BulkSendOptions
}

// NewBulkSend returns the detector; p's authorised senders, service
// accounts and shared mailboxes never fire.
func NewBulkSend(p *Policy, opts BulkSendOptions) *BulkSend { return &BulkSend{policy: p, opts: opts} }

// Rules returns RuleBulkSend.
func (d *BulkSend) Rules() []*Rule { return []*Rule{RuleBulkSend} }

// Reads asks for the send history: the hour's sends and the hourly counts
// the baseline is read from.
func (d *BulkSend) Reads() History { return HistorySends }

// Detect fires on the send ev is when its rank in the hour passes the
// threshold and, when ev arrived late, on the hour's later sends it takes
// past it: medium, high when the recent sends repeat a few subjects (a
// campaign).
func (d *BulkSend) Detect(ev *Event, out []Finding) []Finding {
	r := ev.Record
	if ev.User == nil || !sendOperation(r) || d.policy.IsAuthorizedSender(r) ||
		d.policy.IsServiceAccount(r.User) || d.policy.IsSharedMailbox(r.User) || ev.User.Mail == nil {
		return out
	}
	mail := ev.User.Mail
	sends := mail.Sends
	at := state.At(r.Time)
	self := state.FindSend(sends, at, ev.RecordID())
	if self < 0 {
		return out
	}
	hour := hourOf(at)
	first := sort.Search(len(sends), func(i int) bool { return hourOf(sends[i].At) >= hour })
	end := sort.Search(len(sends), func(i int) bool { return hourOf(sends[i].At) > hour })
	if end-first <= d.opts.Floor {
		return out // the threshold is never below the floor
	}
	threshold, baseline := d.threshold(ev, mail, hour)
	// A send's rank counts the hour's sends up to and including its second,
	// so that sends of one second share a rank however they arrived; the
	// first rank past the threshold is k.
	k := int(math.Floor(threshold)) + 1
	group := func(i int) (from, to int) {
		from, to = i, i
		for from > first && sends[from-1].At == sends[i].At {
			from--
		}
		for to+1 < end && sends[to+1].At == sends[i].At {
			to++
		}
		return from, to
	}
	if from, to := group(self); to-first+1 >= k {
		for j := from; j <= to; j++ {
			out = append(out, d.finding(ev, mail, first, j, to-first+1, threshold, baseline))
		}
	}
	// Arriving late, this send raised the rank of the hour's later sends by
	// one: the group it took to rank k is newly past the threshold (those
	// beyond were tagged before).
	if idx := first + k - 1; idx < end && sends[idx].At > at {
		if from, to := group(idx); to == idx {
			for j := from; j <= to; j++ {
				out = append(out, d.finding(ev, mail, first, j, k, threshold, baseline))
			}
		}
	}
	return out
}

func (d *BulkSend) finding(ev *Event, mail *state.MailHistory, first, i, rank int, threshold, baseline float64) Finding {
	s := &mail.Sends[i]
	distinct, scanned := distinctSubjects(mail.Sends[max(first, i+1-subjectSample) : i+1])
	severity := SeverityMedium
	if float64(distinct) <= 0.2*float64(scanned) {
		severity = SeverityHigh // the same few messages over and over: a campaign
	}
	base := "no baseline yet"
	if baseline >= 0 {
		base = fmt.Sprintf("baseline %.1f/h at this hour", baseline)
	}
	hourStart := time.Unix(0, int64(hourOf(s.At))*int64(time.Hour)).UTC()
	return Finding{
		Rule:     RuleBulkSend,
		Severity: severity,
		Reason: fmt.Sprintf("%s sent %d messages between %s and %s (%s, threshold %.0f), %d distinct subjects in the last %d.",
			ev.Record.User, rank, hourStart.Format("15:04"), s.At.Time().Format(time.TimeOnly), base, threshold, distinct, scanned),
		Evidence: []Evidence{{ID: s.ID, At: s.At.Time()}},
		Anchors:  []state.Stage{{At: s.At, ID: s.ID}},
	}
}

// subjectSample is how many of the latest sends the distinct-subject ratio
// reads: enough to tell a campaign from a busy day, bounded for floods.
const subjectSample = 128

// distinctSubjects counts the distinct conversation keys among sends.
func distinctSubjects(sends []state.Send) (distinct, scanned int) {
	var keys [subjectSample]uint32
	for i := range sends {
		keys[i] = sends[i].Subject
	}
	sorted := keys[:len(sends)]
	slices.Sort(sorted)
	return len(slices.Compact(sorted)), len(sends)
}

// threshold is max(Floor, Factor x (mean + 2 x deviation)) of the same hour
// on the previous days; baseline is that mean, or -1 while still learning.
// Only hours that ended at least the allowed lateness before the hour's
// start count: their sends can no longer change.
func (d *BulkSend) threshold(ev *Event, mail *state.MailHistory, hour uint32) (threshold, baseline float64) {
	start := time.Unix(0, int64(hour)*int64(time.Hour))
	settled := start.Add(-ev.Lateness)
	floor := float64(d.opts.Floor)
	if mail.FirstSend == 0 || mail.FirstSend.Time().Add(time.Duration(d.opts.LearningHours)*time.Hour).After(settled) {
		return floor, -1
	}
	firstHour := hourOf(state.At(mail.FirstSend.Time()))
	var counts []float64
	for day := uint32(1); day <= baselineDays && day*24 <= hour; day++ {
		h := hour - day*24
		if h < firstHour || !hourEnd(h).Before(settled.Add(time.Nanosecond)) {
			continue
		}
		counts = append(counts, float64(sendsInHour(mail, h)))
	}
	if len(counts) == 0 {
		return floor, -1
	}
	return robustThreshold(counts, floor, d.opts.Factor)
}

func hourEnd(h uint32) time.Time { return time.Unix(0, int64(h+1)*int64(time.Hour)) }
