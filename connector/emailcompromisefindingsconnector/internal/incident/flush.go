package incident

import (
	"cmp"
	"iter"
	"slices"
	"strings"
)

// Activity is what an emission does to a finding (OCSF activity_id).
type Activity uint8

const (
	ActivityCreate Activity = 1
	ActivityUpdate Activity = 2
	ActivityClose  Activity = 3
)

// Emission is one finding to send: its revision and status are already
// those of this emission.
type Emission struct {
	Finding  *Finding
	Activity Activity
}

// Flush closes the findings no record can join any more, links chains to
// their stages, and returns every finding that changed since it was last
// emitted (and every finding superseded since), ordered by user, rule and
// start. Each is counted as emitted: its revision is raised. If sending
// fails, Requeue them. Findings past Retention are forgotten afterwards.
func (t *Tracker) Flush(now int64) []Emission {
	for f := range t.open {
		if t.closable(f) {
			t.markDirty(f)
		}
	}
	for c := range t.chains {
		if links := t.linksOf(c); !slices.Equal(links, c.Links) {
			c.Links = links
			t.markDirty(c)
		}
	}
	var out []Emission
	for _, r := range t.retired {
		out = append(out, t.supersede(r, r.successor))
	}
	t.retired = t.retired[:0]
	dirty := t.dirty
	t.dirty = nil
	slices.SortFunc(dirty, compareFindings)
	for _, f := range dirty {
		f.Dirty = false
		if f.removed || !t.opts.Opens[f.Severity] {
			continue
		}
		uid := f.uid()
		activity := ActivityUpdate
		if f.UID != uid {
			if f.UID != "" {
				// An earlier record joined: the finding is named anew and
				// the old name points to the new one.
				old := *f
				old.Evidence, old.Refs = slices.Clone(f.Evidence), slices.Clone(f.Refs)
				out = append(out, t.supersede(&old, f))
				f.Revision = 0
			}
			activity = ActivityCreate
			f.UID = uid
		}
		f.Status = StatusOpen
		if t.closable(f) {
			f.Status = StatusClosed
			if activity != ActivityCreate {
				activity = ActivityClose
			}
			delete(t.open, f)
		} else {
			t.open[f] = struct{}{}
		}
		if f.Created == 0 {
			f.Created = now
		}
		f.Revision++
		out = append(out, Emission{Finding: f, Activity: activity})
	}
	t.expire()
	return out
}

// supersede returns the last emission of r, replaced by successor.
func (t *Tracker) supersede(r, successor *Finding) Emission {
	r.successor = successor
	r.Status = StatusSuperseded
	r.Revision++
	return Emission{Finding: r, Activity: ActivityClose}
}

// Requeue marks the findings of emissions that could not be sent as
// changed, so that the next Flush sends them again (with a higher
// revision: a backend keeps the highest; a finding whose creation was
// refused is created then).
func (t *Tracker) Requeue(ems []Emission) {
	for _, e := range ems {
		f := e.Finding
		switch {
		case f.Status == StatusSuperseded:
			t.retired = append(t.retired, f)
		case !f.removed:
			if e.Activity == ActivityCreate {
				// Never received: the next emission creates it again.
				f.UID = ""
			}
			t.markDirty(f)
		}
	}
}

func compareFindings(a, b *Finding) int {
	return cmp.Or(strings.Compare(a.Tenant, b.Tenant), strings.Compare(a.User, b.User), strings.Compare(a.Rule, b.Rule), cmp.Compare(a.First, b.First), strings.Compare(a.Group, b.Group))
}

// linksOf returns the uids of the findings of c's user whose records are
// c's stages, sorted: the chain's stage findings.
func (t *Tracker) linksOf(c *Finding) []string {
	var links []string
	for k, list := range t.byUser[userKey(c.Tenant, c.User)] {
		if IsChain(k.rule) {
			continue
		}
		for _, f := range list {
			if !t.opts.Opens[f.Severity] {
				continue
			}
			for _, h := range c.Stages {
				if _, found := slices.BinarySearch(f.Members, h); found {
					links = append(links, f.uid())
					break
				}
			}
		}
	}
	slices.Sort(links)
	return links
}

// expire forgets the findings that ended more than Retention before the
// newest event time, once their last state has been emitted.
func (t *Tracker) expire() {
	cutoff := t.watermark - int64(t.opts.Retention)
	t.remove(func(f *Finding) bool {
		if f.Last < cutoff && !f.Dirty && f.Status != StatusOpen {
			t.detach(f)
			return true
		}
		return false
	})
}

// remove deletes the findings drop returns true for.
func (t *Tracker) remove(drop func(*Finding) bool) {
	for user, rules := range t.byUser {
		for k, list := range rules {
			list = slices.DeleteFunc(list, drop)
			if len(list) == 0 {
				delete(rules, k)
			} else {
				rules[k] = list
			}
		}
		if len(rules) == 0 {
			delete(t.byUser, user)
		}
	}
}

// evict drops findings down to MaxFindings: closed and never emitted ones
// first, then open ones, each the longest ended first.
func (t *Tracker) evict() {
	all := make([]*Finding, 0, t.n)
	t.each(func(f *Finding) { all = append(all, f) })
	slices.SortFunc(all, func(a, b *Finding) int {
		return cmp.Or(cmp.Compare(evictionClass(a), evictionClass(b)), cmp.Compare(a.Last, b.Last))
	})
	drop := map[*Finding]bool{}
	for _, f := range all[:t.n-t.opts.MaxFindings] {
		drop[f] = true
		t.detach(f)
		t.evicted++
	}
	t.remove(func(f *Finding) bool { return drop[f] })
	// A flush skips removed findings: the dirty list lets them go now, or
	// it would hold every finding evicted while a flush is held up
	// downstream, past max_findings.
	t.dirty = slices.DeleteFunc(t.dirty, func(f *Finding) bool { return drop[f] })
}

func evictionClass(f *Finding) int {
	if f.Status == StatusOpen || f.Dirty {
		return 1
	}
	return 0
}

// All yields every finding held, and every superseded one whose last
// emission is still due (with its successor's uid filled in): what a
// snapshot must keep.
func (t *Tracker) All() iter.Seq[*Finding] {
	return func(yield func(*Finding) bool) {
		for _, rules := range t.byUser {
			for _, list := range rules {
				for _, f := range list {
					if !yield(f) {
						return
					}
				}
			}
		}
		for _, r := range t.retired {
			r.SupersededBy = r.Successor()
			if !yield(r) {
				return
			}
		}
	}
}

// SetWatermark restores the newest event time seen.
func (t *Tracker) SetWatermark(w int64) { t.watermark = max(t.watermark, w) }

// Restore puts a snapshotted finding back.
func (t *Tracker) Restore(f *Finding) {
	if f.Status == StatusSuperseded {
		t.retired = append(t.retired, f)
		return
	}
	k := key{rule: f.Rule, group: f.Group}
	rules := t.byUser[userKey(f.Tenant, f.User)]
	if rules == nil {
		rules = map[key][]*Finding{}
		t.byUser[userKey(f.Tenant, f.User)] = rules
	}
	list := rules[k]
	i, _ := slices.BinarySearchFunc(list, f, func(a, b *Finding) int { return cmp.Compare(a.First, b.First) })
	rules[k] = slices.Insert(list, i, f)
	t.n++
	if f.Status == StatusOpen {
		t.open[f] = struct{}{}
	}
	if f.Group != "" {
		t.chains[f] = struct{}{}
	}
	if f.Dirty {
		t.dirty = append(t.dirty, f)
	}
}

// each calls fn for every finding held.
func (t *Tracker) each(fn func(*Finding)) {
	for _, rules := range t.byUser {
		for _, list := range rules {
			for _, f := range list {
				fn(f)
			}
		}
	}
}
