package jsonpdata

import (
	"encoding/json"
	"testing"

	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/otelsec/emailcompromise/internal/testing/corpus"
)

// handWrittenValid are inputs beyond the corpus that exercise the string and
// number paths where this decoder and encoding/json could drift apart.
var handWrittenValid = []string{
	`{}`,
	`{"a":[],"b":{},"c":null,"d":true,"e":false}`,
	`{"n":[0,-0,1,-1,0.5,-0.0,1e2,1E-2,12345678901234567,9007199254740993,9223372036854775807,-9223372036854775808,9223372036854775808,1e308]}`,
	`{"s":"\"\\\/\b\f\n\r\t\u0000\u001f\u007f\u00e9\u20ac\ud83d\ude00"}`,
	`{"bad":"\ud800 \udc00 \ud800\ud800 \udbff\udfff \ud800\u0041"}`,
	"{\"utf8\":\"\xff \xe2\x82 \xed\xa0\x80 \xf4\x90\x80\x80 \xc0\xaf 日本\"}",
	"{\"k\xff\":1,\"k\\ufffd\":2}",
	`{"dup":1,"x":{"dup":[1],"dup":{"y":2}},"dup":"last"}`,
	`{"deep":[[[[[[[[[[{"a":[[[[]]]]}]]]]]]]]]]}`,
}

// TestMatchesEncodingJSON decodes every valid input both ways and compares
// the results, numbers numerically.
func TestMatchesEncodingJSON(t *testing.T) {
	for _, input := range handWrittenValid {
		checkMatchesEncodingJSON(t, []byte(input))
	}
	for _, f := range loadCorpus(t, corpus.Dir(t)) {
		t.Run(f.path, func(t *testing.T) {
			for _, rec := range f.records {
				if f.invalid {
					checkRejected(t, rec)
				} else {
					checkMatchesEncodingJSON(t, rec)
				}
			}
		})
	}
}

func checkMatchesEncodingJSON(t *testing.T, data []byte) {
	t.Helper()
	want, err := viaEncodingJSON(data)
	if err != nil {
		t.Fatalf("encoding/json rejects %.80q: %v", data, err)
	}
	got := pcommon.NewValueEmpty()
	if err := DecodeValue(data, got, Limits{}); err != nil {
		t.Fatalf("DecodeValue(%.80q): %v", data, err)
	}
	if d := rawDiff("$", got.AsRaw(), want); d != "" {
		t.Errorf("DecodeValue(%.80q) differs from encoding/json: %s", data, d)
	}
	if got.Type() == pcommon.ValueTypeMap {
		m := pcommon.NewMap()
		if err := DecodeMap(data, m, Limits{}); err != nil {
			t.Fatalf("DecodeMap(%.80q): %v", data, err)
		}
		if !m.Equal(got.Map()) {
			t.Errorf("DecodeMap(%.80q) differs from DecodeValue", data)
		}
	}
}

func checkRejected(t *testing.T, data []byte) {
	t.Helper()
	if json.Valid(data) {
		t.Fatalf("file marked invalid is valid JSON")
	}
	err := DecodeValue(data, pcommon.NewValueEmpty(), Limits{})
	if err == nil {
		t.Fatalf("DecodeValue accepted invalid JSON")
	}
	t.Logf("rejected as expected: %v", err)
}
