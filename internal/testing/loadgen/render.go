package loadgen

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"strconv"
	"time"
)

// subjects are the threads of ordinary business mail.
var subjects = []string{
	"Q4 planning", "Weekly status", "Team offsite logistics", "Budget review", "Customer escalation",
	"Contract renewal", "Hiring update", "Release notes", "Board deck draft", "Travel approval",
	"Invoice 4432 - March delivery", "Purchase order", "Security training reminder", "Lunch on Friday?",
	"Meeting notes", "Project Falcon kickoff", "Quarterly business review", "Vendor onboarding",
	"Expense report", "Roadmap feedback", "Support ticket follow-up", "Marketing campaign results",
	"Legal review of NDA", "Office move", "Performance review schedule", "Sales pipeline",
}

// Mailbox servers, to make message ids look like Exchange Online's.
var servers = []string{"AM6PR01MB4535", "DB3PR0102MB3500", "CH0PR18MB5530", "SA1PR12MB6931", "PH0PR14MB4341"}

func msgID(key uint64) string {
	h := mix64(key ^ 0x6d736769)
	s := servers[h%uint64(len(servers))]
	return fmt.Sprintf("<%s%016X@%s.eurprd01.prod.exchangelabs.com>", s, h, s)
}

// subjectOf picks a subject for a mail event from its aux bits: a thread,
// its number, and whether this is a reply.
func subjectOf(aux int32) string {
	a := uint32(aux)
	s := subjects[(a>>1)%uint32(len(subjects))] + " " + strconv.Itoa(int(a>>8)%90+10)
	if a&1 == 1 {
		return "RE: " + s
	}
	return s
}

// addr returns the client address and place of a person on a network.
func (u *user) addr(w where) (netip.Addr, place) {
	switch w {
	case wOffice:
		return u.office.egress, u.office.place()
	case wVPN:
		return vpnEgress.egress, vpnEgress.place()
	case wApp:
		return marketingIP, place{"Dublin", "Leinster", "IE", 53.3498, -6.2603}
	case wMobile:
		p := u.office.place()
		p.lat, p.lon = u.homeLat+0.01, u.homeLon-0.01
		return u.mobile, p
	}
	p := u.office.place()
	p.lat, p.lon = u.homeLat, u.homeLon
	return u.home, p
}

// render writes event e into b and fills rec (except JSON).
func (g *Generator) render(b []byte, e *event, rec *Record) []byte {
	key := recordKey(int(e.day), int(e.user), int(e.seq))
	r := rand.New(rand.NewPCG(key, g.ids.salt))
	u := &g.users[e.user]
	at := time.Unix(0, e.at).UTC()
	ip, where := u.addr(e.where)
	*rec = Record{Time: at, User: u.upn}
	switch e.kind {
	case kGraphSignIn, kAzureSignIn, kNonInteractive, kScannerSignIn:
		s := g.benignSignIn(e, u, at, ip, where, r)
		s.id = g.ids.guid(key)
		rec.ID = s.id
		if e.kind == kGraphSignIn {
			rec.Shape, rec.Label = ShapeGraph, "graph/signIn"
			return appendGraphSignIn(b, s)
		}
		rec.Shape = ShapeAzureMonitor
		if s.interactive {
			rec.Label = "azure_monitor/SignInLogs"
		} else {
			rec.Label = "azure_monitor/NonInteractiveUserSignInLogs"
		}
		return appendAzureSignIn(b, s)
	case kO365Login, kO365LoginFailed:
		br := browsers[u.browser]
		l := o365Login{id: g.ids.guid(key), sessionID: randGUID(r), at: at, u: u, ip: ip, ua: br.ua, os: br.o365OS, brw: br.o365Browser,
			failed: e.kind == kO365LoginFailed, requestType: "Login:login", interSystems: randGUID(r)}
		if e.where == wMobile {
			l.ua, l.os, l.brw = mobileUA, "Ios", "Outlook"
		}
		rec.ID, rec.Shape = l.id, ShapeO365
		rec.Label = "o365/UserLoggedIn"
		if l.failed {
			rec.Label = "o365/UserLoginFailed"
		}
		return appendO365Login(b, &l)
	case kSend, kAccessed, kSoftDelete, kCreate, kScannerSend, kSharedSend, kBulkSend:
		m := g.benignMail(e, u, at, ip, key, r)
		rec.ID, rec.Shape, rec.Label, rec.User = m.id, ShapeO365, "o365/"+m.op, m.owner.upn
		return appendMailItem(b, m, r)
	case kCmdlet, kMigrationGrant:
		c := g.adminCmdlet(e, u, at, ip, key, r)
		rec.ID, rec.Shape, rec.Label = c.id, ShapeO365, "o365/"+c.op
		if c.op != "Add-DistributionGroupMember" {
			rec.User = c.objectID // the mailbox the cmdlet acted on
		}
		return appendCmdlet(b, c)
	case kNewInboxRule:
		c := cmdlet{id: g.ids.guid(key), sessionID: randGUID(r), at: at, actor: u, op: "New-InboxRule",
			objectID: u.upn + `\Newsletters`, ip: ip, port: 1024 + r.IntN(60000),
			params: [][2]string{{"AlwaysDeleteOutlookRulesBlob", "False"}, {"Force", "False"}, {"From", "news@vendor.example"},
				{"MoveToFolder", "Newsletters"}, {"Name", "Newsletters"}, {"StopProcessingRules", "False"}}}
		rec.ID, rec.Shape, rec.Label = c.id, ShapeO365, "o365/New-InboxRule"
		return appendCmdlet(b, &c)
	case kOutlookRule:
		o := outlookRule{id: g.ids.guid(key), sessionID: randGUID(r), at: at, u: u, ip: ip, name: "Project Falcon",
			condition: "SubjectContainsWords Falcon", state: "Enabled", actions: "MoveToFolder Projects",
			ruleID: strconv.FormatUint(r.Uint64()>>1, 10)}
		rec.ID, rec.Shape, rec.Label = o.id, ShapeO365, "o365/UpdateInboxRules"
		return appendOutlookRule(b, &o)
	case kGoogleLogin:
		name, params := "login_success", [][2]string{{"login_type", "google_password"}, {"login_challenge_method", "password"}, {"is_suspicious", "false"}}
		if e.fail != fNone {
			name = "login_failure"
			params = [][2]string{{"login_type", "google_password"}, {"login_challenge_method", "password"},
				{"login_failure_type", "login_failure_invalid_password"}, {"is_suspicious", "false"}}
		}
		a := googleActivity{id: g.ids.googleID(key), at: at, u: u, ip: ip, application: "login", eventType: "login",
			eventName: name, params: params, etag: etag(r)}
		rec.ID, rec.Shape, rec.Label, rec.User = a.id, ShapeGoogle, "google/"+name, u.googleMail
		return appendGoogle(b, &a)
	}
	panic("loadgen: unknown event kind")
}

func etag(r *rand.Rand) string {
	const chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	b := make([]byte, 0, 72)
	b = append(b, '"')
	for i := 0; i < 43; i++ {
		b = append(b, chars[r.IntN(len(chars))])
	}
	b = append(b, '/')
	for i := 0; i < 27; i++ {
		b = append(b, chars[r.IntN(len(chars))])
	}
	return string(append(b, '"'))
}

func (g *Generator) benignSignIn(e *event, u *user, at time.Time, ip netip.Addr, where place, r *rand.Rand) *signIn {
	br := browsers[u.browser]
	s := &signIn{correlationID: randGUID(r), at: at, u: u, ip: ip, where: where,
		interactive: e.kind != kNonInteractive, clientApp: "Browser", ua: br.ua, os: br.os, browser: br.browser,
		appID: officeAppID, appName: "OfficeHome", resource: "Office 365 Exchange Online",
		riskDuring: "none", riskAggregated: "none", riskState: "none", deviceID: u.device}
	// Jitter the coordinates a little: geolocation of one city varies.
	s.where.lat += (r.Float64() - 0.5) * 0.02
	s.where.lon += (r.Float64() - 0.5) * 0.02
	switch {
	case e.kind == kNonInteractive:
		s.appID, s.appName, s.clientApp = outlookAppID, "Microsoft Office", "Mobile Apps and Desktop clients"
	case e.kind == kScannerSignIn:
		s.clientApp, s.appID, s.appName, s.ua, s.os, s.browser = "Authenticated SMTP", exchangeAppID, "Office 365 Exchange Online", "", "", ""
		s.deviceID = ""
	}
	if e.where == wMobile {
		s.ua, s.os, s.browser, s.clientApp = mobileUA, "Ios", "Outlook 4.2450.0", "Mobile Apps and Desktop clients"
	}
	switch e.fail {
	case fBadPassword:
		s.errorCode, s.failureReason = 50126, "Error validating credentials due to invalid username or password."
		s.additionalDetails = "The user didn't enter the right credentials."
	case fMFAPrompt:
		s.errorCode, s.failureReason = 50074, "Strong Authentication is required."
		s.additionalDetails = "MFA required in Azure AD"
	}
	return s
}

func (g *Generator) benignMail(e *event, u *user, at time.Time, ip netip.Addr, key uint64, r *rand.Rand) *mailItem {
	m := &mailItem{id: g.ids.guid(key), sessionID: randGUID(r), at: at, owner: u, actor: u, ip: ip,
		appID: exchangeAppID, size: 4000 + r.IntN(120000), msgID: msgID(key)}
	switch e.where {
	case wMobile:
		m.clientInfo = "Client=REST;Client=RESTSystem;;"
	case wOffice:
		m.clientInfo = "Client=MSExchangeRPC"
	default:
		m.clientInfo = "Client=OWA;Action=ViaProxy"
	}
	switch e.kind {
	case kSend:
		m.op, m.folder, m.subject = "Send", `\Sent Items`, subjectOf(e.aux)
	case kCreate:
		m.op, m.folder, m.subject = "Create", `\Drafts`, subjectOf(e.aux&^1)
	case kAccessed:
		m.op, m.folder = "MailItemsAccessed", `\Inbox`
		for i := 0; i <= int(uint32(e.aux)%4); i++ {
			m.accessed = append(m.accessed, msgID(key+uint64(i)<<56))
		}
	case kSoftDelete:
		// Mostly read mail from the Inbox; now and then junk, and old sent
		// mail (never minutes-old sent mail: that is the attack pattern).
		m.op, m.subject = "SoftDelete", subjectOf(e.aux)
		switch x := uint32(e.aux) % 20; {
		case x == 0:
			m.folder = `\Sent Items`
		case x < 3:
			m.folder = `\Junk Email`
		default:
			m.folder = `\Inbox`
		}
	case kScannerSend:
		m.op, m.folder, m.subject, m.clientInfo = "Send", `\Sent Items`, "Scanned document "+strconv.Itoa(int(uint32(e.aux)%100000)), "Client=SMTP"
	case kSharedSend:
		// A delegate answers from the shared mailbox.
		m.op, m.folder, m.subject = "Send", `\Sent Items`, "RE: Your enquiry "+strconv.Itoa(int(uint32(e.aux)%100000))
		m.actor = &g.users[int(uint32(e.aux))%g.cfg.Users]
	case kBulkSend:
		m.op, m.folder, m.subject = "Send", `\Sent Items`, "Contoso newsletter - "+at.Format("January 2")+
			": the winter product launch, customer stories, upcoming webinars and events near you"
		m.appID, m.clientInfo = marketingAppID, "Client=REST;Client=RESTSystem;;"
		// Newsletters carry their images: Exchange lists each attachment
		// on the Send record, which makes the relay's records the largest
		// of its mail.
		m.attachments = "Contoso-Newsletter-" + at.Format("2006-01-02") + ".pdf (1843211b); header-banner-" + at.Format("January") +
			".png (241822b); product-spotlight.jpg (388104b); webinar-invitation.ics (4811b); contoso-logo.png (20481b)"
	}
	return m
}

// adminCmdlet renders an administrator's routine mailbox maintenance, or
// the migration grants of the change window.
func (g *Generator) adminCmdlet(e *event, u *user, at time.Time, ip netip.Addr, key uint64, r *rand.Rand) *cmdlet {
	target := &g.users[int(uint32(e.aux)>>3)%g.cfg.Users]
	if e.kind == kMigrationGrant {
		target = &g.users[int(e.aux)]
	}
	c := &cmdlet{id: g.ids.guid(key), sessionID: randGUID(r), at: at, actor: u, userType: 2, ip: ip,
		port: 1024 + r.IntN(60000), objectID: target.upn}
	if e.kind == kMigrationGrant {
		c.op = "Add-MailboxPermission"
		c.params = [][2]string{{"Identity", target.upn}, {"User", migrationTarget}, {"AccessRights", "FullAccess"}, {"InheritanceType", "All"}}
		return c
	}
	switch uint32(e.aux) % 5 {
	case 0:
		c.op, c.params = "Set-Mailbox", [][2]string{{"Identity", target.upn}, {"RetainDeletedItemsFor", "30.00:00:00"}}
	case 1:
		c.op, c.params = "Set-Mailbox", [][2]string{{"Identity", target.upn}, {"ProhibitSendQuota", "49.5 GB (53,150,220,288 bytes)"}}
	case 2:
		c.op, c.params = "Set-Mailbox", [][2]string{{"Identity", target.upn}, {"LitigationHoldEnabled", "True"}}
	case 3:
		c.op, c.params = "Set-CASMailbox", [][2]string{{"Identity", target.upn}, {"OWAEnabled", "True"}}
	default:
		c.op, c.params = "Add-DistributionGroupMember", [][2]string{{"Identity", "all-staff@" + Domain}, {"Member", target.upn}}
		c.objectID = "all-staff"
	}
	return c
}
