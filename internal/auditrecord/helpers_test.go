package auditrecord_test

import (
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/otelsec/emailcompromise/internal/auditrecord"
	"github.com/otelsec/emailcompromise/internal/jsonpdata"
)

// decode turns a JSON record into the body map the parsers read, exactly as
// the receiver does.
func decode(tb testing.TB, text string) pcommon.Map {
	tb.Helper()
	m := pcommon.NewMap()
	if err := jsonpdata.DecodeMap([]byte(text), m, jsonpdata.Limits{}); err != nil {
		tb.Fatalf("decode: %v\n%s", err, text)
	}
	return m
}

// ts reads an RFC 3339 time written in a test's expectation. It uses the
// standard library on purpose, not the ParseTime under test.
func ts(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t.UTC()
}

func ip(s string) netip.Addr { return netip.MustParseAddr(s) }

// recordOpts compare two views field by field. A reused Record keeps empty
// (non-nil) slices after Reset, a fresh one has nil: both mean "none".
var recordOpts = cmp.Options{
	cmpopts.EquateEmpty(),
	cmp.Comparer(func(a, b netip.Addr) bool { return a == b }),
}

// noMail is the Mail part of every record that is not a mailbox item
// operation: LogonType -1 says "unknown", not "owner".
var noMail = auditrecord.Mail{LogonType: -1}

// parseCase is one record and the view expected from it, written by hand.
type parseCase struct {
	name string
	body string
	want auditrecord.Record
}

// runParseCases parses each body twice — into a fresh Record and into one
// left dirty by the previous case — so that Reset is tested along the way.
func runParseCases(t *testing.T, cases []parseCase) {
	t.Helper()
	var reused auditrecord.Record
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			body := decode(t, tc.body)
			if src := auditrecord.Detect(body); src != tc.want.Source {
				t.Errorf("Detect = %q, want %q", src, tc.want.Source)
			}
			var fresh auditrecord.Record
			if err := auditrecord.Parse(body, &fresh); err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if diff := cmp.Diff(tc.want, fresh, recordOpts); diff != "" {
				t.Errorf("view mismatch (-want +got):\n%s", diff)
			}
			if err := auditrecord.Parse(body, &reused); err != nil {
				t.Fatalf("Parse into reused record: %v", err)
			}
			if diff := cmp.Diff(fresh, reused, recordOpts); diff != "" {
				t.Errorf("reused record differs from fresh one (-fresh +reused):\n%s", diff)
			}
		})
	}
}
