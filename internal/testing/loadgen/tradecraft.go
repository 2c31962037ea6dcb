package loadgen

import (
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"strconv"
	"time"
)

// Today's takeovers (issue 12): a session stolen by an adversary-in-the-
// middle proxy and replayed abroad, device code phishing, lockout bursts,
// MFA methods registered by the attacker, consent phishing, mailboxes
// harvested through MailItemsAccessed, and their chain.

// Applications the scenarios sign in to or sync through.
const (
	authBrokerAppID = "29d9ed98-a469-4536-ade2-f981bc1d605e" // Microsoft Authentication Broker
	drsServiceID    = "01cb2876-7ebd-4aa4-9cc9-d28bd4d359a9" // Device Registration Service
	graphServiceID  = "ce7199b4-8f52-46f3-b54b-4fd81de961e2" // Microsoft Graph's service principal
)

// Where the attackers of these scenarios are: a stolen session is replayed
// from Bucharest (a country no office is in), device codes are redeemed on
// a server in Ashburn.
var (
	bucharest = place{"Bucharest", "Bucharest", "RO", 44.4268, 26.1025}
	ashburn   = place{"Ashburn", "Virginia", "US", 39.0438, -77.4874}
)

// sideEffectsAbroad may fire on a successful sign-in from another country:
// new_country once the victim's history is learned (new_asn once sign-ins
// carry networks).
var sideEffectsAbroad = []string{RuleNewCountry, RuleNewASN}

// planTradecraft plans one of today's scenarios at the scenario's start.
func (p *planner) planTradecraft(name string) {
	T := p.s.Start
	switch name {
	case ScenarioSessionReplay:
		// The victim signs in through the proxy, which relays the session
		// cookie; the attacker replays it from abroad twice within the hour.
		session := p.aitmSignIn(T)
		p.replaySession(T.Add(14*time.Minute), session, []string{RuleSessionReplay})
		p.replaySession(T.Add(52*time.Minute), session, []string{RuleSessionReplay})
	case ScenarioDeviceCode:
		// The victim enters the attacker's code; the attacker's server gets
		// the tokens, refreshes them, and registers a device to the account.
		p.deviceCodeSignIn(T, []string{RuleDeviceCode})
		p.deviceCodeRefresh(T.Add(9*time.Minute), []string{RuleDeviceCode})
		p.deviceOwner(T.Add(17 * time.Minute))
	case ScenarioAccountLockout:
		// Ten wrong passwords, then smart lockout refuses five more tries:
		// from the third refusal on, three within half an hour.
		for i := 0; i < 10; i++ {
			p.failedSignIn(T.Add(time.Duration(i)*35*time.Second), 50126, nil)
		}
		for i := 0; i < 5; i++ {
			var must []string
			if i >= 2 {
				must = []string{RuleAccountLockout}
			}
			p.failedSignIn(T.Add(6*time.Minute+time.Duration(i)*40*time.Second), 50053, must)
		}
	case ScenarioMFARegistered:
		// A risky sign-in, then the attacker's own Authenticator registered
		// from the attacker's address: the Entra audit and the O365 feed's
		// copy of the change (which carries no address).
		p.signIn(T, p.nearHome(), browsers[1].ua, func(s *signIn) {
			s.riskDuring, s.riskAggregated, s.riskState = "high", "medium", "atRisk"
			s.riskEvents = []string{"unfamiliarFeatures"}
		}, []string{RuleIdPRisk}, []string{RuleNewASN})
		p.securityInfo(T.Add(6*time.Minute), p.ip, []string{RuleSecurityInfo})
		p.updateUserMFA(T.Add(6*time.Minute+4*time.Second), []string{RuleSecurityInfo})
	case ScenarioConsentPhish:
		// The victim, at home, signs in to the attacker's app and grants it
		// mail; the app syncs the mailbox from its server.
		app := p.oauthApp("Mail Archive Sync")
		p.homeSignInTo(T.Add(-2*time.Minute), app)
		// From home: fires only while the home is not yet a known network.
		p.consent(T, p.v.home, app, nil, []string{RuleMailAppConsent})
		for i, folder := range []string{`\Inbox`, `\Sent Items`, `\Archive`} {
			p.appSync(T.Add(22*time.Minute+time.Duration(i)*150*time.Second), app, folder, []string{RuleSyncByNewApp})
		}
	case ScenarioMailCollection:
		p.bulkRead(T)
	case ScenarioReplayChain:
		// Access (the replayed session), set-up (a mail consent from the
		// replay address) and abuse (the app's syncs): a chain on each sync.
		session := p.aitmSignIn(T)
		p.replaySession(T.Add(10*time.Minute), session, []string{RuleSessionReplay})
		app := p.oauthApp("Secure Mail Archive")
		p.consent(T.Add(18*time.Minute), p.replay, app, []string{RuleMailAppConsent}, nil)
		for i, folder := range []string{`\Inbox`, `\Sent Items`} {
			p.appSync(T.Add(31*time.Minute+time.Duration(i)*3*time.Minute), app, folder, []string{RuleSyncByNewApp, RuleChain})
		}
	}
}

// victimSignIn is an Entra sign-in as the victim, to be adjusted.
func (p *planner) victimSignIn(at time.Time, ip netip.Addr, where place, interactive bool) *signIn {
	return &signIn{id: p.g.ids.guid(p.key()), correlationID: randGUID(p.r), at: at, u: p.v, ip: ip, where: where,
		interactive: interactive, clientApp: "Browser", ua: browsers[1].ua, os: "Windows 10", browser: "Chrome 131.0.0",
		appID: officeAppID, appName: "OfficeHome", resource: "Office 365 Exchange Online",
		riskDuring: "none", riskAggregated: "none", riskState: "none"}
}

// emitAzure files an Azure Monitor sign-in.
func (p *planner) emitAzure(s *signIn, must, may []string) {
	label := "azure_monitor/SignInLogs"
	if !s.interactive {
		label = "azure_monitor/NonInteractiveUserSignInLogs"
	}
	p.emit(Record{ID: s.id, Shape: ShapeAzureMonitor, Label: label, Time: s.at, User: p.v.upn, JSON: appendAzureSignIn(nil, s)}, must, may)
}

// aitmSignIn is the victim's sign-in relayed by the adversary-in-the-middle
// proxy, a server in the victim's own city: the session it starts is what
// the proxy steals. It returns the session id.
func (p *planner) aitmSignIn(at time.Time) string {
	where := p.v.office.place()
	where.lat, where.lon = where.lat+0.06, where.lon+0.09
	s := p.victimSignIn(at, p.ip, where, true)
	s.sessionID, s.tokenID = randGUID(p.r), randToken(p.r)
	p.emitAzure(s, nil, nil)
	return s.sessionID
}

// replaySession is the stolen session used from abroad: a token refresh of
// Outlook in that session.
func (p *planner) replaySession(at time.Time, session string, must []string) {
	s := p.victimSignIn(at, p.replay, bucharest, false)
	s.appID, s.appName, s.clientApp = outlookAppID, "Microsoft Office", "Mobile Apps and Desktop clients"
	s.sessionID, s.tokenID = session, randToken(p.r)
	p.emitAzure(s, must, sideEffectsAbroad)
}

// deviceCodeSignIn is the sign-in the victim completes for the attacker's
// device code: Entra logs it where the code is redeemed, the attacker's
// server, far from where the victim signed in last.
func (p *planner) deviceCodeSignIn(at time.Time, must []string) {
	s := p.victimSignIn(at, p.ip, ashburn, true)
	s.appID, s.appName, s.clientApp = authBrokerAppID, "Microsoft Authentication Broker", "Mobile Apps and Desktop clients"
	s.resource, s.ua, s.os, s.browser = "Microsoft Graph", "python-requests/2.32.3", "", ""
	s.authProtocol, s.sessionID, s.tokenID = "deviceCode", randGUID(p.r), randToken(p.r)
	p.emitAzure(s, must, append([]string{RuleImpossibleTravel}, sideEffectsAbroad...))
}

// deviceCodeRefresh refreshes the tokens issued to the device code.
func (p *planner) deviceCodeRefresh(at time.Time, must []string) {
	s := p.victimSignIn(at, p.ip, ashburn, false)
	s.appID, s.appName, s.clientApp = outlookAppID, "Microsoft Office", "Mobile Apps and Desktop clients"
	s.resource, s.ua, s.os, s.browser = "Microsoft Graph", "python-requests/2.32.3", "", ""
	s.transferMethod, s.tokenID = "deviceCodeFlow", randToken(p.r)
	p.emitAzure(s, must, sideEffectsAbroad)
}

// failedSignIn is a wrong password (50126) or a smart-lockout refusal
// (50053) from the attacker's address.
func (p *planner) failedSignIn(at time.Time, code int, must []string) {
	p.signIn(at, bucharest, browsers[3].ua, func(s *signIn) {
		s.errorCode = code
		switch code {
		case 50053:
			s.failureReason = "Account is locked because user tried to sign in too many times with an incorrect user ID or password."
			s.additionalDetails = "The account is locked, you've tried to sign in too many times with an incorrect user ID or password."
		default:
			s.failureReason = "Error validating credentials due to invalid username or password."
			s.additionalDetails = "The user didn't enter the right credentials."
		}
	}, must, nil)
}

// directoryChange files an Entra directory audit record.
func (p *planner) directoryChange(a *directoryAudit, must, may []string) {
	p.emit(Record{ID: a.id, Shape: ShapeEntraAudit, Label: "entra_audit/" + a.activity, Time: a.at, User: p.v.upn,
		JSON: appendAzureAuditLog(nil, a)}, must, may)
}

// auditID names a directory audit record as Entra does: the service's
// prefix, the correlation id, a short tag and a number.
func auditID(prefix, correlation string, r *rand.Rand) string {
	const letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	tag := make([]byte, 5)
	for i := range tag {
		tag[i] = letters[r.IntN(len(letters))]
	}
	return prefix + "_" + correlation + "_" + string(tag) + "_" + strconv.Itoa(100000000+r.IntN(900000000))
}

// securityInfo is "User registered security info": the victim's account
// gets an Authenticator app, registered from ip.
func (p *planner) securityInfo(at time.Time, ip netip.Addr, must []string) {
	p.directoryChange(securityInfoAudit(p.g.ids.guid(p.key()), at, p.v, ip, p.r), must, nil)
}

func securityInfoAudit(correlation string, at time.Time, u *user, ip netip.Addr, r *rand.Rand) *directoryAudit {
	return &directoryAudit{id: auditID("IAMUX", correlation, r), correlationID: correlation, at: at,
		activity: "User registered security info", category: "UserManagement", service: "Authentication Methods",
		operationType: "Add", resultReason: "User registered Authenticator App with Notification and Code",
		by: u, ip: ip, targets: []auditTarget{{id: u.objectID, displayName: u.display, kind: "User", upn: u.upn}}}
}

// updateUserMFA is the O365 feed's "Update user." of the same registration:
// a new phone app among the user's strong-authentication methods.
func (p *planner) updateUserMFA(at time.Time, must []string) {
	o := updateUserMFA(p.g.ids.guid(p.key()), at, p.v, "Pixel 8", p.r)
	p.emit(Record{ID: o.id, Shape: ShapeO365, Label: "o365/Update user.", Time: at, User: p.v.upn, JSON: appendO365UpdateUser(nil, o)}, must, nil)
}

func updateUserMFA(id string, at time.Time, u *user, device string, r *rand.Rand) *o365UpdateUser {
	return &o365UpdateUser{id: id, at: at, u: u, interSystems: randGUID(r), modified: [][3]string{
		{"StrongAuthenticationPhoneAppDetail", "[]", `[{"DeviceName":"` + device + `","DeviceTag":"SoftwareTokenActivated","DeviceToken":null,"Id":"` +
			randGUID(r) + `","NotificationType":"GCM","OathTokenTimeDrift":0,"OathSecretKey":null,"PhoneAppVersion":"6.2410.6776","TimeInterval":null}]`},
		{"StrongAuthenticationMethod", `[{"MethodType":6,"Default":true}]`, `[{"MethodType":6,"Default":true},{"MethodType":7,"Default":false}]`},
	}}
}

// deviceOwner is the device the attacker registers with the victim's
// tokens: the Device Registration Service adds the victim as its owner (an
// application's change, logged without an address).
func (p *planner) deviceOwner(at time.Time) {
	corr := p.g.ids.guid(p.key())
	name := "DESKTOP-" + randHex(p.r, 7)
	a := &directoryAudit{id: auditID("Directory", corr, p.r), correlationID: corr, at: at,
		activity: "Add registered owner to device", category: "Device", service: "Core Directory", operationType: "Assign",
		app: "Device Registration Service", spID: drsServiceID, targets: []auditTarget{
			{id: randGUID(p.r), displayName: name, kind: "Device", modified: [][3]string{{"Device.DisplayName", "", `"` + name + `"`}}},
			userTarget(p.v),
		}}
	p.directoryChange(a, []string{RuleDeviceRegistered}, nil)
}

// oauthApp is an attacker's multi-tenant application.
type oauthApp struct{ name, appID, spID string }

func (p *planner) oauthApp(name string) oauthApp {
	return oauthApp{name: name, appID: randGUID(p.r), spID: randGUID(p.r)}
}

// homeSignInTo is the victim signing in from home to an application.
func (p *planner) homeSignInTo(at time.Time, app oauthApp) {
	s := p.victimSignIn(at, p.v.home, p.homePlace(), true)
	s.appID, s.appName, s.resource = app.appID, app.name, "Microsoft Graph"
	s.ua, s.os, s.browser, s.deviceID = browsers[p.v.browser].ua, browsers[p.v.browser].os, browsers[p.v.browser].browser, p.v.device
	p.emit(Record{ID: s.id, Shape: ShapeGraph, Label: "graph/signIn", Time: at, User: p.v.upn, JSON: appendGraphSignIn(nil, s)}, nil, nil)
}

// mailScopes are what consent phishing asks for: read, write and send
// mail, for as long as the app likes.
const mailScopes = "Mail.Read Mail.ReadWrite Mail.Send offline_access User.Read"

// consent is the victim's consent, from ip, granting the app mail.
func (p *planner) consent(at time.Time, ip netip.Addr, app oauthApp, must, may []string) {
	p.directoryChange(consentAudit(p.g.ids.guid(p.key()), at, p.v, ip, app, mailScopes, p.r), must, may)
}

func consentAudit(correlation string, at time.Time, u *user, ip netip.Addr, app oauthApp, scopes string, r *rand.Rand) *directoryAudit {
	grant := fmt.Sprintf(`"[] => [[Id: %s, ClientId: %s, PrincipalId: %s, ResourceId: %s, ConsentType: Principal, Scope: %s, CreatedDateTime: , LastModifiedDateTime ]]; "`,
		randToken(r)+randToken(r), app.spID, u.objectID, graphServiceID, scopes)
	return &directoryAudit{id: auditID("Directory", correlation, r), correlationID: correlation, at: at,
		activity: "Consent to application", category: "ApplicationManagement", service: "Core Directory", operationType: "Assign",
		by: u, ip: ip, targets: []auditTarget{{id: app.spID, displayName: app.name, kind: "ServicePrincipal", modified: [][3]string{
			{"ConsentContext.IsAdminConsent", "", `"False"`},
			{"ConsentContext.IsAppOnly", "", `"False"`},
			{"ConsentContext.OnBehalfOfAll", "", `"False"`},
			{"ConsentContext.Tags", "", `"WindowsAzureActiveDirectoryIntegratedApp"`},
			{"ConsentAction.Permissions", "", grant},
			{"TargetId.ServicePrincipalNames", "", `"` + app.appID + `"`},
		}}},
		additional: [][2]string{{"User-Agent", "EvoSTS"}, {"AppId", app.appID}}}
}

// appSync is the attacker's application syncing one folder of the mailbox
// from its server (Exchange Web Services through the consented app).
func (p *planner) appSync(at time.Time, app oauthApp, folder string, must []string) {
	ews := "Client=WebServices;ExchangeWebServicesProxy/CrossSite/EXCH/15.20.8158.010/python-requests/2.32.3[AppId=" + app.appID + "];"
	m := &mailItem{id: p.g.ids.guid(p.key()), sessionID: randGUID(p.r), at: at, op: "MailItemsAccessed", owner: p.v, actor: p.v,
		ip: p.app, clientInfo: ews, appID: app.appID, clientAppID: app.appID, folder: folder, sync: true}
	p.emit(Record{ID: m.id, Shape: ShapeO365, Label: "o365/MailItemsAccessed", Time: at, User: p.v.upn, JSON: appendMailItem(nil, m, p.r)}, must, nil)
}

// Bulk reading: binds of bulkPerBind items every five minutes from the
// attacker's address. The detector's bar is max(floor 200, 3 x the daily
// baseline), and factor x floor, 600, while the mailbox has no baseline
// (72 hours of access history, settled a day): the accesses that bring the
// hour's total to 600 fire whatever the baseline, those from 200 on may.
// Each bind reaches the floor alone, so it counts also for a user with no
// network learned yet (a one-day tenant).
const (
	bulkBinds        = 6
	bulkPerBind      = 250
	bulkSureTotal    = 600
	bulkPossibleFrom = 200
)

// bulkRead is the attacker harvesting the mailbox through Graph with a
// stolen token: 1,500 items in 25 minutes.
func (p *planner) bulkRead(from time.Time) {
	total := 0
	for i := 0; i < bulkBinds; i++ {
		at := from.Add(time.Duration(i) * 5 * time.Minute)
		key := p.key()
		m := &mailItem{id: p.g.ids.guid(key), sessionID: randGUID(p.r), at: at, op: "MailItemsAccessed", owner: p.v, actor: p.v, ip: p.ip,
			clientInfo: "Client=REST;Client=RESTSystem;;", appID: outlookAppID, clientAppID: outlookAppID,
			folder: []string{`\Inbox`, `\Archive`}[i%2]}
		for j := 0; j < bulkPerBind; j++ {
			m.accessed = append(m.accessed, msgID(key^uint64(j+1)<<40))
		}
		total += bulkPerBind
		var must, may []string
		switch {
		case total >= bulkSureTotal:
			must = []string{RuleMailCollection}
		case total >= bulkPossibleFrom:
			may = []string{RuleMailCollection}
		}
		p.emit(Record{ID: m.id, Shape: ShapeO365, Label: "o365/MailItemsAccessed", Time: at, User: p.v.upn, JSON: appendMailItem(nil, m, p.r)}, must, may)
	}
}

// randToken is a uniqueTokenIdentifier: 16 random bytes, base64url.
func randToken(r *rand.Rand) string {
	var b [16]byte
	for i := range b {
		b[i] = byte(r.IntN(256))
	}
	return base64.RawURLEncoding.EncodeToString(b[:])
}
