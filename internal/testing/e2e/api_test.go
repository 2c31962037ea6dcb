package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otelsec/emailcompromise/internal/testing/apitest"
	"github.com/otelsec/emailcompromise/internal/testing/corpus"
)

const (
	// apiTestBudget bounds the whole API test: three collector starts.
	apiTestBudget = 110 * time.Second
	// apiBatchSize is small so that a backlog takes many batches and the
	// kill lands between two of them.
	apiBatchSize = 5
	// apiSources is how many API sources run: each has at most one batch
	// in flight when the collector is killed.
	apiSources = 3
)

// apiBacklog is what the fake vendor APIs hold, by audit.record.id, and the
// detection each attack record must carry.
type apiBacklog struct {
	ids       []string
	detection map[string]string
}

// TestAPISourcesThroughBuiltCollector runs the built distribution against
// local servers that behave as the Office 365 Management Activity API,
// Microsoft Graph and the Google Reports API (with their token endpoints):
// the records arrive tagged by email_compromise, a kill -9 in the middle of
// the backlog and a restart on the same file_storage directory lose nothing
// (the duplicates, from the unacknowledged batches only, are counted by
// audit.record.id), and a clean stop followed by a start repeats nothing.
func TestAPISourcesThroughBuiltCollector(t *testing.T) {
	root := corpus.RepoRoot(t)
	binary := collectorBinary(t, root)
	ctx, cancel := context.WithTimeout(context.Background(), apiTestBudget)
	defer cancel()

	backlog, configFor := startVendorAPIs(t)
	sink := startSink(t, sinkKeeps{records: true, ids: true})
	work := t.TempDir()
	configPath := filepath.Join(work, "config.yaml")
	// No sending queue: the receiver's batch counts as accepted only once
	// the sink has it (an in-memory queue would lose its content to a
	// kill -9).
	writePipeline(t, configPath, pipeline{
		receiver: configFor, stateDir: filepath.Join(work, "state"),
		processor: map[string]any{"organization_domains": []string{"contoso.com", "contosolabs.com"}},
		sink:      sink, queue: queueDisabled, logLevel: "info",
	})
	want := len(backlog.ids)

	// Run 1: killed with SIGKILL once part of the backlog is through.
	col := startCollector(t, binary, configPath, filepath.Join(work, "collector-1.log"))
	if err := sink.waitFor(ctx, want/3, col.exited); err != nil {
		col.stop(t)
		t.Fatalf("waiting for the first records: %v\n%s", err, col.logTail())
	}
	if err := col.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-col.exited
	atKill := sink.count()
	if atKill >= want {
		t.Fatalf("the whole backlog (%d) was through before the kill; the kill must land mid-stream", want)
	}
	t.Logf("killed with SIGKILL after %d of %d records", atKill, want)

	// Run 2: same state directory; everything arrives, then a clean stop.
	col = startCollector(t, binary, configPath, filepath.Join(work, "collector-2.log"))
	if err := sink.waitForIDs(ctx, backlog.ids, 0, col.exited); err != nil {
		col.stop(t)
		t.Fatalf("after the restart: %v\n%s", err, col.logTail())
	}
	time.Sleep(quietPeriod)
	if code := col.stop(t); code != 0 {
		t.Errorf("collector exited with code %d after SIGTERM\n%s", code, col.logTail())
	}
	afterRestart := sink.count()

	// Run 3: started again after the clean stop, it must pass on nothing.
	col = startCollector(t, binary, configPath, filepath.Join(work, "collector-3.log"))
	time.Sleep(5 * time.Second)
	if code := col.stop(t); code != 0 {
		t.Errorf("collector exited with code %d after SIGTERM\n%s", code, col.logTail())
	}
	if extra := sink.count() - afterRestart; extra != 0 {
		t.Errorf("%d records passed on again after a clean stop", extra)
	}

	records := sink.records()
	byID := map[string]plog.LogRecord{}
	counts := map[string]int{}
	for _, lr := range records {
		id := str(lr.Attributes(), "audit.record.id")
		counts[id]++
		byID[id] = lr
		if v := str(lr.Attributes(), "audit.parse_error"); v != "" {
			t.Errorf("record %s: audit.parse_error %q", id, v)
		}
		if str(lr.Attributes(), "audit.source") == "" {
			t.Errorf("record %s: no audit.source", id)
		}
	}
	var missing, repeated []string
	for _, id := range backlog.ids {
		switch n := counts[id]; {
		case n == 0:
			missing = append(missing, id)
		case n > 1:
			repeated = append(repeated, fmt.Sprintf("%s×%d", id, n))
		}
	}
	if len(missing) > 0 {
		t.Errorf("%d records lost across kill -9 and restart: %v", len(missing), missing)
	}
	if len(counts) != want {
		t.Errorf("%d distinct records exported, the APIs hold %d", len(counts), want)
	}
	t.Logf("after kill -9 and restart, %d records came twice (counted by audit.record.id): %v", len(repeated), repeated)
	if len(repeated) > apiSources*apiBatchSize {
		t.Errorf("%d duplicates; at most the unacknowledged batch of each source (%d) may come again", len(repeated), apiSources*apiBatchSize)
	}

	for id, rule := range backlog.detection {
		lr, ok := byID[id]
		if !ok {
			continue // reported as missing above
		}
		if rules := stringSlice(lr.Attributes(), "detection.rules"); !slices.Contains(rules, rule) {
			t.Errorf("record %s: detection.rules = %v, want %s", id, rules, rule)
		}
		if str(lr.Attributes(), "detection.reason") == "" {
			t.Errorf("record %s: no detection.reason", id)
		}
	}
	for i := 1; i <= 3; i++ {
		data, err := os.ReadFile(filepath.Join(work, fmt.Sprintf("collector-%d.log", i)))
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(data), apitest.ClientSecret) {
			t.Errorf("collector-%d.log contains the client secret", i)
		}
	}
}

// startVendorAPIs starts the three APIs with their backlogs and returns
// them with the receiver config that reads them.
func startVendorAPIs(t *testing.T) (apiBacklog, map[string]any) {
	now := time.Now().UTC()
	b := apiBacklog{detection: map[string]string{}}
	// Every answer comes a little late, as from a distant API, so that the
	// backlog takes a few seconds and the kill lands inside it.
	const latency = 15 * time.Millisecond

	entra := apitest.NewEntra(t, apitest.TenantID, apitest.ClientID, apitest.ClientSecret)
	o365 := apitest.NewO365(t, entra, apitest.PublisherID)
	o365.SetDelay(latency)
	for blob := range 25 {
		created := now.Add(-time.Duration(100-blob*4) * time.Minute)
		var records []string
		for i := range 4 {
			id := fmt.Sprintf("o365-%02d-%d", blob, i)
			b.ids = append(b.ids, id)
			records = append(records, apitest.O365SignIn(id, created.Add(-time.Minute)))
		}
		if blob == 12 {
			const id = "e21b6f04-93ad-4c7e-a5f2-0000000e2e01"
			b.ids = append(b.ids, id)
			b.detection[id] = "mailbox_rule/inbox_rule_external_forward"
			records = append(records, apitest.O365ForwardingRule(id, created.Add(-time.Minute)))
		}
		o365.AddBlob("Audit.Exchange", created, records...)
	}

	graph := apitest.NewGraph(t, entra)
	graph.SetDelay(latency)
	for i := range 80 {
		id := fmt.Sprintf("graph-%02d", i)
		at := now.Add(-time.Duration(90-i) * time.Minute)
		risk := "none"
		if i == 40 {
			risk = "high"
			b.detection[id] = "risky_sign_in/identity_provider_risk"
		}
		b.ids = append(b.ids, id)
		graph.Add(at, "interactiveUser", apitest.GraphSignIn(id, at, risk))
	}

	googleAuth := apitest.NewGoogleAuth(t, apitest.Admin)
	reports := apitest.NewReports(t, googleAuth)
	reports.SetDelay(latency)
	for i := range 60 {
		id := fmt.Sprint(7000000 + i)
		at := now.Add(-time.Duration(i) * time.Minute)
		b.ids = append(b.ids, id)
		reports.Add("login", at, apitest.GoogleLogin(id, at))
	}

	common := func(block map[string]any) map[string]any {
		block["poll_interval"] = "1s"
		block["initial_lookback"] = "2h"
		block["batch_size"] = apiBatchSize
		block["retry"] = map[string]any{"max_attempts": 3, "initial_interval": "50ms", "max_interval": "500ms"}
		return block
	}
	cfg := map[string]any{
		"o365_management_api": common(map[string]any{
			"tenant_id":            apitest.TenantID,
			"client_id":            apitest.ClientID,
			"client_secret":        apitest.ClientSecret,
			"publisher_identifier": apitest.PublisherID,
			"content_types":        []string{"Audit.Exchange"},
			"base_url":             o365.URL,
			"token_url":            entra.TokenURL(),
		}),
		"graph_signins": common(map[string]any{
			"tenant_id":     apitest.TenantID,
			"client_id":     apitest.ClientID,
			"client_secret": apitest.ClientSecret,
			"page_size":     10,
			"base_url":      graph.URL,
			"token_url":     entra.TokenURL(),
		}),
		"google_workspace_reports": common(map[string]any{
			"credentials_file": googleAuth.CredentialsFile(t),
			"subject":          apitest.Admin,
			"applications":     []string{"login"},
			"page_size":        10,
			"base_url":         reports.URL,
			"token_url":        googleAuth.TokenURL(),
		}),
	}
	return b, cfg
}
