package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otelsec/emailcompromise/internal/testing/corpus"
)

// findingsQuiet is the connector's default quiet_period.
const findingsQuiet = 30 * time.Minute

// ocsfRequiredKeys are the attributes OCSF 1.3.0 requires of a Detection
// Finding (https://schema.ocsf.io/1.3.0/classes/detection_finding); the
// connector's own test checks the nested objects too.
var ocsfRequiredKeys = []string{"activity_id", "category_uid", "class_uid", "finding_info", "metadata", "severity_id", "time", "type_uid"}

// incidentKey names an incident as the connector must find it: a user, a
// rule, and for a chain its chain id.
type incidentKey struct{ user, rule, group string }

// expectedIncident is what the tagged records of one incident add up to.
type expectedIncident struct {
	key      incidentKey
	records  int
	severity string
}

// finalFinding is a finding as a backend upserting by uid and revision
// ends with it.
type finalFinding struct {
	uid, status, severity string
	key                   incidentKey
	revision, records     int64
	related               []string
	body                  map[string]any
}

// TestFindingsThroughBuiltCollector runs the demo configuration's two
// pipelines in the built binary: the tagged records go to one sink and the
// findings of the email_compromise_findings connector to another. The
// findings must be one per incident of the tagged records (user, rule,
// records within the quiet period; a chain per chain id), in OCSF, the
// chain linking its stages. Then the collector is killed with SIGKILL and
// started again on the same state: the findings still open come back
// from the snapshot and close, under the same uid with a higher revision,
// when a later record moves event time on.
func TestFindingsThroughBuiltCollector(t *testing.T) {
	root := corpus.RepoRoot(t)
	binary := collectorBinary(t, root)
	ctx, cancel := context.WithTimeout(context.Background(), testBudget)
	defer cancel()

	work, logsDir, want := prepareDemo(t, root)
	tagged, found := startSink(t, sinkKeeps{records: true}), startSink(t, sinkKeeps{records: true})
	configPath := filepath.Join(work, "config.yaml")
	writeCollectorConfig(t, filepath.Join(root, "testdata", "demo", "config.yaml"), configPath, logsDir, filepath.Join(work, "state"), tagged)
	patchYAML(t, configPath, func(cfg map[string]any) {
		cfg["exporters"].(map[string]any)["otlp_grpc/findings"] = sinkExporter("otlp_grpc", found)
		pipelines := cfg["service"].(map[string]any)["pipelines"].(map[string]any)
		pipelines["logs/findings"].(map[string]any)["exporters"] = []string{"otlp_grpc/findings"}
		conn := cfg["connectors"].(map[string]any)["email_compromise_findings"].(map[string]any)
		// The production lateness: the takeover day's findings stay open
		// (the newest record of the week is 24 hours after them) until the
		// record the test adds after the kill.
		conn["allowed_lateness"] = "24h"
		conn["flush_interval"] = "200ms"
		conn["state"] = map[string]any{"snapshot_interval": "300ms"}
	})

	col := startCollector(t, binary, configPath, filepath.Join(work, "collector.log"))
	if err := tagged.waitFor(ctx, want, col.exited); err != nil {
		col.stop(t)
		t.Fatalf("waiting for %d tagged-pipeline records: %v (got %d)\n%s", want, err, tagged.count(), col.logTail())
	}
	expected := incidentsOf(t, tagged.records())
	if len(expected) < 12 {
		t.Fatalf("the demo's tagged records make %d incidents; the story has more than a dozen", len(expected))
	}
	final := waitForFindings(ctx, t, found, col, func(f map[string]*finalFinding) bool { return len(live(f)) >= len(expected) })
	checkFindings(t, final, expected)

	var open []*finalFinding
	for _, f := range live(final) {
		if f.status == "open" {
			open = append(open, f)
		}
		if f.key.user == "megan.bowen@contoso.com" && f.status != "open" {
			t.Errorf("%s %s: status %s; the takeover day's findings are within the lateness of the newest record, still open", f.key.user, f.key.rule, f.status)
		}
	}
	if len(open) == 0 {
		t.Fatal("no finding is open before the kill")
	}
	// Twice the snapshot interval, then SIGKILL: nothing is saved at exit.
	time.Sleep(time.Second)
	if err := col.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-col.exited

	// A sign-in five days later, untagged, moves event time past every
	// open finding's quiet period and lateness.
	later := `{"CreationTime":"2026-11-30T08:00:00","Id":"0d3c1f9e-5b7a-4e21-9c64-2b8f7a1e0c55","Operation":"UserLoggedIn","OrganizationId":"4b2462a4-bbee-495a-a0e1-f23ae524cc9c","RecordType":15,"ResultStatus":"Success","UserType":0,"Version":1,"Workload":"AzureActiveDirectory","ClientIP":"192.0.2.130","UserId":"lynne.robbins@contoso.com","ExtendedProperties":[{"Name":"ResultStatusDetail","Value":"Success"}]}` + "\n"
	if err := os.WriteFile(filepath.Join(logsDir, "o365-later.jsonl"), []byte(later), 0o644); err != nil {
		t.Fatal(err)
	}
	col = startCollector(t, binary, configPath, filepath.Join(work, "collector-restarted.log"))
	final = waitForFindings(ctx, t, found, col, func(f map[string]*finalFinding) bool {
		for _, o := range open {
			if f[o.uid].status != "closed" {
				return false
			}
		}
		return true
	})
	for _, o := range open {
		f := final[o.uid]
		if f.revision <= o.revision || f.records != o.records {
			t.Errorf("%s %s (%s): after the restart revision %d, %d records; before the kill revision %d, %d records",
				o.key.user, o.key.rule, o.uid, f.revision, f.records, o.revision, o.records)
		}
	}
	if code := col.stop(t); code != 0 {
		t.Errorf("collector exited with code %d after SIGTERM\n%s", code, col.logTail())
	}
	logText, _ := os.ReadFile(filepath.Join(work, "collector-restarted.log"))
	if !strings.Contains(string(logText), "Restored findings") {
		t.Errorf("the restarted collector did not log its restored findings\n%s", col.logTail())
	}
	t.Logf("%d incidents from %d records; %d findings open at the kill, closed after the restart under their uids", len(expected), want, len(open))
}

// incidentsOf groups the tagged records as the connector must: by user
// and rule, records within the quiet period of each other in event time
// (a chain: by chain id), keeping incidents of a severity that opens a
// finding (the default medium and above).
func incidentsOf(t *testing.T, records []plog.LogRecord) map[incidentKey]expectedIncident {
	type hit struct {
		at       time.Time
		id       string
		severity string
	}
	hits := map[incidentKey][]hit{}
	for _, lr := range records {
		rules := stringSlice(lr.Attributes(), "detection.rules")
		severities := stringSlice(lr.Attributes(), "detection.severities")
		if len(rules) != len(severities) {
			if len(rules) > 0 {
				t.Errorf("record %s: detection.rules %v but detection.severities %v", str(lr.Attributes(), "audit.record.id"), rules, severities)
			}
			continue
		}
		for i, rule := range rules {
			k := incidentKey{user: str(lr.Attributes(), "user.name"), rule: rule}
			if strings.HasPrefix(rule, "chain/") {
				k.group = str(lr.Attributes(), "detection.chain.id")
			}
			hits[k] = append(hits[k], hit{at: lr.Timestamp().AsTime(), id: str(lr.Attributes(), "audit.record.id"), severity: severities[i]})
		}
	}
	rank := map[string]int{"low": 1, "medium": 2, "high": 3, "critical": 4}
	out := map[incidentKey]expectedIncident{}
	for k, hs := range hits {
		sort.Slice(hs, func(i, j int) bool { return hs[i].at.Before(hs[j].at) })
		inc := expectedIncident{key: k}
		for i, h := range hs {
			if i > 0 && k.group == "" && h.at.Sub(hs[i-1].at) > findingsQuiet {
				t.Fatalf("%v: two incidents in the demo; the test expects one per user and rule", k)
			}
			inc.records++
			if rank[h.severity] > rank[inc.severity] {
				inc.severity = h.severity
			}
		}
		if rank[inc.severity] >= rank["medium"] {
			out[k] = inc
		}
	}
	return out
}

// waitForFindings collects the findings sink into final states until done
// says so, the collector exits or the test's budget ends.
func waitForFindings(ctx context.Context, t *testing.T, sink *otlpSink, col *collector, done func(map[string]*finalFinding) bool) map[string]*finalFinding {
	t.Helper()
	var final map[string]*finalFinding
	err := sink.until(ctx, col.exited, 0, func() bool {
		final = finalFindings(t, sink.records())
		return done(final)
	})
	switch {
	case err == nil:
		return final
	case ctx.Err() != nil:
		t.Fatalf("waiting for findings: %v (%d findings so far)\n%s", ctx.Err(), len(final), col.logTail())
	default:
		t.Fatalf("the collector exited\n%s", col.logTail())
	}
	return nil
}

func finalFindings(t *testing.T, records []plog.LogRecord) map[string]*finalFinding {
	out := map[string]*finalFinding{}
	for _, lr := range records {
		a := lr.Attributes()
		rev, _ := a.Get("detection.finding.revision")
		n, _ := a.Get("detection.finding.records")
		f := &finalFinding{uid: str(a, "detection.finding.uid"), status: str(a, "detection.finding.status"), severity: str(a, "detection.severity"),
			revision: rev.Int(), records: n.Int(), body: lr.Body().Map().AsRaw()}
		if rules := stringSlice(a, "detection.rules"); len(rules) == 1 {
			f.key = incidentKey{user: str(a, "user.name"), rule: rules[0]}
			if strings.HasPrefix(rules[0], "chain/") {
				f.key.group = str(a, "detection.chain.id")
			}
		} else {
			t.Errorf("finding %s: detection.rules %v, want one rule", f.uid, rules)
		}
		info, _ := f.body["finding_info"].(map[string]any)
		events, _ := info["related_events"].([]any)
		for _, e := range events {
			if ev, ok := e.(map[string]any); ok && ev["type"] == "stage" {
				f.related = append(f.related, fmt.Sprint(ev["uid"]))
			}
		}
		for _, key := range ocsfRequiredKeys {
			if _, ok := f.body[key]; !ok {
				t.Errorf("finding %s: OCSF required %s missing", f.uid, key)
			}
		}
		if prev, ok := out[f.uid]; ok && prev.revision >= f.revision {
			t.Errorf("finding %s: revision %d after %d", f.uid, f.revision, prev.revision)
		}
		out[f.uid] = f
	}
	return out
}

// live are the findings not superseded.
func live(final map[string]*finalFinding) []*finalFinding {
	var out []*finalFinding
	for _, f := range final {
		if f.status != "superseded" {
			out = append(out, f)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].uid < out[j].uid })
	return out
}

func checkFindings(t *testing.T, final map[string]*finalFinding, expected map[incidentKey]expectedIncident) {
	t.Helper()
	byKey := map[incidentKey]*finalFinding{}
	for _, f := range live(final) {
		if _, dup := byKey[f.key]; dup {
			t.Errorf("%v: two findings", f.key)
		}
		byKey[f.key] = f
		if f.body["class_uid"] != int64(2004) {
			t.Errorf("finding %s: class_uid %v", f.uid, f.body["class_uid"])
		}
	}
	for k, exp := range expected {
		f, ok := byKey[k]
		if !ok {
			t.Errorf("%v: no finding for %d tagged records", k, exp.records)
			continue
		}
		if f.records != int64(exp.records) || f.severity != exp.severity {
			t.Errorf("%v: finding with %d records, %s; the tagged records are %d, %s", k, f.records, f.severity, exp.records, exp.severity)
		}
	}
	for k := range byKey {
		if _, ok := expected[k]; !ok {
			t.Errorf("%v: a finding no tagged record of medium severity or above opens", k)
		}
	}
	// Isaiah's send burst after his brute-forced sign-in is one finding
	// of the ten sends the processor tagged, not ten alerts.
	if f := byKey[incidentKey{user: "isaiah.langer@contoso.com", rule: "bulk_send/send_rate_anomaly"}]; f == nil || f.records != 10 {
		t.Errorf("Isaiah's send burst: %+v, want one finding of 10 records", f)
	}
	// Megan's chain links the findings of its stages.
	for _, f := range byKey {
		if f.key.user != "megan.bowen@contoso.com" || f.key.group == "" {
			continue
		}
		if len(f.related) < 3 {
			t.Errorf("Megan's chain %s links %v; want its access, set-up and abuse findings", f.uid, f.related)
		}
		for _, uid := range f.related {
			stage, ok := final[uid]
			if !ok || stage.key.user != f.key.user || !slices.Contains([]string{"risky_sign_in", "impossible_travel", "mailbox_rule", "thread_hijack", "bulk_send"}, strings.Split(stage.key.rule, "/")[0]) {
				t.Errorf("Megan's chain links %s, which is no stage finding of hers (%+v)", uid, stage)
			}
		}
	}
}
