package state

import (
	"encoding/binary"
	"errors"
	"math"
	"time"
	"unique"
)

// The snapshot's encoding of users (layout 3), written out field by field.
// gob, which wrote layout 2, spent about 150 µs and 20 KB of garbage per
// user of an office day: at 200,000 users a snapshot kept a core busy for
// seconds and the collector running, and both took the machine from the
// records processed meanwhile (BenchmarkSnapshotPause). This encoding
// allocates nothing but the chunk it fills. TestCodecRoundTrip fills every
// field of a User by reflection: a field added to the state without a line
// here fails it.
//
// Integers are varints, addresses their 16 bytes, texts and ids their
// text (an id in its compact form: a tag, then 16 bytes of a GUID, 8 of a
// number or the text), slices their length then their elements, optional
// histories a presence byte.

// errCorrupt is returned for a chunk that ends early or holds impossible
// lengths or tags.
var errCorrupt = errors.New("corrupt snapshot chunk")

type encoder struct{ b []byte }

func (e *encoder) uint(v uint64)     { e.b = binary.AppendUvarint(e.b, v) }
func (e *encoder) int(v int64)       { e.b = binary.AppendVarint(e.b, v) }
func (e *encoder) bool(v bool)       { e.uint(boolByte(v)) }
func (e *encoder) str(s string)      { e.uint(uint64(len(s))); e.b = append(e.b, s...) }
func (e *encoder) text(t Text)       { e.str(t.String()) }
func (e *encoder) addr(a Addr)       { e.b = append(e.b, a.b[:]...) }
func (e *encoder) f32(v float32)     { e.uint(uint64(math.Float32bits(v))) }
func (e *encoder) instant(t Instant) { e.int(int64(t)) }
func (e *encoder) sec(s Sec)         { e.uint(uint64(s)) }

func (e *encoder) time(t time.Time) {
	if t.IsZero() {
		e.bool(false)
		return
	}
	e.bool(true)
	e.int(t.Unix())
	e.uint(uint64(t.Nanosecond()))
}

// Tags of an id's form.
const (
	idNone = iota
	idGUID
	idDecimal
	idText
)

func (e *encoder) id(id RecordID) {
	switch {
	case id.text == decimal:
		e.uint(idDecimal)
		e.b = append(e.b, id.guid[:8]...)
	case id.text != (unique.Handle[string]{}):
		e.uint(idText)
		e.str(id.text.Value())
	case id.guid == [16]byte{}:
		e.uint(idNone)
	default:
		e.uint(idGUID)
		e.b = append(e.b, id.guid[:]...)
	}
}

func boolByte(v bool) uint64 {
	if v {
		return 1
	}
	return 0
}

// each writes a slice: its length, then every element.
func each[T any](e *encoder, list []T, put func(*encoder, *T)) {
	e.uint(uint64(len(list)))
	for i := range list {
		put(e, &list[i])
	}
}

// optional writes a presence byte, then *p when present.
func optional[T any](e *encoder, p *T, put func(*encoder, *T)) {
	e.bool(p != nil)
	if p != nil {
		put(e, p)
	}
}

type decoder struct {
	b   []byte
	err error
}

func (d *decoder) fail() {
	if d.err == nil {
		d.err = errCorrupt
	}
	d.b = nil
}

func (d *decoder) uint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail()
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) int() int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail()
		return 0
	}
	d.b = d.b[n:]
	return v
}

// small reads an integer of at most limit.
func (d *decoder) small(limit uint64) uint64 {
	v := d.uint()
	if v > limit {
		d.fail()
		return 0
	}
	return v
}

func (d *decoder) u32() uint32      { return uint32(d.small(math.MaxUint32)) }
func (d *decoder) u8() uint8        { return uint8(d.small(math.MaxUint8)) }
func (d *decoder) bool() bool       { return d.small(1) == 1 }
func (d *decoder) f32() float32     { return math.Float32frombits(d.u32()) }
func (d *decoder) instant() Instant { return Instant(d.int()) }
func (d *decoder) sec() Sec         { return Sec(d.u32()) }
func (d *decoder) text() Text       { return TextOf(d.str()) }

// bytes returns the next n bytes.
func (d *decoder) bytes(n int) []byte {
	if len(d.b) < n {
		d.fail()
		return make([]byte, n)
	}
	out := d.b[:n]
	d.b = d.b[n:]
	return out
}

func (d *decoder) str() string {
	n := d.small(uint64(len(d.b)))
	return string(d.bytes(int(n)))
}

func (d *decoder) addr() (a Addr) {
	copy(a.b[:], d.bytes(16))
	return a
}

func (d *decoder) time() time.Time {
	if !d.bool() {
		return time.Time{}
	}
	s := d.int()
	ns := d.small(999_999_999)
	return time.Unix(s, int64(ns)).UTC()
}

func (d *decoder) id() (id RecordID) {
	switch d.small(idText) {
	case idGUID:
		copy(id.guid[:], d.bytes(16))
	case idDecimal:
		copy(id.guid[:8], d.bytes(8))
		id.text = decimal
	case idText:
		id.text = unique.Make(d.str())
	}
	return id
}

// eachOf reads a slice written by each, into list's array when it is large
// enough. The slice grows as its elements are read, not to the length the
// chunk claims: a forged length costs what the chunk's bytes can hold.
func eachOf[T any](d *decoder, list []T, get func(*decoder, *T)) []T {
	n := d.small(uint64(len(d.b)))
	list = list[:0]
	var zero T
	for i := uint64(0); i < n && d.err == nil; i++ {
		list = append(list, zero)
		get(d, &list[i])
	}
	return list
}

func optionalOf[T any](d *decoder, get func(*decoder, *T)) *T {
	if !d.bool() {
		return nil
	}
	p := new(T)
	get(d, p)
	return p
}

func putUser(e *encoder, u *User) {
	e.instant(u.Earliest)
	e.instant(u.Newest)
	putSignIns(e, &u.SignIns)
	optional(e, u.Mail, putMail)
	optional(e, u.Account, putAccount)
	optional(e, u.Found, putFound)
}

func getUser(d *decoder, u *User) {
	u.Earliest = d.instant()
	u.Newest = d.instant()
	getSignIns(d, &u.SignIns)
	u.Mail = optionalOf(d, getMail)
	u.Account = optionalOf(d, getAccount)
	u.Found = optionalOf(d, getFound)
}

func putSignIns(e *encoder, h *SignInHistory) {
	each(e, h.Successes, func(e *encoder, s *Sec) { e.sec(*s) })
	each(e, h.Known, func(e *encoder, s *Sighting[Known]) {
		e.uint(uint64(s.Value))
		e.sec(s.First)
		e.sec(s.Last)
	})
	each(e, h.Places, func(e *encoder, p *Place) {
		e.int(int64(p.Cell.Lat))
		e.int(int64(p.Cell.Lon))
		e.sec(p.Last)
		each(e, p.Earliest, func(e *encoder, s *Sec) { e.sec(*s) })
	})
	each(e, h.Recent, func(e *encoder, s *SignIn) {
		e.instant(s.At)
		e.id(s.ID)
		e.uint(uint64(s.Kind))
		e.bool(s.Interactive)
		e.bool(s.Password)
		e.bool(s.HasGeo)
		e.bool(s.Lockout)
		e.b = append(e.b, s.Country[:]...)
		e.f32(s.Lat)
		e.f32(s.Lon)
		e.uint(uint64(s.ASN))
		e.addr(s.IP)
		e.uint(uint64(s.Device))
		e.uint(uint64(s.Session))
		e.uint(uint64(s.Token))
		e.text(s.City)
	})
	each(e, h.Uses, func(e *encoder, s *SessionUse) {
		e.instant(s.At)
		e.id(s.ID)
		e.uint(uint64(s.Session))
		e.uint(uint64(s.Token))
		e.uint(uint64(s.ASN))
		e.b = append(e.b, s.Country[:]...)
		e.bool(s.Interactive)
		e.addr(s.IP)
	})
}

func getSignIns(d *decoder, h *SignInHistory) {
	h.Successes = eachOf(d, h.Successes, func(d *decoder, s *Sec) { *s = d.sec() })
	h.Known = eachOf(d, h.Known, func(d *decoder, s *Sighting[Known]) {
		s.Value = Known(d.uint())
		s.First = d.sec()
		s.Last = d.sec()
	})
	h.Places = eachOf(d, h.Places, func(d *decoder, p *Place) {
		p.Cell.Lat = int16(d.int())
		p.Cell.Lon = int16(d.int())
		p.Last = d.sec()
		p.Earliest = eachOf(d, p.Earliest, func(d *decoder, s *Sec) { *s = d.sec() })
	})
	h.Recent = eachOf(d, h.Recent, func(d *decoder, s *SignIn) {
		s.At = d.instant()
		s.ID = d.id()
		s.Kind = SignInKind(d.u8())
		s.Interactive = d.bool()
		s.Password = d.bool()
		s.HasGeo = d.bool()
		s.Lockout = d.bool()
		copy(s.Country[:], d.bytes(2))
		s.Lat = d.f32()
		s.Lon = d.f32()
		s.ASN = d.u32()
		s.IP = d.addr()
		s.Device = d.u32()
		s.Session = d.u32()
		s.Token = d.u32()
		s.City = d.text()
	})
	h.Uses = eachOf(d, h.Uses, func(d *decoder, s *SessionUse) {
		s.At = d.instant()
		s.ID = d.id()
		s.Session = d.u32()
		s.Token = d.u32()
		s.ASN = d.u32()
		copy(s.Country[:], d.bytes(2))
		s.Interactive = d.bool()
		s.IP = d.addr()
	})
}

func putMail(e *encoder, m *MailHistory) {
	each(e, m.Conversations, func(e *encoder, s *Sighting[uint32]) {
		e.uint(uint64(s.Value))
		e.sec(s.First)
		e.sec(s.Last)
	})
	each(e, m.Sends, func(e *encoder, s *Send) {
		e.instant(s.At)
		e.id(s.ID)
		e.uint(uint64(s.Message))
		e.uint(uint64(s.Subject))
	})
	optional(e, m.Hours, func(e *encoder, h *HourCounts) {
		e.b = append(e.b, h.Counts[:]...)
		e.uint(uint64(h.Newest))
	})
	e.sec(m.FirstSend)
	each(e, m.Replies, func(e *encoder, r *Reply) {
		e.instant(r.At)
		e.id(r.ID)
		e.uint(uint64(r.Conversation))
		e.uint(uint64(r.ASN))
		e.uint(uint64(r.Session))
		e.addr(r.IP)
		e.text(r.LegacyClient)
		e.str(r.Subject)
	})
	each(e, m.SentDeletes, func(e *encoder, s *SentDelete) {
		e.instant(s.At)
		e.id(s.ID)
		e.uint(uint64(s.Message))
		e.text(s.Operation)
		e.text(s.Folder)
		e.str(s.Subject)
	})
}

func getMail(d *decoder, m *MailHistory) {
	m.Conversations = eachOf(d, m.Conversations, func(d *decoder, s *Sighting[uint32]) {
		s.Value = d.u32()
		s.First = d.sec()
		s.Last = d.sec()
	})
	m.Sends = eachOf(d, m.Sends, func(d *decoder, s *Send) {
		s.At = d.instant()
		s.ID = d.id()
		s.Message = d.u32()
		s.Subject = d.u32()
	})
	m.Hours = optionalOf(d, func(d *decoder, h *HourCounts) {
		copy(h.Counts[:], d.bytes(len(h.Counts)))
		h.Newest = d.u32()
	})
	m.FirstSend = d.sec()
	m.Replies = eachOf(d, m.Replies, func(d *decoder, r *Reply) {
		r.At = d.instant()
		r.ID = d.id()
		r.Conversation = d.u32()
		r.ASN = d.u32()
		r.Session = d.u32()
		r.IP = d.addr()
		r.LegacyClient = d.text()
		r.Subject = d.str()
	})
	m.SentDeletes = eachOf(d, m.SentDeletes, func(d *decoder, s *SentDelete) {
		s.At = d.instant()
		s.ID = d.id()
		s.Message = d.u32()
		s.Operation = d.text()
		s.Folder = d.text()
		s.Subject = d.str()
	})
}

func putAccount(e *encoder, a *AccountHistory) {
	each(e, a.Changes, func(e *encoder, c *AccountChange) {
		e.instant(c.At)
		e.id(c.ID)
		e.uint(uint64(c.Kind))
		e.bool(c.MailScopes)
		e.bool(c.Expected)
		e.uint(uint64(c.ASN))
		e.addr(c.IP)
		e.text(c.What)
	})
	each(e, a.Accesses, func(e *encoder, m *MailAccess) {
		e.sec(m.At)
		e.uint(uint64(m.ID))
		e.uint(uint64(m.Count))
	})
	each(e, a.Days, func(e *encoder, c *DayCount) {
		e.uint(uint64(c.Day))
		e.uint(uint64(c.Count))
	})
	e.sec(a.FirstAccess)
	each(e, a.Sources, func(e *encoder, s *SourceAccess) {
		e.instant(s.At)
		e.id(s.ID)
		e.uint(s.Network)
		e.uint(uint64(s.ASN))
		e.uint(uint64(s.Count))
		e.bool(s.Sync)
		e.uint(uint64(s.App))
		e.addr(s.IP)
	})
}

func getAccount(d *decoder, a *AccountHistory) {
	a.Changes = eachOf(d, a.Changes, func(d *decoder, c *AccountChange) {
		c.At = d.instant()
		c.ID = d.id()
		c.Kind = d.u8()
		c.MailScopes = d.bool()
		c.Expected = d.bool()
		c.ASN = d.u32()
		c.IP = d.addr()
		c.What = d.text()
	})
	a.Accesses = eachOf(d, a.Accesses, func(d *decoder, m *MailAccess) {
		m.At = d.sec()
		m.ID = d.u32()
		m.Count = d.u32()
	})
	a.Days = eachOf(d, a.Days, func(d *decoder, c *DayCount) {
		c.Day = d.u32()
		c.Count = d.u32()
	})
	a.FirstAccess = d.sec()
	a.Sources = eachOf(d, a.Sources, func(d *decoder, s *SourceAccess) {
		s.At = d.instant()
		s.ID = d.id()
		s.Network = d.uint()
		s.ASN = d.u32()
		s.Count = d.u32()
		s.Sync = d.bool()
		s.App = d.u32()
		s.IP = d.addr()
	})
}

func putStage(e *encoder, s *Stage) {
	e.uint(uint64(s.Kind))
	e.instant(s.At)
	e.id(s.ID)
	e.addr(s.IP)
	e.uint(uint64(s.ASN))
	e.uint(uint64(s.Session))
	e.str(s.Rule)
	e.str(s.Reason)
}

func getStage(d *decoder, s *Stage) {
	s.Kind = StageKind(d.u8())
	s.At = d.instant()
	s.ID = d.id()
	s.IP = d.addr()
	s.ASN = d.u32()
	s.Session = d.u32()
	s.Rule = d.str()
	s.Reason = d.str()
}

func putFound(e *encoder, f *Found) {
	each(e, f.Stages.List, putStage)
	each(e, f.Emitted.List, func(e *encoder, m *Emission) {
		e.uint(m.Identity)
		e.uint(m.Carrier)
		e.instant(m.At)
	})
	each(e, f.Held, func(e *encoder, h *Held) {
		e.str(h.Rule)
		e.uint(uint64(h.Severity))
		e.str(h.Reason)
		e.str(h.User)
		each(e, h.Evidence, func(e *encoder, v *HeldEvidence) {
			e.id(v.ID)
			e.instant(v.At)
		})
		each(e, h.Anchors, putStage)
		e.uint(h.Identity)
	})
	each(e, f.Logged, func(e *encoder, l *Logged) {
		e.str(l.Rule)
		e.time(l.At)
	})
}

func getFound(d *decoder, f *Found) {
	f.Stages.List = eachOf(d, f.Stages.List, getStage)
	f.Emitted.List = eachOf(d, f.Emitted.List, func(d *decoder, m *Emission) {
		m.Identity = d.uint()
		m.Carrier = d.uint()
		m.At = d.instant()
	})
	f.Held = eachOf(d, f.Held, func(d *decoder, h *Held) {
		h.Rule = d.str()
		h.Severity = d.u8()
		h.Reason = d.str()
		h.User = d.str()
		h.Evidence = eachOf(d, h.Evidence, func(d *decoder, v *HeldEvidence) {
			v.ID = d.id()
			v.At = d.instant()
		})
		if len(h.Evidence) == 0 {
			d.fail() // a held detection has evidence: its release reads the last
		}
		h.Anchors = eachOf(d, h.Anchors, getStage)
		h.Identity = d.uint()
	})
	f.Logged = eachOf(d, f.Logged, func(d *decoder, l *Logged) {
		l.Rule = d.str()
		l.At = d.time()
	})
}
