package state

import "strings"

// Caps on what one mailbox's history may hold: a flood of sends from one
// mailbox ages the oldest entries out instead of growing.
const (
	MaxConversations = 64
	// MaxRecentSends bounds the sends kept for the open hours of the send
	// baseline and for send-then-delete; a burst beyond it is still counted
	// hour by hour.
	MaxRecentSends = 2048
	MaxReplies     = 64
	MaxSentDeletes = 64
	// BaselineHours is how many closed hours the per-hour send counts cover.
	BaselineHours = 8 * 24
)

// MailHistory is what the mailbox detectors learn about one mailbox.
type MailHistory struct {
	// Conversations are the normalised subjects ("invoice 4432" for "RE: AW:
	// Invoice 4432") the mailbox sent or received, with when.
	Conversations []Sighting[uint32]
	// Sends are the sends of the hours that may still take late records,
	// in event-time order; older hours live on as counts in Hours.
	Sends []Send
	// Hours is allocated when the first hour is folded.
	Hours *HourCounts
	// FirstSend is the earliest send seen: a baseline is trusted only once
	// it covers enough hours.
	FirstSend Sec
	// Replies are the mailbox's recent replies and forwards into
	// conversations, which a late record (a risky sign-in, the
	// conversation's earlier message) can still reveal as hijacked.
	Replies []Reply
	// SentDeletes are recent deletions of sent messages, which a late send
	// can still pair with.
	SentDeletes []SentDelete
}

// Send is one sent message.
type Send struct {
	At      Instant
	ID      RecordID
	Message uint32 // hash of the InternetMessageId
	Subject uint32 // conversation key, for the distinct-subject count
}

func (s Send) when() Instant { return s.At }
func (s Send) id() RecordID  { return s.ID }

// Reply is a send into a conversation, with what ties it to a session.
type Reply struct {
	At           Instant
	ID           RecordID
	Conversation uint32
	ASN          uint32
	Session      uint32
	IP           Addr
	// LegacyClient is the client string when the reply went over POP, IMAP
	// or ActiveSync (empty otherwise).
	LegacyClient Text
	Subject      string // shortened, for reasons
}

func (r Reply) when() Instant { return r.At }
func (r Reply) id() RecordID  { return r.ID }

// SentDelete is a deletion of a message from Sent Items or Recoverable Items.
type SentDelete struct {
	At        Instant
	ID        RecordID
	Message   uint32
	Operation Text
	Folder    Text
	Subject   string
}

func (d SentDelete) when() Instant { return d.At }
func (d SentDelete) id() RecordID  { return d.ID }

// AddSend puts a send in its timeline once per record id and reports
// whether it is new.
func (m *MailHistory) AddSend(s Send) bool {
	var i int
	m.Sends, i = insert(m.Sends, s, MaxRecentSends)
	return i >= 0
}

// AddReply puts a reply in its timeline once per record id and reports
// whether it is new. The subject is copied, so that state does not pin the
// record.
func (m *MailHistory) AddReply(r Reply) bool {
	var i int
	if m.Replies, i = insert(m.Replies, r, MaxReplies); i < 0 {
		return false
	}
	m.Replies[i].Subject = strings.Clone(r.Subject)
	return true
}

// AddSentDelete puts a deletion of sent mail in its timeline once per
// record id and reports whether it is new. The subject is copied, so that
// state does not pin the record.
func (m *MailHistory) AddSentDelete(d SentDelete) bool {
	var i int
	if m.SentDeletes, i = insert(m.SentDeletes, d, MaxSentDeletes); i < 0 {
		return false
	}
	m.SentDeletes[i].Subject = strings.Clone(d.Subject)
	return true
}

// HoursOf returns the per-hour counts, creating them on first use.
func (m *MailHistory) HoursOf() *HourCounts {
	if m.Hours == nil {
		m.Hours = &HourCounts{}
	}
	return m.Hours
}

// Forget drops the replies and deletions older than cutoff.
func (m *MailHistory) Forget(cutoff Instant) {
	if len(m.Replies) > 0 && m.Replies[0].At < cutoff {
		m.Replies = dropBefore(m.Replies, cutoff)
	}
	if len(m.SentDeletes) > 0 && m.SentDeletes[0].At < cutoff {
		m.SentDeletes = dropBefore(m.SentDeletes, cutoff)
	}
}

// HourCounts are sends per clock hour for the last BaselineHours closed
// hours: a ring indexed by hour number (hours since the Unix epoch), with
// counts saturating at 255 (a mailbox sending more in an hour is no
// baseline to learn from).
type HourCounts struct {
	Counts [BaselineHours]uint8
	// Newest is the hour number of the newest slot; 0 before the first.
	Newest uint32
}

// Add counts n sends in hour h; hours older than the ring are ignored.
func (c *HourCounts) Add(h uint32, n int) {
	if c.Newest == 0 {
		c.Newest = h
	}
	if h > c.Newest {
		for step := c.Newest + 1; step <= h && step-c.Newest <= BaselineHours; step++ {
			c.Counts[step%BaselineHours] = 0
		}
		c.Newest = h
	}
	if c.Newest-h >= BaselineHours {
		return
	}
	slot := &c.Counts[h%BaselineHours]
	*slot = uint8(min(int(*slot)+n, 255))
}

// Count returns the sends of hour h, and false when h is outside the ring.
func (c *HourCounts) Count(h uint32) (int, bool) {
	if c.Newest == 0 || h > c.Newest || c.Newest-h >= BaselineHours {
		return 0, false
	}
	return int(c.Counts[h%BaselineHours]), true
}
