package auditrecord_test

import (
	"testing"

	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/otelsec/emailcompromise/internal/auditrecord"
)

// benchShapes are one real record per vendor shape the processor sees most.
var benchShapes = []struct{ name, body string }{
	{"o365_cmdlet", huntressNewInboxRule},
	{"o365_signin", huntressUserLoginFailed},
	{"graph_signin", graphBetaSignIn},
	{"azure_monitor_signin", azureMonitorSignIn},
	{"google_login", googleLoginSuccess},
}

// benchSink keeps the compiler from discarding the work measured.
var benchSink int

// BenchmarkParse measures, per shape, Parse into a reused Record (the hot
// path: one view per record, slices kept across records) beside "walk", a
// baseline that only reads the decoded body once: every key of every nested
// map and every element of every slice, taking each value's string. Walking
// nested values too, not just the top level, is what makes the baseline
// fair: an Azure Monitor record keeps almost everything under "properties".
// parse/walk is what building the view costs beyond reading the record.
func BenchmarkParse(b *testing.B) {
	for _, shape := range benchShapes {
		body := decode(b, shape.body)
		b.Run(shape.name+"/walk", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				benchSink += walkMap(body)
			}
		})
		b.Run(shape.name+"/parse", func(b *testing.B) {
			var r auditrecord.Record
			if err := auditrecord.Parse(body, &r); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if err := auditrecord.Parse(body, &r); err != nil {
					b.Fatal(err)
				}
			}
			benchSink += len(r.Actor)
		})
	}
}

func walkMap(m pcommon.Map) int {
	n := 0
	m.Range(func(k string, v pcommon.Value) bool {
		n += len(k) + walkValue(v)
		return true
	})
	return n
}

func walkValue(v pcommon.Value) int {
	switch v.Type() {
	case pcommon.ValueTypeMap:
		return walkMap(v.Map())
	case pcommon.ValueTypeSlice:
		s, n := v.Slice(), 0
		for i := 0; i < s.Len(); i++ {
			n += walkValue(s.At(i))
		}
		return n
	}
	return len(v.Str())
}

// BenchmarkPutAttributes measures writing the contract attributes of a view.
func BenchmarkPutAttributes(b *testing.B) {
	var r auditrecord.Record
	if err := auditrecord.Parse(decode(b, azureMonitorSignIn), &r); err != nil {
		b.Fatal(err)
	}
	attrs := pcommon.NewMap()
	b.ReportAllocs()
	for b.Loop() {
		attrs.Clear()
		r.PutAttributes(attrs)
	}
}
