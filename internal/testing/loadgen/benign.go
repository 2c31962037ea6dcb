package loadgen

import (
	"cmp"
	"math/rand/v2"
	"net/netip"
	"runtime"
	"slices"
	"sync"
	"time"
)

// Per-person event rates per working day, before the person's activity
// factor (log-normal, median 1) and the weekend factor. See README.md for
// where the numbers come from.
const (
	rateGraphInteractive = 1.5
	rateAzureInteractive = 1.5
	rateNonInteractive   = 12
	rateO365Login        = 4
	rateO365LoginFailed  = 0.2
	rateSend             = 10
	rateMailAccessed     = 8
	rateSoftDelete       = 4
	rateCreate           = 1
	rateNewInboxRule     = 0.01
	rateOutlookRule      = 0.01
	rateGoogleLogin      = 2
	rateAdminCmdlets     = 4
	weekendFactor        = 0.15
	// Shares of interactive Entra sign-ins that fail: a mistyped password
	// (50126) and an MFA interrupt (50074, "strong authentication required").
	shareBadPassword = 0.03
	shareMFAPrompt   = 0.04
)

// hourWeights is the diurnal profile of a working day in local time: a
// morning peak, a lunch dip, an afternoon plateau and a quiet night.
var hourWeights = [24]float64{
	0.2, 0.1, 0.1, 0.1, 0.1, 0.2, 0.6, 1.5, 4, 6, 6, 5.5,
	3.5, 5, 5.5, 5, 4.5, 3, 1.5, 1, 1, 0.8, 0.5, 0.3,
}

// weekendWeights is flatter and later.
var weekendWeights = [24]float64{
	0.3, 0.2, 0.1, 0.1, 0.1, 0.1, 0.2, 0.4, 0.8, 1.2, 1.5, 1.5,
	1.5, 1.5, 1.5, 1.5, 1.5, 1.5, 1.5, 1.8, 1.8, 1.5, 1, 0.6,
}

type kind uint8

const (
	kGraphSignIn kind = iota
	kAzureSignIn
	kNonInteractive
	kO365Login
	kO365LoginFailed
	kGoogleLogin
	kSend
	kAccessed
	kSoftDelete
	kCreate
	kCmdlet
	kNewInboxRule
	kOutlookRule
	kMigrationGrant
	kScannerSignIn
	kScannerSend
	kSharedSend
	kBulkSend
)

// where is the network a person works from at a given moment.
type where uint8

const (
	wOffice where = iota
	wHome
	wMobile
	wVPN
	wApp // a cloud application sending on the tenant's behalf
)

// Failure variants of a sign-in event.
const (
	fNone uint8 = iota
	fBadPassword
	fMFAPrompt
)

// event is a benign record before rendering: compact, so a day of a large
// tenant fits in memory; everything else is derived from the key.
type event struct {
	at    int64 // unix nanoseconds
	user  int32
	seq   int32
	day   int32
	aux   int32
	kind  kind
	where where
	fail  uint8
}

var marketingIP = netip.MustParseAddr("192.0.2.10")

// dayEvents returns the benign events of the users [from, to) on a day,
// sorted by time; return it with putEvents.
func (g *Generator) dayEvents(day, from, to int) *[]event {
	out := g.eventPool.Get().(*[]event)
	*out = (*out)[:0]
	workers := min(runtime.GOMAXPROCS(0), max(1, (to-from)/256))
	parts := make([][]event, workers)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		lo, hi := from+(to-from)*w/workers, from+(to-from)*(w+1)/workers
		wg.Go(func() {
			var evs []event
			for i := lo; i < hi; i++ {
				evs = g.userDay(evs, &g.users[i], day)
			}
			parts[w] = evs
		})
	}
	wg.Wait()
	for _, p := range parts {
		*out = append(*out, p...)
	}
	slices.SortFunc(*out, func(a, b event) int {
		if c := cmp.Compare(a.at, b.at); c != 0 {
			return c
		}
		if c := cmp.Compare(a.user, b.user); c != 0 {
			return c
		}
		return cmp.Compare(a.seq, b.seq)
	})
	return out
}

func (g *Generator) putEvents(e *[]event) {
	if cap(*e) > 1<<22 {
		return
	}
	g.eventPool.Put(e)
}

// userDay appends one user's events of one UTC day. The day is the user's
// working day in local time, wrapped into the UTC day, so that every day of
// the period holds exactly one diurnal cycle of every user whatever their
// time zone.
func (g *Generator) userDay(dst []event, u *user, day int) []event {
	r := rand.New(rand.NewPCG(g.cfg.Seed^0x5eed, uint64(day)<<32|uint64(u.idx)))
	date := g.cfg.Start.AddDate(0, 0, day)
	weekend := date.Weekday() == time.Saturday || date.Weekday() == time.Sunday
	start := len(dst)
	d := dayGen{g: g, r: r, u: u, day: day, date: date, weekend: weekend, dst: dst, start: start}
	switch u.kind {
	case person:
		d.person()
	case serviceAccount:
		d.scanner()
	case sharedMailbox:
		d.shared()
	case bulkSender:
		d.bulk()
	}
	dst = d.dst
	mine := dst[start:]
	slices.SortFunc(mine, func(a, b event) int { return cmp.Compare(a.at, b.at) })
	if u.kind == person {
		dst = append(dst[:start], d.withSessions(mine)...)
		mine = dst[start:]
	}
	// Victims are quiet around their attack; drop what falls in the window.
	if q, ok := g.quiet[u.idx]; ok {
		kept := mine[:0]
		for _, e := range mine {
			t := time.Unix(0, e.at)
			if t.Before(q[0]) || !t.Before(q[1]) {
				kept = append(kept, e)
			}
		}
		dst = dst[:start+len(kept)]
		mine = dst[start:]
	}
	for i := range mine {
		mine[i].seq = int32(i)
	}
	return dst
}

type dayGen struct {
	g       *Generator
	r       *rand.Rand
	u       *user
	day     int
	date    time.Time
	weekend bool
	remote  bool
	dst     []event
	// start is where this user's events begin in dst.
	start int
}

func (d *dayGen) add(k kind, mean float64) {
	for n := poisson(d.r, mean); n > 0; n-- {
		d.dst = append(d.dst, event{at: d.sampleTime(), user: int32(d.u.idx), day: int32(d.day), kind: k, aux: d.r.Int32()})
	}
}

// sampleTime draws a moment of the day from the diurnal profile in the
// user's local time, wrapped into the UTC day.
func (d *dayGen) sampleTime() int64 {
	weights := &hourWeights
	if d.weekend {
		weights = &weekendWeights
	}
	total := 0.0
	for _, w := range weights {
		total += w
	}
	x := d.r.Float64() * total
	hour := 0
	for hour < 23 && x >= weights[hour] {
		x -= weights[hour]
		hour++
	}
	local := time.Duration(hour)*time.Hour + time.Duration(d.r.Int64N(int64(time.Hour)))
	utc := (local - time.Duration(d.u.office.tz)*time.Minute + 24*time.Hour) % (24 * time.Hour)
	return d.date.Add(utc).Truncate(time.Second).UnixNano()
}

func (d *dayGen) person() {
	f := d.u.activity * d.g.cfg.Volume
	if d.weekend {
		f *= weekendFactor
	}
	d.remote = !d.weekend && d.r.Float64() < d.u.remoteDays
	d.add(kGraphSignIn, rateGraphInteractive*f)
	d.add(kAzureSignIn, rateAzureInteractive*f)
	d.add(kNonInteractive, rateNonInteractive*f)
	d.add(kO365Login, rateO365Login*f)
	d.add(kO365LoginFailed, rateO365LoginFailed*f)
	d.add(kSend, rateSend*f)
	d.add(kAccessed, rateMailAccessed*f)
	d.add(kSoftDelete, rateSoftDelete*f)
	d.add(kCreate, rateCreate*f)
	d.add(kNewInboxRule, rateNewInboxRule*f)
	d.add(kOutlookRule, rateOutlookRule*f)
	if d.u.google {
		d.add(kGoogleLogin, rateGoogleLogin*f)
	}
	if d.u.admin && !d.weekend {
		d.add(kCmdlet, rateAdminCmdlets*d.g.cfg.Volume)
	}
	if d.u.idx == 0 && d.day == 0 {
		d.migration()
	}
	for i := d.start; i < len(d.dst); i++ {
		e := &d.dst[i]
		e.where = d.whereAt(e.at)
		switch e.kind {
		case kGraphSignIn, kAzureSignIn:
			x := d.r.Float64()
			switch {
			case x < shareBadPassword:
				e.fail = fBadPassword
			case x < shareBadPassword+shareMFAPrompt:
				e.fail = fMFAPrompt
			}
		case kGoogleLogin:
			if d.r.Float64() < 0.025 {
				e.fail = fBadPassword
			}
		}
	}
}

// migration is the admin's change window of the first evening: mailbox
// access for the migration service account on a few dozen mailboxes.
func (d *dayGen) migration() {
	if d.g.cfg.Users < 2 {
		return
	}
	n := min(40, max(1, d.g.cfg.Users/50))
	w := d.g.change
	span := w.End.Sub(w.Start) - 10*time.Minute
	for i := 0; i < n; i++ {
		at := w.Start.Add(5*time.Minute + span*time.Duration(i)/time.Duration(n)).Truncate(time.Second)
		d.dst = append(d.dst, event{at: at.UnixNano(), user: int32(d.u.idx), day: int32(d.day), kind: kMigrationGrant,
			aux: int32(1 + d.r.IntN(d.g.cfg.Users-1))}) // never the admin's own mailbox
	}
}

// whereAt says where the person is at a moment: at the office in office
// hours of an office day, else at home, with an hour now and then on the
// phone; VPN users are on the VPN whenever they are not at the office.
// (A VPN user whose phone bypassed the VPN would be flagged new_country by
// design: the new-location detector learns the VPN's country from the
// trusted sign-ins; see the closing note of issue 7.)
func (d *dayGen) whereAt(at int64) where {
	local := time.Unix(0, at).UTC().Add(time.Duration(d.u.office.tz) * time.Minute)
	hour := local.Hour()
	if !d.weekend && !d.remote && hour >= 8 && hour < 18 {
		return wOffice
	}
	// VPN users' laptops and phones (per-app VPN) all go through the VPN.
	if d.u.vpn {
		return wVPN
	}
	// Phone hours are decided per hour, so a session stays on one network.
	if mix64(uint64(d.u.idx)<<32|uint64(d.day)<<8|uint64(hour))%5 == 0 {
		return wMobile
	}
	return wHome
}

// withSessions makes sure that every mailbox action comes from a network
// the person signed in from earlier that day: when none did, a token
// refresh (a non-interactive sign-in) a few minutes before is added, as
// Entra records one before a client touches the mailbox.
func (d *dayGen) withSessions(evs []event) []event {
	var signedIn [wApp + 1]bool
	out := make([]event, 0, len(evs)+8)
	for _, e := range evs {
		switch e.kind {
		case kGraphSignIn, kAzureSignIn:
			if e.fail == fNone {
				signedIn[e.where] = true
			}
		case kNonInteractive, kO365Login:
			signedIn[e.where] = true
		case kSend, kAccessed, kSoftDelete, kCreate, kCmdlet, kNewInboxRule, kOutlookRule, kMigrationGrant:
			if !signedIn[e.where] {
				ni := event{at: e.at - int64(time.Duration(1+d.r.IntN(4))*time.Minute), user: e.user, day: e.day,
					kind: kNonInteractive, where: e.where, aux: d.r.Int32()}
				if ni.at < d.date.UnixNano() {
					ni.at = d.date.UnixNano()
				}
				out = append(out, ni)
				signedIn[e.where] = true
			}
		}
		out = append(out, e)
	}
	slices.SortStableFunc(out, func(a, b event) int { return cmp.Compare(a.at, b.at) })
	return out
}

// scanner is the multifunction printer's account: SMTP AUTH sign-ins and
// scan-to-mail sends from the office on working days. It is a listed
// service account, so legacy authentication stays silent.
func (d *dayGen) scanner() {
	if d.weekend {
		return
	}
	for h := 7; h < 19; h++ { // local office hours
		at := d.date.Add(time.Duration(h)*time.Hour - time.Duration(d.u.office.tz)*time.Minute + time.Duration(d.r.IntN(3600))*time.Second)
		d.dst = append(d.dst, event{at: at.UnixNano(), user: int32(d.u.idx), day: int32(d.day), kind: kScannerSignIn, aux: d.r.Int32()})
	}
	d.add(kScannerSend, 20*d.g.cfg.Volume)
}

// shared is the info@ mailbox: replies sent by delegates on working days.
func (d *dayGen) shared() {
	if d.weekend {
		return
	}
	d.add(kSharedSend, 15*d.g.cfg.Volume)
}

// bulk is the newsletter mailbox: 300 messages (Config.BulkSends) in half
// an hour from the marketing tool on Mondays and Thursdays. It is an
// authorised sender.
func (d *dayGen) bulk() {
	if wd := d.date.Weekday(); wd != time.Monday && wd != time.Thursday {
		return
	}
	n := d.g.cfg.BulkSends
	if n == 0 {
		n = int(300 * d.g.cfg.Volume)
	}
	for i := 0; i < n; i++ {
		at := d.date.Add(8*time.Hour + time.Duration(i)*30*time.Minute/time.Duration(max(n, 1))).Truncate(time.Second)
		d.dst = append(d.dst, event{at: at.UnixNano(), user: int32(d.u.idx), day: int32(d.day), kind: kBulkSend, where: wApp, aux: int32(i)})
	}
}
