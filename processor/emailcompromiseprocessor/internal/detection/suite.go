package detection

import (
	"cmp"
	"hash/fnv"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/otelsec/emailcompromise/processor/emailcompromiseprocessor/internal/state"
)

// SuiteOptions set what the suite needs beyond its detectors.
type SuiteOptions struct {
	// Lateness is allowed_lateness (see Event.Lateness).
	Lateness time.Duration
	// Retention is how far before the allowed lateness the longest pattern
	// reaches (a travel pair's physical horizon, the chain's window): state
	// older than newest - Lateness - Retention can pair with no record that
	// may still arrive, and is forgotten.
	Retention time.Duration
	// KeepSends is how long beyond the allowed lateness sends stay one by
	// one (the send-then-delete window) before they become hourly counts.
	KeepSends time.Duration
	// Warmup holds back a detection that needs history while the user's
	// history reaches less than this far before its newest evidence; it is
	// released on the record that brings older history.
	Warmup time.Duration
	// LearningSignIns and FamiliarSignIns size the baselines' sighting times.
	LearningSignIns int
	FamiliarSignIns int
	// OnHeldBack is told of each detection the warm-up holds back.
	OnHeldBack func(*Rule)
	// Policy tells the account changes administrators make inside change
	// windows (kept with the change, for detections completed later).
	Policy *Policy
}

// Suite judges one record with every detector, in four steps: it learns the
// record (the shared sign-in and send histories, then each detector's own
// state), runs the detectors in order, gives each finding its identity and
// decides whether it is news, and makes findings stages of a compromise so
// that the detectors after them (thread hijacking, the chain) see them.
// Learning first lets a record meet its event-time neighbours on both sides,
// whatever order they arrived in; identities let a detection found again
// by a later record be tagged once, on the record that completed it.
type Suite struct {
	detectors []Detector
	learners  []Learner
	// reads are the histories the detectors read.
	reads History
	opts  SuiteOptions
	// rules finds the rule of a held detection by id.
	rules map[string]*Rule
}

// NewSuite orders nothing: detectors run as given, so those whose findings
// are stages (sign-in, mailbox) must come before thread hijacking and the
// chain, which read stages.
func NewSuite(detectors []Detector, opts SuiteOptions) *Suite {
	s := &Suite{detectors: detectors, opts: opts, rules: map[string]*Rule{}}
	for _, d := range detectors {
		if l, ok := d.(Learner); ok {
			s.learners = append(s.learners, l)
		}
		if h, ok := d.(HistoryReader); ok {
			s.reads |= h.Reads()
		}
		for _, r := range d.Rules() {
			s.rules[r.ID] = r
		}
	}
	return s
}

// Detectors are the suite's detectors, in the order they run.
func (s *Suite) Detectors() []Detector { return s.detectors }

// Judge learns the record of ev and appends the findings to tag on it to
// out, which may already hold findings adopted from upstream tags. A record
// further behind its user's newest event time than the allowed lateness
// (or without event time) is judged alone, by the rules that need no
// history, and not learned, so that what was judged against history stays
// true; Event.Late says so.
func (s *Suite) Judge(ev *Event, out []Finding) []Finding {
	ev.Lateness = s.opts.Lateness
	ev.NewStages = ev.NewStages[:0]
	ev.owner = ev.User
	earlier := false
	if u := ev.User; u != nil {
		t := ev.Record.Time
		if ev.Late = t.IsZero() || (u.Newest != 0 && state.At(t) < u.Newest-state.Instant(s.opts.Lateness)); ev.Late {
			ev.User = nil
		} else {
			earlier = u.Earliest != 0 && state.At(t) < u.Earliest
			u.Learned(t)
		}
	}
	if earlier && ev.User.Found != nil && len(ev.User.Found.Held) > 0 {
		out = s.release(ev, out)
	}
	if ev.User != nil {
		if s.reads&HistorySignIns != 0 {
			learnSignIn(ev, s.opts)
		}
		if s.reads&HistorySends != 0 {
			learnSend(ev, s.opts)
		}
		if s.reads&HistoryAccountChanges != 0 {
			learnAccountChange(ev, s.opts)
		}
	}
	for _, l := range s.learners {
		l.Learn(ev)
	}
	out = s.settle(ev, out, 0)
	for _, d := range s.detectors {
		n := len(out)
		out = d.Detect(ev, out)
		out = s.settle(ev, out, n)
	}
	if u := ev.User; u != nil && u.Found != nil {
		cutoff := u.Newest - state.Instant(s.opts.Lateness+s.opts.Retention)
		f := u.Found
		f.Stages.Forget(cutoff)
		f.Emitted.Forget(cutoff)
		if len(f.Held) > 0 {
			f.Held = slices.DeleteFunc(f.Held, func(h state.Held) bool { return h.Latest() < cutoff })
		}
	}
	return out
}

// settle completes the findings out[from:]: their user and evidence, the
// warm-up, whether each is new, a repeat this record carries again, or one
// already tagged elsewhere (dropped), and the stages of the new ones.
func (s *Suite) settle(ev *Event, out []Finding, from int) []Finding {
	for i := from; i < len(out); {
		f := &out[i]
		if f.User == "" {
			f.User = ev.Record.User
		}
		if f.Evidence == nil {
			f.Evidence = []Evidence{{ID: ev.RecordID(), At: ev.Record.Time}}
		}
		sortEvidence(f)
		u := ev.owner
		if f.User != ev.Record.User {
			u = nil
			if ev.Users != nil {
				u = ev.Users(f.User)
			}
		}
		keep := true
		if f.Status != StatusUpstream {
			keep = !s.heldBack(f, u) && s.decide(ev, f, u)
		}
		if !keep {
			out = slices.Delete(out, i, i+1)
			continue
		}
		if u != nil && !ev.Late {
			s.addStages(ev, f, u)
		}
		i++
	}
	return out
}

// heldBack reports whether the warm-up holds a finding back, and keeps it
// to be released when older history arrives. The user's history must reach
// Warmup before the finding's newest evidence: a replica that just took a
// user over (scale-out) has rebuilt too little to judge against. Measured
// from the earliest record held, not the first one seen, the verdict does
// not depend on the order records arrive in.
func (s *Suite) heldBack(f *Finding, u *state.User) bool {
	if s.opts.Warmup <= 0 || !f.Rule.NeedsHistory || u == nil || !s.tooEarly(f.Evidence[len(f.Evidence)-1].At, u) {
		return false
	}
	// Copies: the user is the record's own string, a slice of its whole
	// body text, which the held detection would keep alive.
	held := state.Held{Rule: f.Rule.ID, Severity: uint8(f.Severity), Reason: strings.Clone(f.Reason), User: strings.Clone(f.User),
		Anchors: f.Anchors, Identity: Identity(f)}
	for _, e := range f.Evidence {
		held.Evidence = append(held.Evidence, state.HeldEvidence{ID: e.ID, At: state.At(e.At)})
	}
	u.FoundOf().Hold(held)
	if s.opts.OnHeldBack != nil {
		s.opts.OnHeldBack(f.Rule)
	}
	return true
}

func (s *Suite) tooEarly(latest time.Time, u *state.User) bool {
	return u.Earliest == 0 || state.At(latest)-u.Earliest < state.Instant(s.opts.Warmup)
}

// release appends the held detections the history, now reaching earlier,
// no longer holds back: completed late, by this record.
func (s *Suite) release(ev *Event, out []Finding) []Finding {
	found := ev.User.Found
	kept := found.Held[:0]
	for _, h := range found.Held {
		rule := s.rules[h.Rule]
		if rule == nil || s.tooEarly(h.Latest().Time(), ev.User) {
			kept = append(kept, h)
			continue
		}
		f := Finding{Rule: rule, Severity: Severity(h.Severity), Reason: h.Reason, User: h.User, Anchors: h.Anchors}
		for _, e := range h.Evidence {
			f.Evidence = append(f.Evidence, Evidence{ID: e.ID, At: e.At.Time()})
		}
		out = append(out, f)
	}
	found.Held = kept
	return out
}

// decide sets the finding's status from the user's emissions and reports
// whether the record carries it.
func (s *Suite) decide(ev *Event, f *Finding, u *state.User) bool {
	if u == nil {
		f.Status = StatusNew
		return true
	}
	identity := Identity(f)
	var carrier uint64
	if id := ev.RecordID(); !id.IsZero() {
		carrier = id.Hash()
	}
	emitted := &u.FoundOf().Emitted
	em := emitted.Find(identity)
	if em == nil {
		emitted.Add(state.Emission{Identity: identity, Carrier: carrier, At: state.At(f.Evidence[len(f.Evidence)-1].At)})
		f.Status = StatusNew
		f.Reason += completedLate(ev, f)
		return true
	}
	// The record that carried it, delivered again, carries it again: a
	// retried batch leaves the processor tagged as it was the first time.
	if carrier != 0 && em.Carrier == carrier {
		f.Status = StatusRepeat
		return true
	}
	return false
}

// addStages makes the finding's anchors stages of the user's compromise,
// and lists them as this record's new stages.
func (s *Suite) addStages(ev *Event, f *Finding, u *state.User) {
	kind := stageOf(f.Rule)
	if kind == 0 {
		return
	}
	anchors := f.Anchors
	if anchors == nil {
		anchors = []state.Stage{recordStage(ev)}
	}
	for _, st := range anchors {
		st.Kind, st.Rule, st.Reason = kind, f.Rule.ID, shorten(f.Reason, 300)
		// A repeat's stage is already kept; it is offered again so that the
		// detectors reading stages (the chain) find again, on this record
		// delivered again, what they found on it the first time.
		if u.FoundOf().Stages.Add(st) || (f.Status == StatusRepeat && !slices.ContainsFunc(ev.NewStages, func(n NewStage) bool {
			return n.State == u && n.Stage.ID == st.ID && n.Stage.Kind == st.Kind
		})) {
			ev.NewStages = append(ev.NewStages, NewStage{User: f.User, State: u, Stage: st})
		}
	}
}

// recordStage is the judged record as a stage anchor.
func recordStage(ev *Event) state.Stage {
	r := ev.Record
	return state.Stage{At: state.At(r.Time), ID: ev.RecordID(), IP: state.AddrOf(r.ClientIP), ASN: r.SignIn.ASN, Session: state.Hash32(r.SessionID)}
}

// Identity hashes what makes a detection the same detection whichever
// record carries it: rule, user and evidence (sorted).
func Identity(f *Finding) uint64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte(f.Rule.ID))
	_, _ = h.Write([]byte{0})
	_, _ = h.Write([]byte(f.User))
	for _, e := range f.Evidence {
		_, _ = h.Write([]byte{0})
		if e.ID.IsZero() {
			_, _ = h.Write(strconv.AppendInt(nil, e.At.UnixNano(), 10))
			continue
		}
		_, _ = h.Write([]byte(e.ID.String()))
	}
	return h.Sum64()
}

// sortEvidence orders the evidence by event time, then id, without
// duplicates, and caps it (keeping the latest records).
func sortEvidence(f *Finding) {
	slices.SortFunc(f.Evidence, func(a, b Evidence) int {
		if c := a.At.Compare(b.At); c != 0 {
			return c
		}
		return cmp.Compare(a.ID.String(), b.ID.String())
	})
	f.Evidence = slices.CompactFunc(f.Evidence, func(a, b Evidence) bool { return a.ID == b.ID && a.At.Equal(b.At) })
	if n := len(f.Evidence); n > MaxEvidence {
		f.Evidence = f.Evidence[n-MaxEvidence:]
	}
}

func hasEvidence(f *Finding, id state.RecordID) bool {
	if id.IsZero() {
		return false
	}
	return slices.ContainsFunc(f.Evidence, func(e Evidence) bool { return e.ID == id })
}

// completedLate says, for a detection completed by a record that is not
// its latest evidence, that it arrived late.
func completedLate(ev *Event, f *Finding) string {
	latest := f.Evidence[len(f.Evidence)-1].At
	switch r := ev.Record; {
	case !hasEvidence(f, ev.RecordID()):
		return " Completed late by " + r.Operation + " of " + stamp(r.Time) + ", which arrived after the records it completes."
	case r.Time.Before(latest):
		return " Completed late: this record of " + stamp(r.Time) + " arrived after the one of " + stamp(latest) + "."
	}
	return ""
}

func stamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }
