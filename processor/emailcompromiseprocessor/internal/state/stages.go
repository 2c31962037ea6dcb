package state

// MaxStages bounds the chain stages kept per user (only users with
// detections have any).
const MaxStages = 256

// StageKind is a stage of a compromise.
type StageKind uint8

const (
	// StageAccess: a risky sign-in or impossible travel.
	StageAccess StageKind = iota + 1
	// StageSetup: an inbox rule, forwarding or delegation.
	StageSetup
	// StageAbuse: a send burst, a thread hijack, a send-then-delete.
	StageAbuse
)

// Stage is one record that a detection made a stage of a compromise: when
// it happened, which record, from where, and what was found on it.
type Stage struct {
	Kind    StageKind
	At      Instant
	ID      RecordID
	IP      Addr
	ASN     uint32
	Session uint32
	Rule    string
	Reason  string
}

func (s Stage) when() Instant { return s.At }
func (s Stage) id() RecordID  { return s.ID }

// Stages are a user's stage records in event-time order.
type Stages struct {
	List []Stage
}

// Add keeps s unless the same record is already a stage of that kind, and
// reports whether it was added.
func (st *Stages) Add(s Stage) bool {
	for i := range st.List {
		if st.List[i].ID == s.ID && st.List[i].Kind == s.Kind && !s.ID.IsZero() {
			return false
		}
	}
	var added bool
	st.List, added = insertStage(st.List, s)
	return added
}

// insertStage is insert without its one-per-record rule: one record can be
// an access and an abuse stage at once.
func insertStage(list []Stage, s Stage) ([]Stage, bool) {
	i := len(list)
	for i > 0 && list[i-1].At > s.At {
		i--
	}
	if len(list) >= MaxStages {
		if i == 0 {
			return list, false
		}
		copy(list, list[1:i])
		list[i-1] = s
		return list, true
	}
	list = append(list, Stage{})
	copy(list[i+1:], list[i:])
	list[i] = s
	return list, true
}

// Forget drops stages older than cutoff.
func (st *Stages) Forget(cutoff Instant) { st.List = dropBefore(st.List, cutoff) }
