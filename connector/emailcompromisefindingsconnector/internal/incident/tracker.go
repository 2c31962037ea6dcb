package incident

import (
	"math"
	"slices"
	"time"
)

// MaxMembers caps the record ids a finding remembers to recognise a record
// delivered again; records beyond it are counted without that check.
const MaxMembers = 10_000

// maxStages, maxTechniques, maxChains cap the small sets of a finding.
const (
	maxStages     = 256
	maxTechniques = 32
	maxChains     = 8
)

// Options set how records group into findings.
type Options struct {
	// QuietPeriod: records of one user and rule at most this far apart in
	// event time belong to one incident.
	QuietPeriod time.Duration
	// Lateness: a record may arrive up to this far behind the newest event
	// time seen; a finding closes when that newest time, less Lateness, is
	// past its last record by more than QuietPeriod, because no record
	// that could still join it is expected.
	Lateness time.Duration
	// Retention: how long past its last record (in event time) a closed
	// finding is remembered, so that a very late or re-delivered record
	// updates it instead of opening another. Records older than this
	// behind the newest event time are ignored.
	Retention time.Duration
	// MaxEvidence caps the records a finding lists as evidence.
	MaxEvidence int
	// MaxFindings caps the findings held.
	MaxFindings int
	// Opens lists the severities that open a finding.
	Opens [SeverityCritical + 1]bool
}

// Result says what became of an observation.
type Result uint8

const (
	Joined Result = iota
	// Duplicate: the record had joined its finding before.
	Duplicate
	// Expired: older than Retention behind the newest event time.
	Expired
)

// key names the findings of one user: a rule, and for a chain its id.
type key struct{ rule, group string }

// Tracker holds the findings. It is not safe for concurrent use.
type Tracker struct {
	opts Options
	// byUser lists each user's findings of each rule in event-time order,
	// more than QuietPeriod apart from each other.
	byUser map[string]map[key][]*Finding
	n      int
	// watermark is the newest event time seen (Unix ns).
	watermark int64
	dirty     []*Finding
	retired   []*Finding
	open      map[*Finding]struct{}
	chains    map[*Finding]struct{}
	evicted   int
}

// New returns an empty tracker.
func New(opts Options) *Tracker {
	return &Tracker{opts: opts, byUser: map[string]map[key][]*Finding{}, open: map[*Finding]struct{}{}, chains: map[*Finding]struct{}{}}
}

// Len is the number of findings held.
func (t *Tracker) Len() int { return t.n }

// Watermark is the newest event time seen.
func (t *Tracker) Watermark() int64 { return t.watermark }

// Evicted counts findings dropped because MaxFindings was reached.
func (t *Tracker) Evicted() int { return t.evicted }

// Advance notes the event time of a record without tags: it moves the
// newest event time seen, which closes findings, like any record.
func (t *Tracker) Advance(at int64) { t.watermark = max(t.watermark, at) }

// Observe adds one rule tagged on one record.
func (t *Tracker) Observe(o *Observation) Result {
	t.watermark = max(t.watermark, o.Time)
	if o.Time < t.watermark-int64(t.opts.Retention) {
		return Expired
	}
	k := key{rule: o.Rule}
	chain := IsChain(o.Rule)
	if chain {
		k.group = o.ChainID
	}
	rules := t.byUser[userKey(o.Tenant, o.User)]
	if rules == nil {
		rules = map[key][]*Finding{}
		t.byUser[userKey(o.Tenant, o.User)] = rules
	}
	list := rules[k]
	quiet := int64(t.opts.QuietPeriod)
	// The findings within the quiet period of the record: none, one, or
	// several that the record bridges.
	lo, hi := 0, len(list)
	if !chain {
		lo = len(list)
		for i, f := range list {
			if o.Time <= f.Last+quiet {
				lo = i
				break
			}
		}
		hi = lo
		for hi < len(list) && list[hi].First-quiet <= o.Time {
			hi++
		}
	}
	h := hashID(o.RecordID)
	var f *Finding
	switch {
	case lo == hi:
		f = &Finding{Tenant: o.Tenant, User: o.User, Rule: o.Rule, Group: k.group, First: o.Time, Last: o.Time, FirstID: o.RecordID, TopAt: math.MaxInt64}
		list = slices.Insert(list, lo, f)
		t.n++
		if chain {
			t.chains[f] = struct{}{}
		}
	case hi-lo == 1:
		f = list[lo]
		if _, found := slices.BinarySearch(f.Members, h); found {
			return Duplicate
		}
	default:
		f = list[lo]
		for _, g := range list[lo+1 : hi] {
			t.merge(f, g)
		}
		list = slices.Delete(list, lo+1, hi)
	}
	rules[k] = list
	t.add(f, o, h)
	t.markDirty(f)
	if t.n > t.opts.MaxFindings+t.opts.MaxFindings/8 {
		t.evict()
	}
	return Joined
}

// add puts the record into f.
func (t *Tracker) add(f *Finding, o *Observation, h uint64) {
	var kept bool
	if f.Members, kept = insertSorted(f.Members, h, MaxMembers); !kept {
		f.Overflow++
	}
	if before(o.Time, o.RecordID, f.First, f.FirstID) {
		f.First, f.FirstID = o.Time, o.RecordID
	}
	f.Last = max(f.Last, o.Time)
	if o.Severity > f.Severity || (o.Severity == f.Severity && before(o.Time, o.RecordID, f.TopAt, f.TopID)) {
		f.Severity, f.TopAt, f.TopID, f.Reason = max(o.Severity, f.Severity), o.Time, o.RecordID, o.Reason
	}
	if f.Title == "" {
		f.Title, f.Ruleset, f.Reference = o.Title, o.Ruleset, o.Reference
	}
	for _, tech := range o.Techniques {
		f.Techniques, _ = insertSorted(f.Techniques, tech, maxTechniques)
	}
	f.Evidence = keepSmallest(f.Evidence, Evidence{ID: o.RecordID, At: o.Time, Fields: o.Fields}, t.opts.MaxEvidence, evidenceLess)
	for _, id := range o.Evidence {
		f.Refs = addRef(f.Refs, id, o.Time, t.opts.MaxEvidence)
		if f.Group != "" {
			f.Stages, _ = insertSorted(f.Stages, hashID(id), maxStages)
		}
	}
	if o.ChainID != "" && f.Group == "" {
		f.Chains, _ = insertSorted(f.Chains, o.ChainID, maxChains)
	}
	if o.Fields.ClientAddress != "" && (f.SrcIP == "" || before(o.Time, o.RecordID, f.SrcAt, f.SrcID)) {
		f.SrcAt, f.SrcID, f.SrcIP = o.Time, o.RecordID, o.Fields.ClientAddress
	}
}

// merge moves g, which a record bridged to f (the earlier), into f; g is
// retired, and its last emission will name f as its successor.
func (t *Tracker) merge(f, g *Finding) {
	for _, h := range g.Members {
		var kept bool
		if f.Members, kept = insertSorted(f.Members, h, MaxMembers); !kept {
			f.Overflow++
		}
	}
	f.Overflow += g.Overflow
	if before(g.First, g.FirstID, f.First, f.FirstID) {
		f.First, f.FirstID = g.First, g.FirstID
	}
	f.Last = max(f.Last, g.Last)
	if g.Severity > f.Severity || (g.Severity == f.Severity && before(g.TopAt, g.TopID, f.TopAt, f.TopID)) {
		f.Severity, f.TopAt, f.TopID, f.Reason = g.Severity, g.TopAt, g.TopID, g.Reason
	}
	if f.Title == "" {
		f.Title, f.Ruleset, f.Reference = g.Title, g.Ruleset, g.Reference
	}
	for _, tech := range g.Techniques {
		f.Techniques, _ = insertSorted(f.Techniques, tech, maxTechniques)
	}
	for _, e := range g.Evidence {
		f.Evidence = keepSmallest(f.Evidence, e, t.opts.MaxEvidence, evidenceLess)
	}
	for _, r := range g.Refs {
		f.Refs = addRef(f.Refs, r.ID, r.At, t.opts.MaxEvidence)
	}
	for _, c := range g.Chains {
		f.Chains, _ = insertSorted(f.Chains, c, maxChains)
	}
	if g.SrcIP != "" && (f.SrcIP == "" || before(g.SrcAt, g.SrcID, f.SrcAt, f.SrcID)) {
		f.SrcAt, f.SrcID, f.SrcIP = g.SrcAt, g.SrcID, g.SrcIP
	}
	t.detach(g)
	if g.UID != "" {
		g.successor = f
		t.retired = append(t.retired, g)
	}
}

func (t *Tracker) markDirty(f *Finding) {
	if !f.Dirty {
		f.Dirty = true
		t.dirty = append(t.dirty, f)
	}
}

// detach forgets f everywhere but in its key's list, which the caller
// edits.
func (t *Tracker) detach(f *Finding) {
	f.removed = true
	t.n--
	delete(t.open, f)
	delete(t.chains, f)
}

// closable reports whether no record that could still join f is expected.
func (t *Tracker) closable(f *Finding) bool {
	return t.watermark-int64(t.opts.Lateness) > f.Last+int64(t.opts.QuietPeriod)
}
