package jsonpdata

import (
	"bytes"
	"encoding/json"
	"testing"

	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/otelsec/emailcompromise/internal/testing/corpus"
)

// maxFuzzSeedBytes keeps large corpus records out of the seeds. The fuzzer
// minimizes each new finding for up to a minute, and mutants of the large
// records (envelopes of 30 KB, 4–6 KB sign-ins) took that whole minute each
// time, so a 20 s run spent most of its time minimizing, not searching.
const maxFuzzSeedBytes = 2 << 10

// FuzzDecodeMap checks, for any input, that DecodeMap does not panic and
// agrees with encoding/json on what is valid: every valid object within the
// depth limit decodes, and whatever decodes is valid JSON once the raw control
// characters we accept inside strings are taken out. When both accept, the
// results must match.
func FuzzDecodeMap(f *testing.F) {
	for _, s := range handWrittenValid {
		f.Add([]byte(s))
	}
	for _, s := range []string{`{"a" 1}`, `{"a":01}`, `{"a":"\ud83d`, "{\"a\":\"\x00\"}", `[1]`, ``} {
		f.Add([]byte(s))
	}
	if dir, ok := corpus.Lookup(f); ok {
		for _, file := range loadCorpus(f, dir) {
			for _, rec := range file.records {
				if len(rec) <= maxFuzzSeedBytes {
					f.Add(rec)
				}
			}
		}
	}

	f.Fuzz(func(t *testing.T, data []byte) {
		m := pcommon.NewMap()
		err := DecodeMap(data, m, Limits{})

		validObject := json.Valid(data) && bytes.TrimLeft(data, " \t\r\n")[0] == '{'
		if validObject && maxNesting(data) <= defaultMaxDepth && err != nil {
			t.Fatalf("DecodeMap rejects a valid object: %v", err)
		}
		if err != nil {
			return
		}
		if !json.Valid(blankRawControlsInStrings(data)) {
			t.Fatalf("DecodeMap accepts invalid JSON")
		}
		// encoding/json also rejects numbers beyond float64, which we keep
		// as ±Inf, so compare only what it accepts.
		if want, err := viaEncodingJSON(data); err == nil {
			if d := rawDiff("$", m.AsRaw(), want); d != "" {
				t.Fatalf("differs from encoding/json: %s", d)
			}
		}
	})
}

// maxNesting returns the deepest nesting of objects and arrays in data,
// which must be valid JSON.
func maxNesting(data []byte) int {
	depth, deepest := 0, 0
	walkOutsideStrings(data, func(c byte) {
		switch c {
		case '{', '[':
			depth++
			deepest = max(deepest, depth)
		case '}', ']':
			depth--
		}
	}, nil)
	return deepest
}

// blankRawControlsInStrings returns a copy of data with bytes below 0x20
// inside strings replaced by spaces, turning what DecodeMap leniently accepts
// into what encoding/json accepts.
func blankRawControlsInStrings(data []byte) []byte {
	out := bytes.Clone(data)
	walkOutsideStrings(data, func(byte) {}, func(i int) {
		if out[i] < 0x20 {
			out[i] = ' '
		}
	})
	return out
}

// walkOutsideStrings calls outside with each byte that is not part of a
// string and, if inside is not nil, inside with the index of each byte within
// a string's quotes.
func walkOutsideStrings(data []byte, outside func(byte), inside func(int)) {
	inString, escaped := false, false
	for i, c := range data {
		switch {
		case !inString:
			inString = c == '"'
			if !inString {
				outside(c)
			}
		case escaped:
			escaped = false
		case c == '\\':
			escaped = true
		case c == '"':
			inString = false
		case inside != nil:
			inside(i)
		}
	}
}
