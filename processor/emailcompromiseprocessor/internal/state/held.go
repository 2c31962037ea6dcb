package state

// MaxHeld bounds the detections a user's warm-up holds back.
const MaxHeld = 32

// Held is a detection the warm-up held back: a user's history did not yet
// reach far enough before it. It is released, on the record that brings
// older history, once the history does.
type Held struct {
	Rule     string
	Severity uint8
	Reason   string
	User     string
	Evidence []HeldEvidence
	Anchors  []Stage
	// Identity is the detection's identity (see the detection package).
	Identity uint64
}

// HeldEvidence is one evidence record of a held detection.
type HeldEvidence struct {
	ID RecordID
	At Instant
}

// Latest is the event time of the held detection's newest evidence.
func (h *Held) Latest() Instant { return h.Evidence[len(h.Evidence)-1].At }

// Hold keeps a held detection once (by identity); when full, the one with
// the oldest evidence goes.
func (f *Found) Hold(h Held) {
	for i := range f.Held {
		if f.Held[i].Identity == h.Identity {
			return
		}
	}
	if len(f.Held) >= MaxHeld {
		oldest := 0
		for i := range f.Held {
			if f.Held[i].Latest() < f.Held[oldest].Latest() {
				oldest = i
			}
		}
		f.Held[oldest] = h
		return
	}
	f.Held = append(f.Held, h)
}
