package jsonpdata

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"

	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/otelsec/emailcompromise/internal/testing/corpus"
)

// benchShapes are real records, one per vendor shape, taken from the corpus.
var benchShapes = []struct {
	name   string
	path   string // relative to the corpus directory
	record int    // index among the file's records
}{
	{"gworkspace_login_0.4KB", "samples/google_workspace/elastic-integrations_test-login.log", 0},
	{"o365_userloggedin_1.5KB", "samples/o365/splunk-security_content_o365_userloggedin.json", 0},
	{"o365_exchange_item_1.5KB", "samples/o365/elastic-integrations_test-exchange-item.log", 0},
	{"purview_auditdata_2.7KB", "samples/purview_csv/DERIVED_huntress2023_purview_AuditData.ndjson", 0},
	{"entra_signin_graph_beta_3.8KB", "samples/entra_signin_graph/graph-docs_beta_signin-list_example1_response.json", 0},
	{"entra_signin_azmon_6.2KB", "samples/entra_signin_azuremonitor/elastic-integrations_test-non-interactive-user-signin.log", 0},
}

// builtinSamples stand in for the corpus when it is absent, so that the
// benchmark still runs; they imitate the shapes above but are not real data.
var builtinSamples = []struct {
	name string
	data string
}{
	{"builtin_gworkspace_login", `{"kind":"admin#reports#activity","id":{"time":"2024-01-02T15:00:00Z","uniqueQualifier":"-1234567890","applicationName":"login","customerId":"C0abc"},"actor":{"callerType":"USER","email":"alice@example.com","profileId":"1234567890"},"ipAddress":"198.51.100.7","events":[{"type":"login","name":"login_success","parameters":[{"name":"login_type","value":"google_password"},{"name":"is_suspicious","boolValue":false}]}]}`},
	{"builtin_o365_userloggedin", `{"CreationTime":"2024-01-02T20:42:05","Id":"52d72a62-132b-487b-bb7f-c4c119f90700","Operation":"UserLoggedIn","OrganizationId":"75243ab2-44f8-435c-a7a6-b479385df6d4","RecordType":15,"ResultStatus":"Success","UserKey":"2d2f9e2c-8350-4d98-852e-3f06daaf7185","UserType":0,"Version":1,"Workload":"AzureActiveDirectory","ClientIP":"203.0.113.63","ObjectId":"00000002-0000-0ff1-ce00-000000000000","UserId":"alice@example.onmicrosoft.com","AzureActiveDirectoryEventType":1,"ExtendedProperties":[{"Name":"ResultStatusDetail","Value":"Success"},{"Name":"UserAgent","Value":"Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:120.0) Gecko/20100101 Firefox/120.0"},{"Name":"RequestType","Value":"OAuth2:Authorize"}],"ModifiedProperties":[],"Actor":[{"ID":"2d2f9e2c-8350-4d98-852e-3f06daaf7185","Type":0},{"ID":"alice@example.onmicrosoft.com","Type":5}],"ActorContextId":"75243ab2-44f8-435c-a7a6-b479385df6d4","ActorIpAddress":"203.0.113.63","InterSystemsId":"a1b2c3d4-0000-4000-8000-000000000000","IntraSystemId":"52d72a62-132b-487b-bb7f-c4c119f90700","SupportTicketId":"","Target":[{"ID":"00000002-0000-0ff1-ce00-000000000000","Type":0}],"TargetContextId":"75243ab2-44f8-435c-a7a6-b479385df6d4","ApplicationId":"00000002-0000-0ff1-ce00-000000000000","DeviceProperties":[{"Name":"OS","Value":"Windows 10"},{"Name":"BrowserType","Value":"Firefox"},{"Name":"SessionId","Value":"0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"}],"ErrorNumber":"0"}`},
	{"builtin_purview_escaped", `{"CreationTime":"2024-01-02T04:05:03","Id":"538815b7-273a-4a3f-9957-c86897966eec","Operation":"Add service principal.","RecordType":8,"ResultStatus":"Success","UserType":4,"Version":1,"Workload":"AzureActiveDirectory","ExtendedProperties":[{"Name":"additionalDetails","Value":"{\"AppId\":\"66244124-575c-4284-92bc-fdd00e669cea\"}"},{"Name":"extendedAuditEventCategory","Value":"ServicePrincipal"}],"ModifiedProperties":[{"Name":"AppAddress","NewValue":"[\r\n  {\r\n    \"AddressType\": 0,\r\n    \"Address\": \"https:\/\/login.example.com\/callback\"\r\n  }\r\n]","OldValue":""},{"Name":"Included Updated Properties","NewValue":"AppAddress, DisplayName","OldValue":""}],"Target":[{"ID":"ServicePrincipal_66244124","Type":2},{"ID":"Caf\u00e9 Portal \u2013 prod","Type":1}]}`},
}

// BenchmarkDecode compares DecodeMap with the baseline it replaces,
// encoding/json into map[string]any followed by pcommon.Map.FromRaw, on each
// record shape. Both build a fresh Map per record, as a receiver does.
func BenchmarkDecode(b *testing.B) {
	for _, rec := range benchRecords(b) {
		b.Run(rec.name, func(b *testing.B) {
			b.Run("jsonpdata", func(b *testing.B) {
				b.SetBytes(int64(len(rec.data)))
				b.ReportAllocs()
				for b.Loop() {
					if err := DecodeMap(rec.data, pcommon.NewMap(), Limits{}); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("encoding_json_FromRaw", func(b *testing.B) {
				b.SetBytes(int64(len(rec.data)))
				b.ReportAllocs()
				for b.Loop() {
					var raw map[string]any
					if err := json.Unmarshal(rec.data, &raw); err != nil {
						b.Fatal(err)
					}
					if err := pcommon.NewMap().FromRaw(raw); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}

type benchRecord struct {
	name string
	data []byte
}

func benchRecords(b *testing.B) []benchRecord {
	var recs []benchRecord
	dir, ok := corpus.Lookup(b)
	if !ok {
		b.Logf("corpus not found at %s; benchmarking built-in samples", dir)
		for _, s := range builtinSamples {
			recs = append(recs, benchRecord{s.name, []byte(s.data)})
		}
		return recs
	}
	byPath := map[string]corpusFile{}
	for _, f := range loadCorpus(b, dir) {
		byPath[filepath.ToSlash(f.path)] = f
	}
	for _, s := range benchShapes {
		f, ok := byPath[s.path]
		if !ok || s.record >= len(f.records) {
			b.Fatalf("corpus has no record %d in %s", s.record, s.path)
		}
		recs = append(recs, benchRecord{s.name, f.records[s.record]})
	}
	return recs
}

// BenchmarkWideObject shows the cost per key staying flat as objects grow
// past wideObjectKeys, where a scan for duplicates alone would grow linearly.
func BenchmarkWideObject(b *testing.B) {
	for _, keys := range []int{16, 32, 64, 256, 4096, 65536} {
		data := []byte("{")
		for i := range keys {
			if i > 0 {
				data = append(data, ',')
			}
			data = fmt.Appendf(data, `"field%d":%d`, i, i)
		}
		data = append(data, '}')
		b.Run(fmt.Sprintf("keys=%d", keys), func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				if err := DecodeMap(data, pcommon.NewMap(), Limits{}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*keys), "ns/key")
		})
	}
}
