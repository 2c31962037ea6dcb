package state

import "time"

// User is everything the detectors remember about one user. Each detector
// owns one field and caps what it keeps there, so one user can never grow
// without bound whatever a flood of records does.
type User struct {
	// Earliest and Newest bound the event times of the records learned: how
	// much history the state holds (the warm-up of a scale-out replica), and
	// how far behind the newest a record may be and still be judged
	// against history (allowed_lateness).
	Earliest, Newest Instant
	SignIns          SignInHistory
	// Mail is allocated on the user's first mailbox item record: most
	// users of a sign-in-only feed never need it.
	Mail *MailHistory
	// Account is allocated on the user's first account change or mail
	// access record.
	Account *AccountHistory
	// Found is allocated at the user's first detection: most users never
	// have one.
	Found *Found
}

// Found is what the processor remembers of a user's detections.
type Found struct {
	// Stages are the records detections made stages of a compromise.
	Stages Stages
	// Emitted are the identities of the detections tagged.
	Emitted Emitted
	// Held are detections the warm-up holds back until the history reaches
	// far enough before them.
	Held []Held
	// Logged remembers when each rule was last logged for the user, so a
	// detection repeating on later records is tagged but logged once per
	// suppression period.
	Logged []Logged
}

// Span is how much event time the user's history covers.
func (u *User) Span() time.Duration {
	if u.Earliest == 0 {
		return 0
	}
	return time.Duration(u.Newest - u.Earliest)
}

// Learned extends the history's event-time bounds to t.
func (u *User) Learned(t time.Time) {
	at := At(t)
	if at == 0 {
		return
	}
	if u.Earliest == 0 || at < u.Earliest {
		u.Earliest = at
	}
	u.Newest = max(u.Newest, at)
}

// FoundOf returns what is remembered of the user's detections, creating it
// on first use.
func (u *User) FoundOf() *Found {
	if u.Found == nil {
		u.Found = &Found{}
	}
	return u.Found
}

// MailOf returns the user's mailbox history, creating it on first use.
func (u *User) MailOf() *MailHistory {
	if u.Mail == nil {
		u.Mail = &MailHistory{}
	}
	return u.Mail
}

// Logged is one rule's last log time.
type Logged struct {
	Rule string
	At   time.Time
}

// MaxLogged caps the rules remembered in User.Logged.
const MaxLogged = 16
