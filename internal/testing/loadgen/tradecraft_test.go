package loadgen

import (
	"net/netip"
	"slices"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/otelsec/emailcompromise/internal/auditrecord"
	"github.com/otelsec/emailcompromise/internal/jsonpdata"
)

// view parses a record as the processor does.
func view(r *Record) (auditrecord.Record, error) {
	var v auditrecord.Record
	body := pcommon.NewMap()
	if err := jsonpdata.DecodeMap(r.JSON, body, jsonpdata.Limits{}); err != nil {
		return v, err
	}
	return v, auditrecord.Parse(body, &v)
}

// scenarioViews parses the records of each injected scenario as the
// processor does, in time order.
func scenarioViews(t *testing.T, g *Generator) map[string][]auditrecord.Record {
	t.Helper()
	of := map[string]string{}
	for _, s := range g.Scenarios() {
		for _, id := range s.Records {
			of[id] = s.Name
		}
	}
	views := map[string][]auditrecord.Record{}
	err := g.Each(func(r *Record) error {
		name, ok := of[r.ID]
		if !ok {
			return nil
		}
		v, err := view(r)
		views[name] = append(views[name], v)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return views
}

// TestTradecraftRecordsCarryWhatTheDetectorsRead checks, through the
// processor's own parser, that each scenario of today's tradecraft writes
// the fields its behaviour lives in: one session across the replay, the
// device code flow, lockout codes, account changes with mail scopes, Sync
// by the consented app, bind volumes.
func TestTradecraftRecordsCarryWhatTheDetectorsRead(t *testing.T) {
	g := newGen(t, Config{Seed: 3, Users: 200, Days: 1})
	views := scenarioViews(t, g)

	replay := views[ScenarioSessionReplay]
	if len(replay) != 3 || replay[0].SessionID == "" || !replay[0].SignIn.Interactive {
		t.Fatalf("session replay: %d records, first interactive %v with session %q", len(replay), replay[0].SignIn.Interactive, replay[0].SessionID)
	}
	for _, r := range replay[1:] {
		if r.SessionID != replay[0].SessionID || r.SignIn.Interactive || r.Geo.CountryISO == replay[0].Geo.CountryISO || r.ClientIP == replay[0].ClientIP {
			t.Errorf("replay %s: session %q interactive %v from %s %s; want the sign-in's session, refreshed from another country",
				r.ID, r.SessionID, r.SignIn.Interactive, r.ClientIP, r.Geo.CountryISO)
		}
	}

	code := views[ScenarioDeviceCode]
	if len(code) != 3 || !code[0].SignIn.DeviceCode || !code[0].SignIn.Interactive || !code[1].SignIn.DeviceCode || code[1].SignIn.Interactive {
		t.Errorf("device code: want an interactive device-code sign-in and its refresh, got %+v", code)
	}
	if c, ok := code[2].AccountChange(); !ok || c.Kind != auditrecord.ChangeDevice || code[2].ClientIP.IsValid() || code[2].User != code[0].User {
		t.Errorf("device code: the device owner change reads as %+v from %s for %q", c, code[2].ClientIP, code[2].User)
	}

	lockouts := 0
	for _, r := range views[ScenarioAccountLockout] {
		if r.Result != auditrecord.ResultFailure {
			t.Errorf("lockout scenario record %s succeeded", r.ID)
		}
		if r.ErrorCode == "50053" {
			lockouts++
		}
	}
	if lockouts != 5 {
		t.Errorf("%d smart-lockout refusals, want 5", lockouts)
	}

	for _, name := range []string{ScenarioConsentPhish, ScenarioReplayChain} {
		var consented string
		syncs := 0
		for _, r := range views[name] {
			if c, ok := r.AccountChange(); ok && c.Kind == auditrecord.ChangeConsent {
				if !slices.Contains(c.Scopes, "Mail.Read") || c.AdminConsent || !r.ClientIP.IsValid() {
					t.Errorf("%s: consent %+v from %s", name, c, r.ClientIP)
				}
				consented = r.ID
			}
			if r.Mail.AccessType == "Sync" {
				syncs++
				if consented == "" || r.AppID == "" || r.AppID == exchangeAppID {
					t.Errorf("%s: sync %s by app %q before any consent (%q)", name, r.ID, r.AppID, consented)
				}
			}
		}
		if syncs == 0 {
			t.Errorf("%s: no sync", name)
		}
	}

	mfa := views[ScenarioMFARegistered]
	changes := 0
	for _, r := range mfa {
		if c, ok := r.AccountChange(); ok && c.Kind == auditrecord.ChangeSecurityInfo {
			changes++
		}
	}
	if changes != 2 || mfa[0].SignIn.RiskLevelDuringSignIn != "high" {
		t.Errorf("MFA registration: %d security-info changes after a %q-risk sign-in, want 2 after high", changes, mfa[0].SignIn.RiskLevelDuringSignIn)
	}

	total := 0
	for _, r := range views[ScenarioMailCollection] {
		if r.Mail.AccessType != "Bind" {
			t.Errorf("bulk read %s is a %q", r.ID, r.Mail.AccessType)
		}
		total += r.Mail.Accessed
	}
	if total != bulkBinds*bulkPerBind {
		t.Errorf("bulk read of %d items, want %d", total, bulkBinds*bulkPerBind)
	}
}

// TestLookalikesStandOnKnownGround checks the benign look-alikes of today's
// takeovers: none belongs to a scenario; each security-info change and
// first sync comes from an address its person signed in from more than the
// allowed lateness (a day) before; each phone session stays in one
// country; the admin's device code is redeemed at the trusted office.
func TestLookalikesStandOnKnownGround(t *testing.T) {
	g := newGen(t, Config{Seed: 8, Users: 300, Days: 2})
	scenario := map[string]bool{}
	for _, s := range g.Scenarios() {
		for _, id := range s.Records {
			scenario[id] = true
		}
	}
	type seen struct {
		at      int64
		address string
	}
	successes := map[string][]seen{}  // user -> successful sign-ins
	sessions := map[string][]string{} // session -> countries
	var changes, syncs, deviceCodes int
	err := g.Each(func(r *Record) error {
		v, err := view(r)
		if err != nil {
			return err
		}
		if v.Kind == auditrecord.KindSignIn && v.Result == auditrecord.ResultSuccess {
			successes[v.User] = append(successes[v.User], seen{v.Time.Unix(), v.ClientIP.String()})
		}
		if scenario[r.ID] {
			return nil
		}
		knownDayBefore := func() bool {
			for _, s := range successes[v.User] {
				if s.address == v.ClientIP.String() && s.at < v.Time.Add(-24*time.Hour).Unix() {
					return true
				}
			}
			return false
		}
		switch {
		case v.Kind == auditrecord.KindAccountChange:
			changes++
			if v.ClientIP.IsValid() && !knownDayBefore() {
				t.Errorf("%s: %s from %s, not a known address a day before", v.User, v.Operation, v.ClientIP)
			}
		case v.Mail.AccessType == "Sync":
			syncs++
			if !knownDayBefore() {
				t.Errorf("%s: first sync from %s, not a known address a day before", v.User, v.ClientIP)
			}
		case v.Kind == auditrecord.KindSignIn && v.SignIn.DeviceCode:
			deviceCodes++
			if v.User != Admin || !netip.MustParsePrefix(TrustedNetwork).Contains(v.ClientIP) {
				t.Errorf("device code sign-in by %s from %s", v.User, v.ClientIP)
			}
		}
		if v.SessionID != "" && v.Kind == auditrecord.KindSignIn {
			sessions[v.SessionID] = append(sessions[v.SessionID], v.Geo.CountryISO)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	hops := 0
	for id, countries := range sessions {
		if len(countries) == 3 {
			hops++
		}
		if slices.ContainsFunc(countries, func(c string) bool { return c != countries[0] }) {
			t.Errorf("session %s crosses countries %v", id, countries)
		}
	}
	if changes == 0 || syncs == 0 || deviceCodes != 4 || hops < 2 {
		t.Errorf("look-alikes: %d account changes, %d syncs, %d device-code sign-ins (want 4: two working days), %d phone sessions",
			changes, syncs, deviceCodes, hops)
	}
}
