package loadgen

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"time"
)

// Detection rule ids the scenarios expect (the processor's tag contract).
const (
	RuleImpossibleTravel  = "impossible_travel/impossible_travel"
	RulePasswordSpray     = "risky_sign_in/password_spray_success"
	RuleSprayAttempt      = "risky_sign_in/password_spray_attempt"
	RuleLegacyAuth        = "risky_sign_in/legacy_authentication"
	RuleMFAFatigue        = "risky_sign_in/mfa_fatigue"
	RuleIdPRisk           = "risky_sign_in/identity_provider_risk"
	RuleNewCountry        = "risky_sign_in/new_country"
	RuleNewASN            = "risky_sign_in/new_asn"
	RuleInboxHiding       = "mailbox_rule/inbox_rule_hiding"
	RuleInboxForward      = "mailbox_rule/inbox_rule_external_forward"
	RuleMailboxForwarding = "mailbox_rule/mailbox_forwarding_external"
	RuleBulkSend          = "bulk_send/send_rate_anomaly"
	RuleThreadReply       = "thread_hijack/reply_from_risky_session"
	RuleSentDeleted       = "thread_hijack/sent_item_deleted"
	RuleChain             = "chain/account_takeover"
	RuleSessionReplay     = "session_hijack/session_replay"
	RuleDeviceCode        = "risky_sign_in/device_code"
	RuleAccountLockout    = "risky_sign_in/account_lockout"
	RuleSecurityInfo      = "persistence/security_info_changed"
	RuleDeviceRegistered  = "persistence/device_registered"
	RuleMailAppConsent    = "persistence/mail_app_consent"
	RuleMailCollection    = "mail_collection/mail_items_accessed"
	RuleSyncByNewApp      = "mail_collection/sync_by_new_app"
)

// Scenario names.
const (
	ScenarioImpossibleTravel   = "impossible_travel"
	ScenarioPasswordSpray      = "password_spray"
	ScenarioMFAFatigue         = "mfa_fatigue"
	ScenarioHidingInboxRule    = "hiding_inbox_rule"
	ScenarioExternalForwarding = "external_forwarding"
	ScenarioSendBurst          = "send_burst"
	ScenarioThreadHijack       = "thread_hijack_reply"
	ScenarioSendThenDelete     = "send_then_delete"
	ScenarioFullChain          = "full_chain"
	ScenarioSessionReplay      = "aitm_session_replay"
	ScenarioDeviceCode         = "device_code_phish"
	ScenarioAccountLockout     = "account_lockout"
	ScenarioMFARegistered      = "mfa_method_registered"
	ScenarioConsentPhish       = "consent_phish"
	ScenarioMailCollection     = "mail_collection"
	ScenarioReplayChain        = "aitm_chain"
)

// AllScenarios lists every attack the generator can inject: the classic
// takeover, then today's tradecraft (tradecraft.go).
var AllScenarios = []string{
	ScenarioImpossibleTravel, ScenarioPasswordSpray, ScenarioMFAFatigue, ScenarioHidingInboxRule,
	ScenarioExternalForwarding, ScenarioSendBurst, ScenarioThreadHijack, ScenarioSendThenDelete, ScenarioFullChain,
	ScenarioSessionReplay, ScenarioDeviceCode, ScenarioAccountLockout, ScenarioMFARegistered, ScenarioConsentPhish,
	ScenarioMailCollection, ScenarioReplayChain,
}

// Scenario is one injected attack.
type Scenario struct {
	Name   string `json:"name"`
	Victim string `json:"victim"`
	// Start is the attack's first record (setup records come earlier).
	Start time.Time `json:"start"`
	// Records lists the scenario's record ids in time order (the spray's
	// failures for other accounts included).
	Records []string `json:"records"`
}

// sprayTargets is how many accounts the password spray tries.
const sprayTargets = 25

// sprayMinUsers is the password_spray detector's min_users (its default):
// a failure is an attempt of a spray once its address has failed for that
// many distinct users within the window ending at it.
const sprayMinUsers = 10

// Quiet window of a victim around the attack: no benign activity of theirs
// from quietBefore before to quietAfter after the attack, so that neither
// their own office sign-in explains away the attacker's (trusted network)
// nor their next ordinary reply counts as hijacking (the risky-session
// window of the thread-hijack detector is 24 hours).
const (
	quietBefore = 3 * time.Hour
	quietAfter  = 26 * time.Hour
)

type planner struct {
	g    *Generator
	idx  int
	seq  int
	r    *rand.Rand
	s    *Scenario
	v    *user
	ip   netip.Addr // the attacker's address
	port int
	// replay is the attacker's second address, abroad (where a stolen
	// session is replayed from); app is the server of the attacker's
	// OAuth application.
	replay, app netip.Addr
}

// eligible lists, shuffled by the seed, the people who can be a scenario's
// victim: not an admin, not a VPN user, of ordinary activity.
func (g *Generator) eligible() []int {
	r := rand.New(rand.NewPCG(g.cfg.Seed, 0x61747461636b))
	var eligible []int
	for i := 1; i < g.cfg.Users; i++ {
		u := &g.users[i]
		if u.admin || u.vpn || u.activity < 0.5 || u.activity > 2 {
			continue
		}
		eligible = append(eligible, i)
	}
	r.Shuffle(len(eligible), func(i, j int) { eligible[i], eligible[j] = eligible[j], eligible[i] })
	return eligible
}

func (g *Generator) planScenarios() error {
	if len(g.cfg.Scenarios) == 0 {
		return nil
	}
	for _, name := range g.cfg.Scenarios {
		if !slices.Contains(AllScenarios, name) {
			return fmt.Errorf("loadgen: unknown scenario %q; known: %s", name, strings.Join(AllScenarios, ", "))
		}
	}
	eligible := g.eligible()
	var google []int
	for _, i := range eligible {
		if g.users[i].google {
			google = append(google, i)
		}
	}
	need := len(g.cfg.Scenarios)
	if slices.Contains(g.cfg.Scenarios, ScenarioPasswordSpray) {
		need += sprayTargets - 1
	}
	if len(eligible) < need {
		return fmt.Errorf("loadgen: %d users leave %d eligible victims, the scenarios need %d; use more users (about %d) or fewer scenarios",
			g.cfg.Users, len(eligible), need, need*3)
	}
	taken := map[int]bool{}
	pick := func(prefer []int) *user {
		for _, pool := range [][]int{prefer, eligible} {
			for _, i := range pool {
				if !taken[i] {
					taken[i] = true
					g.attacked[i] = true
					return &g.users[i]
				}
			}
		}
		return nil
	}
	day := 0
	if g.cfg.Days >= 2 {
		day = g.cfg.Days - 1
	}
	dayStart := g.cfg.Start.AddDate(0, 0, day)
	// The spray's other targets are chosen after the victims.
	var sprayPlanner *planner
	for idx, name := range g.cfg.Scenarios {
		var prefer []int
		if name == ScenarioExternalForwarding {
			prefer = google
		}
		v := pick(prefer)
		// The attack comes in the victim's evening, at home: 20:00 local,
		// kept inside the UTC day with room for setup before and the
		// attack's hour after.
		minute := ((20*60-v.office.tz)%1440 + 1440) % 1440
		minute = min(max(minute, 300), 1440-90) + 3*idx
		minute -= minute % 60 // start at the top of an hour: a burst then stays in one hour
		start := dayStart.Add(time.Duration(minute+2) * time.Minute)
		s := &Scenario{Name: name, Victim: v.upn, Start: start}
		g.plan = append(g.plan, s)
		g.quiet[v.idx] = [2]time.Time{start.Add(-quietBefore), start.Add(quietAfter)}
		p := &planner{g: g, idx: idx, r: rand.New(rand.NewPCG(g.cfg.Seed, uint64(idx))), s: s, v: v,
			ip: netip.AddrFrom4([4]byte{198, 51, 100, byte(20 + idx)}), port: 40000 + idx,
			replay: netip.AddrFrom4([4]byte{192, 0, 2, byte(100 + idx)}), app: netip.AddrFrom4([4]byte{198, 51, 100, byte(60 + idx)})}
		if name == ScenarioPasswordSpray {
			sprayPlanner = p
			continue
		}
		p.plan(name)
	}
	if sprayPlanner != nil {
		var targets []*user
		for len(targets) < sprayTargets-1 {
			targets = append(targets, pick(nil))
		}
		sprayPlanner.passwordSpray(targets)
	}
	return nil
}

// sortPlanned puts each day's planned records (scenarios and look-alikes)
// in time order, records of one second in id order.
func (g *Generator) sortPlanned() {
	for day, recs := range g.byDay {
		slices.SortStableFunc(recs, func(a, b Record) int {
			if c := a.Time.Compare(b.Time); c != 0 {
				return c
			}
			return cmp.Compare(a.ID, b.ID)
		})
		g.byDay[day] = recs
	}
}

func (p *planner) plan(name string) {
	T := p.s.Start
	switch name {
	case ScenarioImpossibleTravel:
		p.homeSignIn(T.Add(-150 * time.Minute))
		p.signIn(T, lagos, "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
			nil, []string{RuleImpossibleTravel}, []string{RuleNewCountry, RuleNewASN})
	case ScenarioMFAFatigue:
		near := p.homePlace()
		near.lat, near.lon = near.lat+0.04, near.lon+0.03
		for i := 0; i < 7; i++ {
			p.signIn(T.Add(time.Duration(i)*70*time.Second), near, browsers[0].ua, func(s *signIn) {
				s.errorCode = 500121
				s.failureReason = "Authentication failed during strong authentication request."
				s.additionalDetails = "MFA denied; user declined the authentication"
			}, nil, nil)
		}
		p.signIn(T.Add(9*time.Minute), near, browsers[0].ua, nil, []string{RuleMFAFatigue}, []string{RuleNewASN})
	case ScenarioHidingInboxRule:
		p.hidingRule(T)
		p.outlookHidingRule(T.Add(30 * time.Minute))
	case ScenarioExternalForwarding:
		local := strings.TrimSuffix(p.v.upn, "@"+Domain)
		p.cmdlet(T, "Set-Mailbox", [][2]string{{"Identity", p.v.upn}, {"ForwardingSmtpAddress", "smtp:" + local + ".archive@example.net"},
			{"DeliverToMailboxAndForward", "False"}}, []string{RuleMailboxForwarding})
		p.cmdlet(T.Add(5*time.Minute), "New-InboxRule", [][2]string{{"AlwaysDeleteOutlookRulesBlob", "False"}, {"Force", "False"},
			{"ForwardTo", "sync." + local + "@example.org"}, {"Name", "Sync"}, {"StopProcessingRules", "False"}}, []string{RuleInboxForward})
		if p.v.google {
			p.googleForwarding(T.Add(10*time.Minute), local+".archive@example.net")
		}
	case ScenarioSendBurst:
		p.sendBurst(T.Add(5*time.Minute), 150)
	case ScenarioThreadHijack:
		subject := "Invoice 8841 - wire transfer"
		p.knownThread(T.Add(-4*time.Hour), subject)
		p.signIn(T, p.nearHome(), browsers[1].ua, func(s *signIn) {
			s.riskDuring, s.riskAggregated, s.riskState = "high", "medium", "atRisk"
			s.riskEvents = []string{"unfamiliarFeatures"}
		}, []string{RuleIdPRisk}, []string{RuleNewASN})
		p.send(T.Add(30*time.Minute), "RE: "+subject, []string{RuleThreadReply})
	case ScenarioSendThenDelete:
		id := p.send(T, "Updated remittance details", nil)
		p.deleteSent(T.Add(3*time.Minute), "Updated remittance details", id, []string{RuleSentDeleted})
	case ScenarioFullChain:
		subject := "Invoice 5521 - payment schedule"
		p.knownThread(T.Add(-4*time.Hour), subject)
		p.homeSignIn(T.Add(-150 * time.Minute))
		p.signIn(T, lagos, "axios/1.7.2", nil, []string{RuleImpossibleTravel}, []string{RuleNewCountry, RuleNewASN})
		p.hidingRule(T.Add(9 * time.Minute))
		id := p.send(T.Add(25*time.Minute), "RE: "+subject, []string{RuleThreadReply, RuleChain})
		// The deletion is abuse too: a chain of its own with the same access
		// and set-up records.
		p.deleteSent(T.Add(27*time.Minute), "RE: "+subject, id, []string{RuleSentDeleted, RuleChain})
	default:
		p.planTradecraft(name)
	}
}

// emit renders nothing itself: it files a rendered record under its day
// with what must and may fire on it.
func (p *planner) emit(rec Record, must, may []string) {
	g := p.g
	rec.Scenario = p.s.Name
	if !g.file(rec) {
		return // outside the period (a setup record before the first day)
	}
	p.s.Records = append(p.s.Records, rec.ID)
	if len(must) > 0 {
		g.expected[rec.ID] = slices.Sorted(slices.Values(must))
	}
	if len(may) > 0 {
		g.allowed[rec.ID] = slices.Sorted(slices.Values(may))
	}
}

// file adds a planned record to its day; it reports false for a record
// outside the period.
func (g *Generator) file(rec Record) bool {
	if rec.Time.Before(g.cfg.Start) {
		return false
	}
	day := int(rec.Time.Sub(g.cfg.Start) / (24 * time.Hour))
	if day >= g.cfg.Days {
		return false
	}
	g.byDay[day] = append(g.byDay[day], rec)
	return true
}

func (p *planner) key() uint64 {
	p.seq++
	return scenarioKey(p.idx, p.seq)
}

func (p *planner) homePlace() place {
	pl := p.v.office.place()
	pl.lat, pl.lon = p.v.homeLat, p.v.homeLon
	return pl
}

// nearHome is an attacker's residential proxy in the victim's city.
func (p *planner) nearHome() place {
	pl := p.homePlace()
	pl.lat, pl.lon = pl.lat+0.05, pl.lon-0.04
	return pl
}

// homeSignIn is the victim's own interactive sign-in from home: setup, so
// that the attacker's is compared with a sign-in from a network that is
// not the (trusted) office.
func (p *planner) homeSignIn(at time.Time) {
	br := browsers[p.v.browser]
	key := p.key()
	s := &signIn{id: p.g.ids.guid(key), correlationID: randGUID(p.r), at: at, u: p.v, ip: p.v.home, where: p.homePlace(),
		interactive: true, clientApp: "Browser", ua: br.ua, os: br.os, browser: br.browser, appID: officeAppID, appName: "OfficeHome",
		resource: "Office 365 Exchange Online", riskDuring: "none", riskAggregated: "none", riskState: "none", deviceID: p.v.device}
	p.emit(Record{ID: s.id, Shape: ShapeGraph, Label: "graph/signIn", Time: at, User: p.v.upn, JSON: appendGraphSignIn(nil, s)}, nil, nil)
}

// signIn is the attacker's interactive Graph sign-in as the victim.
func (p *planner) signIn(at time.Time, where place, ua string, adjust func(*signIn), must, may []string) {
	key := p.key()
	s := &signIn{id: p.g.ids.guid(key), correlationID: randGUID(p.r), at: at, u: p.v, ip: p.ip, where: where,
		interactive: true, clientApp: "Browser", ua: ua, os: "Windows 10", browser: "Chrome 120.0.0", appID: officeAppID,
		appName: "OfficeHome", resource: "Office 365 Exchange Online", riskDuring: "none", riskAggregated: "none", riskState: "none"}
	if adjust != nil {
		adjust(s)
	}
	p.emit(Record{ID: s.id, Shape: ShapeGraph, Label: "graph/signIn", Time: at, User: p.v.upn, JSON: appendGraphSignIn(nil, s)}, must, may)
}

// knownThread is the victim's own earlier mail in a conversation (sent from
// home after signing in there), which the attacker later replies into.
func (p *planner) knownThread(at time.Time, subject string) {
	p.homeSignIn(at.Add(-10 * time.Minute))
	key := p.key()
	m := &mailItem{id: p.g.ids.guid(key), sessionID: randGUID(p.r), at: at, op: "Send", owner: p.v, actor: p.v, ip: p.v.home,
		clientInfo: "Client=OWA;Action=ViaProxy", appID: exchangeAppID, subject: subject, msgID: msgID(key), folder: `\Sent Items`, size: 48211}
	p.emit(Record{ID: m.id, Shape: ShapeO365, Label: "o365/Send", Time: at, User: p.v.upn, JSON: appendMailItem(nil, m, p.r)}, nil, nil)
}

// send is a message the attacker sends from the victim's mailbox; it
// returns the message id.
func (p *planner) send(at time.Time, subject string, must []string) string {
	key := p.key()
	m := &mailItem{id: p.g.ids.guid(key), sessionID: randGUID(p.r), at: at, op: "Send", owner: p.v, actor: p.v, ip: p.ip,
		clientInfo: "Client=OWA;Action=ViaProxy", appID: exchangeAppID, subject: subject, msgID: msgID(key), folder: `\Sent Items`, size: 31877}
	p.emit(Record{ID: m.id, Shape: ShapeO365, Label: "o365/Send", Time: at, User: p.v.upn, JSON: appendMailItem(nil, m, p.r)}, must, nil)
	return m.msgID
}

// deleteSent soft-deletes a sent message from Sent Items minutes later.
func (p *planner) deleteSent(at time.Time, subject, id string, must []string) {
	key := p.key()
	m := &mailItem{id: p.g.ids.guid(key), sessionID: randGUID(p.r), at: at, op: "SoftDelete", owner: p.v, actor: p.v, ip: p.ip,
		clientInfo: "Client=OWA;Action=ViaProxy", appID: exchangeAppID, subject: subject, msgID: id, folder: `\Sent Items`}
	p.emit(Record{ID: m.id, Shape: ShapeO365, Label: "o365/SoftDelete", Time: at, User: p.v.upn, JSON: appendMailItem(nil, m, p.r)}, must, nil)
}

// sendBurst sends n copies of one lure within 40 minutes. The bulk-send
// detector's floor is 50 sends in a clock hour (the victim's baseline in
// the evening is far below a fifth of that), so every send after the 50th
// of the hour must fire.
func (p *planner) sendBurst(from time.Time, n int) {
	perHour := map[time.Time]int{}
	for i := 0; i < n; i++ {
		at := from.Add(time.Duration(i) * 40 * time.Minute / time.Duration(n)).Truncate(time.Second)
		hour := at.Truncate(time.Hour)
		perHour[hour]++
		var must []string
		if perHour[hour] > 50 {
			must = []string{RuleBulkSend}
		}
		key := p.key()
		m := &mailItem{id: p.g.ids.guid(key), sessionID: randGUID(p.r), at: at, op: "Send", owner: p.v, actor: p.v, ip: p.ip,
			clientInfo: "Client=REST;Client=RESTSystem;;", appID: exchangeAppID, subject: "Shared document: Q4 bonus plan",
			msgID: msgID(key), folder: `\Sent Items`, size: 15342}
		p.emit(Record{ID: m.id, Shape: ShapeO365, Label: "o365/Send", Time: at, User: p.v.upn, JSON: appendMailItem(nil, m, p.r)}, must, nil)
	}
}

func (p *planner) cmdlet(at time.Time, op string, params [][2]string, must []string) {
	key := p.key()
	c := &cmdlet{id: p.g.ids.guid(key), sessionID: randGUID(p.r), at: at, actor: p.v, userType: 0, op: op,
		objectID: p.v.upn, ip: p.ip, port: p.port, params: params}
	p.emit(Record{ID: c.id, Shape: ShapeO365, Label: "o365/" + op, Time: at, User: p.v.upn, JSON: appendCmdlet(nil, c)}, must, nil)
}

// hidingRule is the classic BEC rule made in Outlook on the web: a
// one-character name, payment keywords, moved to RSS Subscriptions, marked
// read, no further rules.
func (p *planner) hidingRule(at time.Time) {
	p.cmdlet(at, "New-InboxRule", [][2]string{{"AlwaysDeleteOutlookRulesBlob", "False"}, {"Force", "False"},
		{"SubjectOrBodyContainsWords", "invoice;payment"}, {"MoveToFolder", "RSS Subscriptions"}, {"Name", "."},
		{"MarkAsRead", "True"}, {"StopProcessingRules", "True"}}, []string{RuleInboxHiding})
}

// outlookHidingRule is the same made in desktop Outlook (UpdateInboxRules).
func (p *planner) outlookHidingRule(at time.Time) {
	key := p.key()
	o := &outlookRule{id: p.g.ids.guid(key), sessionID: randGUID(p.r), at: at, u: p.v, ip: p.ip, name: " ",
		condition: "SubjectContainsWords hacked; phish", state: "Enabled;ExitAfterExecution",
		actions: `[{"ActionType":"MoveToFolder","FolderName":"Conversation History"},{"ActionType":"MarkAsRead"}]`,
		ruleID:  "4468565283024191489"}
	p.emit(Record{ID: o.id, Shape: ShapeO365, Label: "o365/UpdateInboxRules", Time: at, User: p.v.upn, JSON: appendOutlookRule(nil, o)},
		[]string{RuleInboxHiding}, nil)
}

func (p *planner) googleForwarding(at time.Time, dest string) {
	key := p.key()
	a := &googleActivity{id: p.g.ids.googleID(key), at: at, u: p.v, ip: p.ip, application: "user_accounts",
		eventType: "email_forwarding_change", eventName: "email_forwarding_out_of_domain",
		params: [][2]string{{"email_forwarding_destination_address", dest}}, etag: etag(p.r)}
	p.emit(Record{ID: a.id, Shape: ShapeGoogle, Label: "google/email_forwarding_out_of_domain", Time: at, User: p.v.googleMail,
		JSON: appendGoogle(nil, a)}, []string{RuleMailboxForwarding}, nil)
}

// passwordSpray tries one password on 25 accounts from one address with the
// ROPC client (user agent BAV2ROPC), then signs in as the victim, whose
// password it was. Every failure from the tenth account on is an attempt of
// the spray (ten distinct users within half an hour ending at it); the
// success is both a spray success and legacy (password-only)
// authentication.
func (p *planner) passwordSpray(others []*user) {
	T := p.s.Start
	spray := netip.AddrFrom4([4]byte{192, 0, 2, 66})
	targets := append(slices.Clone(others), p.v)
	p.r.Shuffle(len(targets), func(i, j int) { targets[i], targets[j] = targets[j], targets[i] })
	for i, u := range targets {
		at := T.Add(-20*time.Minute + time.Duration(i)*40*time.Second)
		key := p.key()
		l := o365Login{id: p.g.ids.guid(key), at: at, u: u, ip: spray, ua: "BAV2ROPC", os: "", brw: "", failed: true,
			requestType: "OAuth2:Token", interSystems: randGUID(p.r)}
		var must []string
		if i+1 >= sprayMinUsers {
			must = []string{RuleSprayAttempt}
		}
		p.emit(Record{ID: l.id, Shape: ShapeO365, Label: "o365/UserLoginFailed", Time: at, User: u.upn, JSON: appendO365Login(nil, &l)}, must, nil)
	}
	key := p.key()
	l := o365Login{id: p.g.ids.guid(key), sessionID: randGUID(p.r), at: T, u: p.v, ip: spray, ua: "BAV2ROPC", requestType: "OAuth2:Token",
		interSystems: randGUID(p.r)}
	p.emit(Record{ID: l.id, Shape: ShapeO365, Label: "o365/UserLoggedIn", Time: T, User: p.v.upn, JSON: appendO365Login(nil, &l)},
		[]string{RulePasswordSpray, RuleLegacyAuth}, nil)
}
