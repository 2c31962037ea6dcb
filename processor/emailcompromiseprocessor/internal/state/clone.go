package state

// Clone returns a copy of u that shares no memory it could change with u:
// every slice and pointer is copied (strings, Text and RecordID handles are
// immutable and shared). A snapshot copies a user under the processing lock
// and encodes the copy after releasing it, while processing goes on
// changing the original. TestCloneSharesNothing fails when a field is added
// to the state without a copy here.
func (u *User) Clone() User {
	var c User
	u.CloneInto(&c, &Spare{})
	return c
}

// Spare keeps the histories of earlier copies that the copy now in a User
// has no use for (the user copied last had none), for the copies after it.
type Spare struct {
	mail    *MailHistory
	account *AccountHistory
	found   *Found
	hours   *HourCounts
}

// CloneInto makes *dst a copy of u as Clone does, in the arrays and
// histories of the copies made in dst (and spare) before, where they are
// large enough: a snapshot copies users into the same few hundred Users
// over and over, and allocating under the processing lock is what made
// it slow (the allocation pays the garbage collector's assist, with the
// whole state to mark; BenchmarkSnapshotPause). An empty slice of u may
// be copied as an empty slice rather than nil: the copy keeps its array
// for the next. Absent histories stay absent (nil), as gob keeps them.
func (u *User) CloneInto(dst *User, spare *Spare) {
	old := *dst
	*dst = *u
	dst.SignIns = u.SignIns.cloneInto(old.SignIns)
	dst.Mail = cloneInto(old.Mail, &spare.mail, u.Mail, func(src *MailHistory, reuse MailHistory) MailHistory {
		return src.cloneInto(reuse, &spare.hours)
	})
	dst.Account = cloneInto(old.Account, &spare.account, u.Account, (*AccountHistory).cloneInto)
	dst.Found = cloneInto(old.Found, &spare.found, u.Found, (*Found).cloneInto)
}

// cloneInto returns a copy of *src (nil for nil) made by clone from src and
// the value it replaces: *dst, or the spare when dst is nil. A dst that
// src has no use for becomes the spare; at most one of the two is set.
func cloneInto[T any](dst *T, spare **T, src *T, clone func(src *T, reuse T) T) *T {
	if dst == nil {
		dst, *spare = *spare, nil
	}
	if src == nil {
		if dst != nil {
			*spare = dst
		}
		return nil
	}
	if dst == nil {
		dst = new(T)
	}
	*dst = clone(src, *dst)
	return dst
}

// reuse returns a copy of src in dst's array when it is large enough. An
// empty src gives dst emptied, which keeps its array (nil for nil).
func reuse[T any](dst, src []T) []T {
	if len(src) == 0 {
		return dst[:0]
	}
	return append(dst[:0], src...)
}

// reuseEach is reuse for elements that hold slices of their own: each
// element's own slices are copied by elem into the arrays of the element
// dst held at its index.
func reuseEach[T any](dst, src []T, elem func(dst *T, src, old T)) []T {
	if len(src) == 0 {
		return dst[:0]
	}
	if cap(dst) < len(src) {
		grown := make([]T, len(src))
		copy(grown, dst[:cap(dst)])
		dst = grown
	}
	dst = dst[:len(src)]
	for i := range src {
		old := dst[i]
		elem(&dst[i], src[i], old)
	}
	return dst
}

func (h *SignInHistory) cloneInto(old SignInHistory) SignInHistory {
	c := *h
	c.Successes = reuse(old.Successes, h.Successes)
	c.Known = reuse(old.Known, h.Known)
	c.Places = reuseEach(old.Places, h.Places, func(dst *Place, src, old Place) {
		*dst = src
		dst.Earliest = reuse(old.Earliest, src.Earliest)
	})
	c.Recent = reuse(old.Recent, h.Recent)
	c.Uses = reuse(old.Uses, h.Uses)
	return c
}

func (m *MailHistory) cloneInto(old MailHistory, spareHours **HourCounts) MailHistory {
	c := *m
	c.Conversations = reuse(old.Conversations, m.Conversations)
	c.Sends = reuse(old.Sends, m.Sends)
	c.Hours = cloneInto(old.Hours, spareHours, m.Hours, func(src *HourCounts, _ HourCounts) HourCounts { return *src })
	c.Replies = reuse(old.Replies, m.Replies)
	c.SentDeletes = reuse(old.SentDeletes, m.SentDeletes)
	return c
}

func (a *AccountHistory) cloneInto(old AccountHistory) AccountHistory {
	c := *a
	c.Changes = reuse(old.Changes, a.Changes)
	c.Accesses = reuse(old.Accesses, a.Accesses)
	c.Days = reuse(old.Days, a.Days)
	c.Sources = reuse(old.Sources, a.Sources)
	return c
}

func (f *Found) cloneInto(old Found) Found {
	c := *f
	c.Stages.List = reuse(old.Stages.List, f.Stages.List)
	c.Emitted.List = reuse(old.Emitted.List, f.Emitted.List)
	c.Held = reuseEach(old.Held, f.Held, func(dst *Held, src, old Held) {
		*dst = src
		dst.Evidence = reuse(old.Evidence, src.Evidence)
		dst.Anchors = reuse(old.Anchors, src.Anchors)
	})
	c.Logged = reuse(old.Logged, f.Logged)
	return c
}
