package loadgen

import (
	"math"
	"math/rand/v2"
	"net/netip"
	"time"
)

// Benign behaviour that looks like today's takeovers, so that the detectors'
// false-positive classes are exercised and stay silent (processor README,
// "False positives"; the detectors' doc comments):
//
//   - a person registers Authenticator on a new phone from home, with no
//     risk before it (persistence is silent from a known address);
//   - a person's new laptop: Outlook signs in at home and syncs every
//     folder, through an application the mailbox had not seen, with no
//     consent before it (mail collection is silent);
//   - a phone's Outlook session moves from home Wi-Fi onto the carrier and
//     back, in one country (session replay is silent);
//   - the admin signs in to the Azure CLI with a device code at the office
//     (device code phishing is silent on trusted networks).
//
// A known address means one the person signed in from before the allowed
// lateness (a day): the two that need one come from the second day on, with
// a sign-in from home the evening before.

// Applications of the look-alikes.
const (
	mySigninsAppID  = "19db86c3-b2b9-44cc-b339-36da233a3be2" // My Signins (security info)
	azureCLIAppID   = "04b07795-8ddb-461a-bbee-02f9e1bf7b46" // Microsoft Azure CLI
	outlookMobileID = "27922004-5251-4030-b22d-91ecd9a37ea4" // Outlook Mobile
)

// Shares of people per day; at least one person a day each (README, "The
// mix").
const (
	sharePhoneRegistration = 0.003
	shareNewLaptop         = 0.002
	sharePhoneHop          = 0.01
)

// firstSyncFolders are the folders Outlook downloads on its first sync.
var firstSyncFolders = []string{`\Inbox`, `\Drafts`, `\Sent Items`, `\Deleted Items`, `\Archive`, `\Junk Email`,
	`\Outbox`, `\Conversation History`, `\RSS Subscriptions`, `\Sync Issues`, `\Calendar`, `\Contacts`, `\Tasks`, `\Notes`,
	`\Inbox\Projects`, `\Inbox\Newsletters`, `\Inbox\Customers`, `\Inbox\Invoices`, `\Archive\2025`, `\Archive\2024`}

// lookalike writes one person's benign records of one day.
type lookalike struct {
	g   *Generator
	r   *rand.Rand
	u   *user
	day int
	seq int
}

// lookalikeKey is unique per look-alike record: bit 62 set (scenario keys
// set bit 63, benign event keys use neither), day, user, sequence.
func lookalikeKey(day, user, seq int) uint64 {
	return 1<<62 | uint64(day)<<40 | uint64(user)<<16 | uint64(seq)
}

func (l *lookalike) id() string {
	l.seq++
	return l.g.ids.guid(lookalikeKey(l.day, l.u.idx, l.seq))
}

func (l *lookalike) file(rec Record) {
	rec.User = l.u.upn
	l.g.file(rec)
}

// planLookalikes picks, day by day, the people who do each of the
// look-alikes, among those no scenario chose (and not the admin or VPN
// users, whose home is not theirs), and writes their records.
func (g *Generator) planLookalikes() {
	var pool []int
	for _, i := range g.eligible() {
		if !g.attacked[i] {
			pool = append(pool, i)
		}
	}
	perDay := func(share float64) int { return max(1, int(math.Round(share*float64(g.cfg.Users)))) }
	for day := 0; day < g.cfg.Days; day++ {
		r := rand.New(rand.NewPCG(g.cfg.Seed, 0x6c6f6f6b<<16|uint64(day)))
		order := append([]int(nil), pool...)
		r.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		next := func() *user {
			if len(order) == 0 {
				return nil
			}
			u := &g.users[order[0]]
			order = order[1:]
			return u
		}
		do := func(n int, fn func(*lookalike, time.Time)) {
			for ; n > 0; n-- {
				if u := next(); u != nil {
					l := &lookalike{g: g, r: r, u: u, day: day}
					fn(l, l.evening())
				}
			}
		}
		do(perDay(sharePhoneHop), (*lookalike).phoneHop)
		if day >= 1 {
			do(perDay(sharePhoneRegistration), (*lookalike).phoneRegistration)
			do(perDay(shareNewLaptop), (*lookalike).newLaptop)
		}
		if wd := g.cfg.Start.AddDate(0, 0, day).Weekday(); wd != time.Saturday && wd != time.Sunday && g.cfg.Users > 0 {
			l := &lookalike{g: g, r: r, u: &g.users[0], day: day}
			l.adminDeviceCode()
		}
	}
}

// evening is a moment between 19:00 and 21:30 in the person's local time,
// kept inside the UTC day with room for what follows it.
func (l *lookalike) evening() time.Time {
	minute := ((19*60+l.r.IntN(150)-l.u.office.tz)%1440 + 1440) % 1440
	minute = min(max(minute, 60), 1440-90)
	return l.g.cfg.Start.AddDate(0, 0, l.day).Add(time.Duration(minute)*time.Minute + time.Duration(l.r.IntN(60))*time.Second)
}

// signIn is the person's own sign-in from ip.
func (l *lookalike) signIn(at time.Time, ip netip.Addr, where place, interactive bool) *signIn {
	br := browsers[l.u.browser]
	return &signIn{id: l.id(), correlationID: randGUID(l.r), at: at, u: l.u, ip: ip, where: where, interactive: interactive,
		clientApp: "Browser", ua: br.ua, os: br.os, browser: br.browser, appID: officeAppID, appName: "OfficeHome",
		resource: "Office 365 Exchange Online", riskDuring: "none", riskAggregated: "none", riskState: "none", deviceID: l.u.device}
}

func (l *lookalike) graph(s *signIn) {
	l.file(Record{ID: s.id, Shape: ShapeGraph, Label: "graph/signIn", Time: s.at, JSON: appendGraphSignIn(nil, s)})
}

func (l *lookalike) azure(s *signIn) {
	label := "azure_monitor/SignInLogs"
	if !s.interactive {
		label = "azure_monitor/NonInteractiveUserSignInLogs"
	}
	l.file(Record{ID: s.id, Shape: ShapeAzureMonitor, Label: label, Time: s.at, JSON: appendAzureSignIn(nil, s)})
}

// homeTheEveningBefore is a sign-in from home 25 hours before at: the home
// is a known network when at is judged (the allowed lateness before it).
func (l *lookalike) homeTheEveningBefore(at time.Time) {
	before := at.Add(-25*time.Hour - time.Duration(l.r.IntN(30))*time.Minute)
	if before.Before(l.g.cfg.Start) {
		before = l.g.cfg.Start.Add(time.Minute)
	}
	home, where := l.u.addr(wHome)
	l.graph(l.signIn(before, home, where, true))
}

// phoneRegistration: the person opens My Sign-ins at home and registers
// Authenticator on a new phone; the O365 feed reports the same change.
func (l *lookalike) phoneRegistration(at time.Time) {
	l.homeTheEveningBefore(at)
	home, where := l.u.addr(wHome)
	s := l.signIn(at.Add(-3*time.Minute), home, where, true)
	s.appID, s.appName, s.resource = mySigninsAppID, "My Signins", "Microsoft Graph"
	l.graph(s)
	a := securityInfoAudit(l.id(), at, l.u, home, l.r)
	l.file(Record{ID: a.id, Shape: ShapeEntraAudit, Label: "entra_audit/" + a.activity, Time: at, JSON: appendAzureAuditLog(nil, a)})
	o := updateUserMFA(l.id(), at.Add(3*time.Second), l.u, "iPhone 15", l.r)
	l.file(Record{ID: o.id, Shape: ShapeO365, Label: "o365/Update user.", Time: o.at, JSON: appendO365UpdateUser(nil, o)})
}

// newLaptop: Outlook on a new laptop signs in at home and downloads every
// folder (one Sync each), through Outlook's own application.
func (l *lookalike) newLaptop(at time.Time) {
	l.homeTheEveningBefore(at)
	home, where := l.u.addr(wHome)
	s := l.signIn(at, home, where, true)
	outlook := browsers[4]
	s.appID, s.appName, s.clientApp = outlookAppID, "Microsoft Office", "Mobile Apps and Desktop clients"
	s.ua, s.os, s.browser, s.deviceID = outlook.ua, outlook.os, outlook.browser, randGUID(l.r)
	l.azure(s)
	session := randGUID(l.r)
	for i, folder := range firstSyncFolders {
		m := &mailItem{id: l.id(), sessionID: session, at: at.Add(time.Minute + time.Duration(i)*25*time.Second), op: "MailItemsAccessed",
			owner: l.u, actor: l.u, ip: home, clientInfo: "Client=MSExchangeRPC", appID: outlookAppID, clientAppID: outlookAppID,
			folder: folder, sync: true}
		l.file(Record{ID: m.id, Shape: ShapeO365, Label: "o365/MailItemsAccessed", Time: m.at, JSON: appendMailItem(nil, m, l.r)})
	}
}

// phoneHop: Outlook on the phone signs in on home Wi-Fi; its session is
// refreshed from the carrier 25 minutes later and at home again after an
// hour, all in one country.
func (l *lookalike) phoneHop(at time.Time) {
	session := randGUID(l.r)
	for i, hop := range []struct {
		after time.Duration
		on    where
	}{{0, wHome}, {25 * time.Minute, wMobile}, {70 * time.Minute, wHome}} {
		ip, where := l.u.addr(hop.on)
		s := l.signIn(at.Add(hop.after), ip, where, i == 0)
		s.appID, s.appName, s.clientApp = outlookMobileID, "Outlook Mobile", "Mobile Apps and Desktop clients"
		s.ua, s.os, s.browser, s.deviceID = mobileUA, "Ios", "Outlook 4.2450.0", ""
		s.sessionID, s.tokenID = session, randToken(l.r)
		l.azure(s)
	}
}

// adminDeviceCode: the admin signs in to the Azure CLI with a device code
// at the office in the morning, and the CLI refreshes its token later.
func (l *lookalike) adminDeviceCode() {
	local := 10*60 + l.r.IntN(90)
	minute := min(max(((local-l.u.office.tz)%1440+1440)%1440, 60), 1440-90)
	at := l.g.cfg.Start.AddDate(0, 0, l.day).Add(time.Duration(minute) * time.Minute)
	office, where := l.u.addr(wOffice)
	for i, after := range []time.Duration{0, 40 * time.Minute} {
		s := l.signIn(at.Add(after), office, where, i == 0)
		s.appID, s.appName, s.clientApp, s.resource = azureCLIAppID, "Microsoft Azure CLI", "Mobile Apps and Desktop clients", "Windows Azure Service Management API"
		s.ua, s.os, s.browser = "", "Linux", ""
		if i == 0 {
			s.authProtocol = "deviceCode"
		} else {
			s.transferMethod = "deviceCodeFlow"
		}
		s.tokenID = randToken(l.r)
		l.azure(s)
	}
}
