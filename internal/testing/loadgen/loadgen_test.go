package loadgen

import (
	"crypto/sha256"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
)

func newGen(t testing.TB, cfg Config) *Generator {
	t.Helper()
	g, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func digest(t testing.TB, g *Generator) (sum [32]byte, n int) {
	t.Helper()
	h := sha256.New()
	err := g.Each(func(r *Record) error {
		h.Write([]byte(r.ID))
		h.Write(r.JSON)
		n++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	copy(sum[:], h.Sum(nil))
	return sum, n
}

func TestDeterministicBySeed(t *testing.T) {
	cfg := Config{Seed: 7, Users: 300, Days: 2}
	a, n := digest(t, newGen(t, cfg))
	b, m := digest(t, newGen(t, cfg))
	if a != b || n != m {
		t.Fatalf("same seed, different output: %d vs %d records", n, m)
	}
	cfg.Seed = 8
	if c, _ := digest(t, newGen(t, cfg)); c == a {
		t.Fatal("different seeds, same output")
	}
}

// TestRecordsAreRealAndUnique builds every record the way the receiver does
// (decode, parse, contract attributes): ids are unique, each parses to the
// source its shape says, times are in order and inside the period.
func TestRecordsAreRealAndUnique(t *testing.T) {
	g := newGen(t, Config{Seed: 1, Users: 400, Days: 2})
	ids := map[string]bool{}
	var last time.Time
	b := NewBatchBuilder(1)
	labels := map[string]int{}
	err := g.Each(func(r *Record) error {
		if ids[r.ID] {
			t.Fatalf("duplicate id %s (%s)", r.ID, r.Label)
		}
		ids[r.ID] = true
		if r.Time.Before(last) {
			t.Fatalf("record %s at %s comes after %s", r.ID, r.Time, last)
		}
		last = r.Time
		if r.Time.Before(g.Config().Start) || !r.Time.Before(g.End()) {
			t.Fatalf("record %s at %s is outside the period", r.ID, r.Time)
		}
		if !json.Valid(r.JSON) {
			t.Fatalf("record %s is not JSON: %s", r.ID, r.JSON)
		}
		ld, _, err := b.Add(r)
		if err != nil {
			t.Fatal(err)
		}
		lr := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0)
		if src, _ := lr.Attributes().Get("audit.source"); src.Str() != r.Shape.Source() {
			t.Fatalf("record %s (%s) parsed as source %q", r.ID, r.Label, src.Str())
		}
		if user, _ := lr.Attributes().Get("user.name"); user.Str() != r.User {
			t.Fatalf("record %s (%s): user.name %q, generator says %q", r.ID, r.Label, user.Str(), r.User)
		}
		labels[r.Label]++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"graph/signIn", "azure_monitor/SignInLogs", "azure_monitor/NonInteractiveUserSignInLogs",
		"o365/UserLoggedIn", "o365/UserLoginFailed", "o365/Send", "o365/MailItemsAccessed", "o365/SoftDelete", "o365/Create",
		"o365/Set-Mailbox", "o365/Add-MailboxPermission", "o365/New-InboxRule", "o365/UpdateInboxRules",
		"google/login_success", "google/email_forwarding_out_of_domain", "entra_audit/User registered security info",
		"entra_audit/Consent to application", "entra_audit/Add registered owner to device", "o365/Update user."} {
		if labels[want] == 0 {
			t.Errorf("no %s record in the mix %v", want, labels)
		}
	}
	for id := range g.Expected() {
		if !ids[id] {
			t.Errorf("expected detection on %s, which was not generated", id)
		}
	}
	for _, s := range g.Scenarios() {
		if len(s.Records) == 0 {
			t.Errorf("scenario %s has no records", s.Name)
		}
	}
	if len(g.Scenarios()) != len(AllScenarios) {
		t.Errorf("%d scenarios planned, want %d", len(g.Scenarios()), len(AllScenarios))
	}
}

// TestMix checks the proportions README.md documents, within a tolerance
// wide enough for a small tenant.
func TestMix(t *testing.T) {
	g := newGen(t, Config{Seed: 3, Users: 1000, Days: 1, Scenarios: []string{}})
	counts := map[string]int{}
	total := 0
	if err := g.Each(func(r *Record) error { counts[r.Label]++; total++; return nil }); err != nil {
		t.Fatal(err)
	}
	perUser := float64(total) / 1000
	if perUser < 35 || perUser > 60 {
		t.Errorf("%.1f records per person on a working day, want about 50", perUser)
	}
	share := func(label string) float64 { return float64(counts[label]) / float64(total) }
	if s := share("azure_monitor/NonInteractiveUserSignInLogs"); s < 0.2 || s > 0.4 {
		t.Errorf("non-interactive sign-ins are %.0f%% of the mix, want about 30%%", 100*s)
	}
	if s := share("o365/Send"); s < 0.15 || s > 0.3 {
		t.Errorf("Send is %.0f%% of the mix, want about 20%%", 100*s)
	}
}

func TestExpectedCoversEveryScenario(t *testing.T) {
	g := newGen(t, Config{Seed: 5, Users: 200, Days: 1})
	rules := map[string]bool{}
	for _, rs := range g.Expected() {
		for _, r := range rs {
			rules[r] = true
		}
	}
	for _, want := range []string{RuleImpossibleTravel, RulePasswordSpray, RuleLegacyAuth, RuleMFAFatigue, RuleIdPRisk,
		RuleInboxHiding, RuleInboxForward, RuleMailboxForwarding, RuleBulkSend, RuleThreadReply, RuleSentDeleted, RuleChain,
		RuleSprayAttempt, RuleSessionReplay, RuleDeviceCode, RuleAccountLockout, RuleSecurityInfo, RuleDeviceRegistered,
		RuleMailAppConsent, RuleMailCollection, RuleSyncByNewApp} {
		if !rules[want] {
			t.Errorf("no scenario expects %s", want)
		}
	}
	if n := countRule(g.Expected(), RuleBulkSend); n != 100 {
		t.Errorf("%d sends expected to fire bulk_send, want 100 (150 sends, floor 50)", n)
	}
	if n := countRule(g.Expected(), RuleSprayAttempt); n != sprayTargets-sprayMinUsers+1 {
		t.Errorf("%d failures expected to be spray attempts, want %d (25 accounts, min_users 10)", n, sprayTargets-sprayMinUsers+1)
	}
}

func countRule(m map[string][]string, rule string) int {
	n := 0
	for _, rs := range m {
		if slices.Contains(rs, rule) {
			n++
		}
	}
	return n
}

func TestTooFewUsersForScenarios(t *testing.T) {
	if _, err := New(Config{Seed: 1, Users: 10, Days: 1}); err == nil || !strings.Contains(err.Error(), "use more users") {
		t.Fatalf("err = %v, want a hint to use more users", err)
	}
	if _, err := New(Config{Seed: 1, Users: 10, Days: 1, Scenarios: []string{}}); err != nil {
		t.Fatal(err)
	}
}

func TestWriteFilesHourSplit(t *testing.T) {
	g := newGen(t, Config{Seed: 2, Users: 150, Days: 1})
	dir := t.TempDir()
	st, err := g.WriteFiles(dir, SplitHour)
	if err != nil {
		t.Fatal(err)
	}
	names, _ := filepath.Glob(filepath.Join(dir, "*.jsonl"))
	if len(names) != len(st.Files) {
		t.Fatalf("%d files on disk, %d reported", len(names), len(st.Files))
	}
	lines := 0
	var prevHour string
	for _, n := range names { // sorted: the order the receiver reads them
		data, err := os.ReadFile(n)
		if err != nil {
			t.Fatal(err)
		}
		lines += strings.Count(string(data), "\n")
		hour := filepath.Base(n)[:11]
		if hour < prevHour {
			t.Fatalf("%s sorts before the hour %s", n, prevHour)
		}
		prevHour = hour
	}
	if lines != st.Records {
		t.Fatalf("%d lines written, %d records reported", lines, st.Records)
	}
}

func TestBatchesLookLikeTheReceiver(t *testing.T) {
	g := newGen(t, Config{Seed: 4, Users: 100, Days: 1, Scenarios: []string{}})
	batches, err := g.Batches(500)
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, ld := range batches {
		total += ld.LogRecordCount()
		rl := ld.ResourceLogs().At(0)
		lr := rl.ScopeLogs().At(0).LogRecords().At(0)
		if rl.ScopeLogs().At(0).Scope().Name() != ScopeName {
			t.Fatalf("scope %q", rl.ScopeLogs().At(0).Scope().Name())
		}
		if lr.Body().Type() != pcommon.ValueTypeMap || lr.Timestamp() == 0 || lr.EventName() == "" {
			t.Fatalf("record not shaped as the receiver's: %v", lr.Body().Type())
		}
		for _, k := range []string{"audit.record.id", "audit.source", "audit.operation", "user.name", "log.file.name"} {
			if _, ok := lr.Attributes().Get(k); !ok {
				t.Fatalf("no %s attribute", k)
			}
		}
	}
	n := 0
	_ = g.Each(func(*Record) error { n++; return nil })
	if total != n {
		t.Fatalf("batches hold %d records, generator %d", total, n)
	}
	if ReadOnce(batches[0]) == 0 {
		t.Fatal("ReadOnce read nothing")
	}
	_ = plog.NewLogs()
}

func TestEachUsersPartitionsTheTenant(t *testing.T) {
	g := newGen(t, Config{Seed: 9, Users: 120, Days: 1})
	all := 0
	_ = g.Each(func(*Record) error { all++; return nil })
	parts := 0
	for from := 0; from < 123; from += 40 {
		_ = g.EachUsers(from, from+40, func(*Record) error { parts++; return nil })
	}
	// Spray failures of other users are filed under those users, so the
	// slices add up to the whole.
	if parts != all {
		t.Fatalf("slices hold %d records, the tenant %d", parts, all)
	}
}
