package auditrecord_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/otelsec/emailcompromise/internal/auditrecord"
	"github.com/otelsec/emailcompromise/internal/jsonpdata"
	"github.com/otelsec/emailcompromise/internal/testing/corpus"
)

// knownSources are the values Parse may put in Record.Source on success.
var knownSources = map[auditrecord.Source]bool{
	auditrecord.SourceO365:            true,
	auditrecord.SourceEntraSignIn:     true,
	auditrecord.SourceGoogleWorkspace: true,
	auditrecord.SourceEntraAudit:      true,
	auditrecord.SourceAzureActivity:   true,
}

// FuzzParse feeds arbitrary JSON objects to Parse. Properties: it never
// panics; it returns nil or an error, ErrUnrecognized exactly when Detect
// finds no shape; on success the source is known and the time is a real UTC
// time; it does not modify the body; and a Record reused from an earlier,
// richer parse gives the same view as a fresh one (Reset forgets everything).
func FuzzParse(f *testing.F) {
	for _, seed := range literalSeeds() {
		f.Add([]byte(seed))
	}
	if dir, ok := corpus.Lookup(f); ok {
		n := 0
		for _, seed := range corpusSeeds(f, filepath.Join(dir, "samples")) {
			f.Add(seed)
			n++
		}
		f.Logf("seeded %d JSON texts from %s", n, dir)
	}

	// A record whose parse fills nearly every part of the view, so that a
	// Reset that forgets to clear a field shows up as a difference.
	richBody := decode(f, synthSoftDeleteByDelegate)
	graphBody := decode(f, graphBetaSignIn)
	googleBody := decode(f, googleLoginSuccess)

	f.Fuzz(func(t *testing.T, data []byte) {
		body := pcommon.NewMap()
		if err := jsonpdata.DecodeMap(data, body, jsonpdata.Limits{}); err != nil {
			return // not a JSON object: not Parse's input
		}
		before := pcommon.NewMap()
		body.CopyTo(before)

		var fresh auditrecord.Record
		err := auditrecord.Parse(body, &fresh)

		if !body.Equal(before) {
			t.Fatalf("Parse modified the body")
		}
		if unknown := auditrecord.Detect(body) == auditrecord.SourceUnknown; unknown != errors.Is(err, auditrecord.ErrUnrecognized) {
			t.Fatalf("Detect unknown = %v but Parse error = %v", unknown, err)
		}
		if err != nil {
			if err.Error() == "" {
				t.Fatal("Parse returned an error with no message")
			}
			if len(err.Error()) > 1024 {
				t.Fatalf("error message is %d bytes: it becomes an attribute", len(err.Error()))
			}
			return
		}
		if !knownSources[fresh.Source] {
			t.Fatalf("Parse succeeded with source %q", fresh.Source)
		}
		if fresh.Time.IsZero() {
			t.Fatal("Parse succeeded with a zero Time")
		}
		if fresh.Time.Location() != time.UTC {
			t.Fatalf("Time %v is not UTC", fresh.Time)
		}

		for _, prior := range []pcommon.Map{richBody, graphBody, googleBody} {
			var reused auditrecord.Record
			if err := auditrecord.Parse(prior, &reused); err != nil {
				t.Fatalf("parsing the prior record: %v", err)
			}
			if err := auditrecord.Parse(body, &reused); err != nil {
				t.Fatalf("second parse failed: %v", err)
			}
			if diff := cmp.Diff(fresh, reused, recordOpts); diff != "" {
				t.Fatalf("reused record differs from fresh (-fresh +reused):\n%s", diff)
			}
		}

		attrs := pcommon.NewMap()
		fresh.PutAttributes(attrs)
		if src, _ := auditrecord.SourceOf(attrs); src != fresh.Source {
			t.Fatalf("SourceOf after PutAttributes = %q, want %q", src, fresh.Source)
		}
	})
}

// literalSeeds are the records of the table tests plus a few edge shapes.
func literalSeeds() []string {
	return []string{
		huntressNewInboxRule, huntressSetMailboxSystem, huntressUserLoggedIn, huntressUserLoginFailed,
		splunkSetMailbox, splunkAddMailboxPermission, splunkUserLoginFailed, splunkMailItemsAccessed,
		msdocsPasswordLogonFailed, elasticExchangeCreate, graphV1SignIn, graphBetaSignIn,
		azureMonitorSignIn, azureMonitorNonInteractiveSignIn, azureMonitorServicePrincipal,
		googleLoginSuccess, googleSuspiciousLogin, googleForwardingOutOfDomain,
		entraAuditAddMemberToRole, azureActivityAutomationAccount,
		synthSend, synthSoftDeleteByDelegate, synthHardDelete, synthMoveToDeletedItems,
		synthUpdateInboxRules, synthNewInboxRuleOtherMailbox, synthSetInboxRuleIdentity,
		synthSetInboxRuleSelf, synthAddMailboxFolderPermission, synthSetTransportRule,
		synthGoogleAdminUserEmail,
		`{}`,
		`{"Workload":"Exchange","Operation":"x","CreationTime":"0001-01-01T00:00:00"}`,
		`{"RecordType":"15","CreationTime":"9/20/2023 4:05:03 AM","Operation":"UserLoggedIn"}`,
		`{"kind":"admin#reports#activity","id":{"time":"2020-10-02T15:00:00Z","applicationName":"login"},"events":[{"name":"login_success"},{"name":"login_failure"}]}`,
		`{"category":"SignInLogs","time":"2023-10-24T20:13:31Z","resultType":"0","properties":{}}`,
		`{"eventTimestamp":"2022-08-22T15:09:21Z","operationName":"x","claims":{"ipaddr":"::ffff:1.2.3.4"}}`,
		`{"activityDateTime":"2023-04-28T16:39:51Z","initiatedBy":{"app":{"appId":"a"}},"targetResources":[1,{"userPrincipalName":"b@x.com"}]}`,
	}
}

// corpusSeeds returns every JSON object text under dir: each line of the
// JSON Lines files (*.log, *.ndjson) and, for *.json files, the whole text
// plus each element of a top-level array or of a "records" (Azure Event Hub)
// or "value" (Graph page) envelope. Elements are kept as raw bytes so that
// key order and duplicate keys reach the parser as the vendor wrote them.
func corpusSeeds(tb testing.TB, dir string) [][]byte {
	tb.Helper()
	var seeds [][]byte
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		ext := filepath.Ext(path)
		if ext != ".json" && ext != ".log" && ext != ".ndjson" {
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if ext != ".json" {
			for _, line := range bytes.Split(data, []byte("\n")) {
				if line = bytes.TrimSpace(line); len(line) > 0 {
					seeds = append(seeds, line)
				}
			}
			return nil
		}
		// Invalid files (see SOURCES.md) are seeds too: the decoder rejects
		// them, which is a path the target must survive.
		seeds = append(seeds, data)
		seeds = append(seeds, jsonElements(data)...)
		return nil
	})
	if err != nil {
		tb.Fatalf("reading corpus seeds: %v", err)
	}
	return seeds
}

func jsonElements(data []byte) [][]byte {
	var elems []json.RawMessage
	trimmed := bytes.TrimSpace(data)
	switch {
	case bytes.HasPrefix(trimmed, []byte("[")):
		if json.Unmarshal(trimmed, &elems) != nil {
			return nil
		}
	case bytes.HasPrefix(trimmed, []byte("{")):
		var envelope map[string]json.RawMessage
		if json.Unmarshal(trimmed, &envelope) != nil {
			return nil
		}
		for key, raw := range envelope {
			if !strings.EqualFold(key, "records") && !strings.EqualFold(key, "value") {
				continue
			}
			var inner []json.RawMessage
			if json.Unmarshal(raw, &inner) == nil {
				elems = append(elems, inner...)
			}
		}
	}
	out := make([][]byte, len(elems))
	for i, e := range elems {
		out[i] = e
	}
	return out
}

// TestCorpusRecordsParse runs every record of the corpus through Parse: each
// must parse. Texts that are not JSON objects (the two files kept invalid on
// purpose, the O365 docs array) and the envelopes themselves are counted, not
// parsed; their elements are seeds of their own. Purview records of other
// workloads (SharePoint, OneDrive) parse as O365 of KindOther.
func TestCorpusRecordsParse(t *testing.T) {
	dir := corpus.Dir(t)
	seeds := corpusSeeds(t, filepath.Join(dir, "samples"))
	var parsed, undecodable, envelopes int
	for _, seed := range seeds {
		body := pcommon.NewMap()
		if jsonpdata.DecodeMap(seed, body, jsonpdata.Limits{}) != nil {
			undecodable++
			continue
		}
		if _, ok := body.Get("records"); ok {
			envelopes++
			continue
		}
		if _, ok := body.Get("value"); ok {
			envelopes++
			continue
		}
		var r auditrecord.Record
		if err := auditrecord.Parse(body, &r); err != nil {
			t.Errorf("Parse: %v\n%.300s", err, seed)
			continue
		}
		parsed++
	}
	t.Logf("parsed %d records; %d envelopes; %d texts not JSON objects", parsed, envelopes, undecodable)
	if parsed < 300 {
		t.Errorf("parsed only %d corpus records; the corpus holds over 300", parsed)
	}
}
