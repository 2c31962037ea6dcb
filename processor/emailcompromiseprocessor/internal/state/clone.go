package state

import "slices"

// Clone returns a copy of u that shares no memory it could change with u:
// every slice and pointer is copied (strings, Text and RecordID handles are
// immutable and shared). A snapshot clones a user under the processing lock
// and encodes the copy after releasing it, while processing goes on
// changing the original. TestCloneSharesNothing fails when a field is added
// to the state without a copy here.
func (u *User) Clone() User {
	c := *u
	c.SignIns = u.SignIns.clone()
	if u.Mail != nil {
		m := u.Mail.clone()
		c.Mail = &m
	}
	if u.Account != nil {
		a := u.Account.clone()
		c.Account = &a
	}
	if u.Found != nil {
		f := u.Found.clone()
		c.Found = &f
	}
	return c
}

func (h *SignInHistory) clone() SignInHistory {
	c := *h
	c.Successes = slices.Clone(h.Successes)
	c.Known = slices.Clone(h.Known)
	c.Places = slices.Clone(h.Places)
	for i := range c.Places {
		c.Places[i].Earliest = slices.Clone(c.Places[i].Earliest)
	}
	c.Recent = slices.Clone(h.Recent)
	c.Uses = slices.Clone(h.Uses)
	return c
}

func (m *MailHistory) clone() MailHistory {
	c := *m
	c.Conversations = slices.Clone(m.Conversations)
	c.Sends = slices.Clone(m.Sends)
	if m.Hours != nil {
		h := *m.Hours
		c.Hours = &h
	}
	c.Replies = slices.Clone(m.Replies)
	c.SentDeletes = slices.Clone(m.SentDeletes)
	return c
}

func (a *AccountHistory) clone() AccountHistory {
	c := *a
	c.Changes = slices.Clone(a.Changes)
	c.Accesses = slices.Clone(a.Accesses)
	c.Days = slices.Clone(a.Days)
	c.Sources = slices.Clone(a.Sources)
	return c
}

func (f *Found) clone() Found {
	c := *f
	c.Stages.List = slices.Clone(f.Stages.List)
	c.Emitted.List = slices.Clone(f.Emitted.List)
	c.Held = slices.Clone(f.Held)
	for i := range c.Held {
		c.Held[i].Evidence = slices.Clone(c.Held[i].Evidence)
		c.Held[i].Anchors = slices.Clone(c.Held[i].Anchors)
	}
	c.Logged = slices.Clone(f.Logged)
	return c
}
