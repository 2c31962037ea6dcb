package state

import "slices"

// Caps on what one account's change and mail-access history may hold.
const (
	MaxAccountChanges = 16
	// MaxRecentAccesses bounds the mail accesses kept one by one until the
	// allowed lateness has passed (then they are day counts).
	MaxRecentAccesses = 256
	MaxAccessSources  = 32
	// AccessDays is how many days of accessed-item counts the mail
	// collection baseline keeps.
	AccessDays = 9
)

// AccountHistory is what the persistence and mail-collection detectors
// learn about one account. It is allocated on the user's first account
// change or mail access record: most users of a sign-in feed never need it.
type AccountHistory struct {
	// Changes are the recent security-info, device and consent changes,
	// which a risky sign-in arriving later can still reveal as an
	// attacker's persistence.
	Changes []AccountChange
	// Accesses are the mail accesses that may still be delivered again
	// (within the allowed lateness), counted once each; older ones live on
	// as Days.
	Accesses []MailAccess
	// Days are accessed items per UTC day, the baseline of mail collection.
	Days []DayCount
	// FirstAccess is the earliest mail access seen: the baseline is trusted
	// once it covers the learning period.
	FirstAccess Sec
	// Sources are accesses from addresses new to the user, one by one
	// within the collection window, which later ones add up with.
	Sources []SourceAccess
}

// AccountChange is one change to how the account can be reached.
type AccountChange struct {
	At   Instant
	ID   RecordID
	Kind uint8 // auditrecord.ChangeKind
	// MailScopes: a consent that granted access to mail. Expected: an
	// administrator or automation app inside a change window made it.
	MailScopes, Expected bool
	ASN                  uint32
	IP                   Addr
	What                 Text
}

func (c AccountChange) when() Instant { return c.At }
func (c AccountChange) id() RecordID  { return c.ID }

// MailAccess is one MailItemsAccessed record, reduced to its count: 12
// bytes, for the few days' accesses a busy mailbox keeps.
type MailAccess struct {
	At    Sec
	ID    uint32 // hash of the record id: enough to count a record once
	Count uint32
}

// DayCount is the items accessed on one UTC day (days since the epoch).
type DayCount struct {
	Day   uint32
	Count uint32
}

// SourceAccess is one access from an address new to the user.
type SourceAccess struct {
	At      Instant
	ID      RecordID
	Network uint64
	ASN     uint32
	Count   uint32
	Sync    bool
	App     uint32 // hash of the client app id
	IP      Addr
}

func (s SourceAccess) when() Instant { return s.At }
func (s SourceAccess) id() RecordID  { return s.ID }

// AccountOf returns the user's account history, creating it on first use.
func (u *User) AccountOf() *AccountHistory {
	if u.Account == nil {
		u.Account = &AccountHistory{}
	}
	return u.Account
}

// AddChange keeps c in event-time order, once per record; it reports
// whether c is new.
func (a *AccountHistory) AddChange(c AccountChange) bool {
	var i int
	a.Changes, i = insert(a.Changes, c, MaxAccountChanges)
	return i >= 0
}

// AddSource keeps an access from a new address, once per record.
func (a *AccountHistory) AddSource(s SourceAccess) bool {
	var i int
	a.Sources, i = insert(a.Sources, s, MaxAccessSources)
	return i >= 0
}

// CountAccess counts an access once (a record delivered again is not
// counted twice: the suite learns no record older than settled, so one
// kept until then is found again) and folds the accesses older than
// settled into day counts. It reports whether the access was new.
func (a *AccountHistory) CountAccess(m MailAccess, settled Sec) bool {
	for _, x := range a.Accesses {
		if x.ID == m.ID && x.At == m.At {
			return false
		}
	}
	i := len(a.Accesses)
	for i > 0 && a.Accesses[i-1].At > m.At {
		i--
	}
	a.Accesses = append(a.Accesses, MailAccess{})
	copy(a.Accesses[i+1:], a.Accesses[i:])
	a.Accesses[i] = m
	if a.FirstAccess == 0 || m.At < a.FirstAccess {
		a.FirstAccess = m.At
	}
	n := 0
	for n < len(a.Accesses) && (a.Accesses[n].At < settled || len(a.Accesses)-n > MaxRecentAccesses) {
		a.addDay(secDay(a.Accesses[n].At), a.Accesses[n].Count)
		n++
	}
	a.Accesses = slices.Delete(a.Accesses, 0, n)
	return true
}

// DayTotal is the count of day d: its folded count plus the accesses still
// kept one by one.
func (a *AccountHistory) DayTotal(d uint32) uint32 {
	var n uint32
	for _, c := range a.Days {
		if c.Day == d {
			n = c.Count
		}
	}
	for _, x := range a.Accesses {
		if secDay(x.At) == d {
			n += x.Count
		}
	}
	return n
}

func (a *AccountHistory) addDay(d uint32, n uint32) {
	for i := range a.Days {
		if a.Days[i].Day == d {
			a.Days[i].Count += n
			return
		}
	}
	if len(a.Days) >= AccessDays {
		oldest := 0
		for i := range a.Days {
			if a.Days[i].Day < a.Days[oldest].Day {
				oldest = i
			}
		}
		if a.Days[oldest].Day > d {
			return
		}
		a.Days[oldest] = DayCount{Day: d, Count: n}
		return
	}
	a.Days = append(a.Days, DayCount{Day: d, Count: n})
}

// Forget drops the changes and new-address accesses older than cutoff.
func (a *AccountHistory) Forget(cutoff Instant) {
	a.Changes = dropBefore(a.Changes, cutoff)
	a.Sources = dropBefore(a.Sources, cutoff)
}

// DayOf is the UTC day number of t.
func DayOf(t Instant) uint32 { return dayOf(t) }

func dayOf(t Instant) uint32 { return uint32(int64(t) / int64(24*60*60*1e9)) }

func secDay(t Sec) uint32 { return dayOf(At(t.Time())) }
