package state

// MaxEmitted bounds the detections remembered per user.
const MaxEmitted = 512

// Emission is a detection that was tagged: its identity (a hash of rule,
// user and evidence), the record that carried it, and the event time of
// its newest evidence, after which it may be forgotten. It lets a
// detection found again (by a later record of the same pattern) be tagged
// once, and a record delivered again (a retried batch) carry it again.
type Emission struct {
	Identity uint64
	Carrier  uint64 // hash of the carrying record's id
	At       Instant
}

// Emitted is a user's emissions, oldest first.
type Emitted struct {
	List []Emission
}

// Find returns the emission of an identity, or nil.
func (e *Emitted) Find(identity uint64) *Emission {
	for i := range e.List {
		if e.List[i].Identity == identity {
			return &e.List[i]
		}
	}
	return nil
}

// Add remembers an emission; when full, the one with the oldest evidence goes.
func (e *Emitted) Add(em Emission) {
	if len(e.List) >= MaxEmitted {
		oldest := 0
		for i := range e.List {
			if e.List[i].At < e.List[oldest].At {
				oldest = i
			}
		}
		e.List[oldest] = em
		return
	}
	e.List = append(e.List, em)
}

// Forget drops emissions whose evidence is older than cutoff.
func (e *Emitted) Forget(cutoff Instant) {
	kept := e.List[:0]
	for _, em := range e.List {
		if em.At >= cutoff {
			kept = append(kept, em)
		}
	}
	e.List = kept
}
