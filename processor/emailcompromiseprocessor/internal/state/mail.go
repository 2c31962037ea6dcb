package state

import "time"

// Caps on what one mailbox's history may hold: a flood of sends from one
// mailbox ages the oldest entries out instead of growing.
const (
	MaxConversations  = 64
	MaxMessageIDs     = 128
	MaxRecentSent     = 64
	MaxWindowSubjects = 64
)

// MailHistory is what the mailbox detectors learn about one mailbox.
type MailHistory struct {
	Sends SendBaseline
	// Conversations are hashes of normalised subjects ("invoice 4432" for
	// "RE: AW: Invoice 4432") the mailbox recently sent or received.
	Conversations Ring
	// RecentSent are the mailbox's latest sent messages, for send-then-delete.
	RecentSent []SentItem
}

// SentItem is one sent message: its InternetMessageId hash and send time.
type SentItem struct {
	MessageID uint64
	At        time.Time
}

// SendBaseline is a mailbox's learned sending rate: per hour of day, an
// exponentially weighted mean and mean absolute deviation of sends per hour,
// plus the current hour's window.
type SendBaseline struct {
	Mean, Dev [24]float32
	// Seen counts the hours folded into each hour-of-day (saturating): the
	// first one sets the mean instead of pulling it up from zero.
	Seen [24]uint8
	// LearnedHours counts the closed hours folded into the means.
	LearnedHours uint32
	// Window is the hour being counted.
	WindowStart time.Time
	Count       uint32
	Subjects    []uint64 // distinct subject hashes in the window, capped
	// AnomalousSince is when the window crossed its threshold (zero if it
	// has not): every further send of the window is tagged.
	AnomalousSince time.Time
}

// Ring is a fixed-capacity set of hashes; adding beyond capacity overwrites
// the oldest.
type Ring struct {
	Values []uint64
	Next   int
}

// Add puts v in the ring of capacity max unless already present.
func (r *Ring) Add(v uint64, max int) {
	if r.Has(v) {
		return
	}
	if len(r.Values) < max {
		r.Values = append(r.Values, v)
		return
	}
	r.Values[r.Next] = v
	r.Next = (r.Next + 1) % max
}

// Has reports whether v is in the ring.
func (r *Ring) Has(v uint64) bool {
	for _, x := range r.Values {
		if x == v {
			return true
		}
	}
	return false
}

// ChainState is the per-user progress of a compromise chain: the first
// stage (a risky sign-in or impossible travel), the second (mailbox
// manipulation), and, once complete, the chain's id and when it started.
type ChainState struct {
	RiskAt, ChangeAt     time.Time
	RiskRule, ChangeRule string
	RiskReason           string
	ChangeReason         string
	ID                   string
	CompletedAt          time.Time
}
