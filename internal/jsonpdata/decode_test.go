package jsonpdata

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

func TestDecodeValue(t *testing.T) {
	tests := []struct {
		name  string
		input string
		want  any // as pcommon.Value.AsRaw returns it: int64 for Int, float64 for Double
	}{
		// Literals and containers.
		{"true", `true`, true},
		{"false", `false`, false},
		{"null is an empty value", `null`, nil},
		{"empty object", `{}`, map[string]any{}},
		{"empty array", `[]`, []any{}},
		{"surrounding whitespace", " \t\r\n{ \"a\" : [ 1 , 2 ] } \n", map[string]any{"a": []any{int64(1), int64(2)}}},
		{"mixed array", `[1,"a",true,null,[],{}]`, []any{int64(1), "a", true, nil, []any{}, map[string]any{}}},
		{"nested", `{"a":{"b":[1,{"c":null}]}}`, map[string]any{"a": map[string]any{"b": []any{int64(1), map[string]any{"c": nil}}}}},

		// Numbers: integer literals that fit int64 are Int, all else Double.
		{"zero", `0`, int64(0)},
		{"negative zero is Int 0", `-0`, int64(0)},
		{"int", `42`, int64(42)},
		{"negative int", `-42`, int64(-42)},
		{"18 digits", `123456789012345678`, int64(123456789012345678)},
		{"19 digits", `1234567890123456789`, int64(1234567890123456789)},
		{"max int64", `9223372036854775807`, int64(math.MaxInt64)},
		{"min int64", `-9223372036854775808`, int64(math.MinInt64)},
		{"int64 overflow becomes Double", `9223372036854775808`, 9223372036854775808.0},
		{"long integer becomes Double", `100000000000000000000000`, 1e23},
		{"fraction", `1.5`, 1.5},
		{"zero fraction stays Double", `0.0`, 0.0},
		{"exponent", `-1.5e3`, -1500.0},
		{"capital exponent", `1E2`, 100.0},
		{"signed exponent", `1e+2`, 100.0},
		{"negative exponent", `1e-2`, 0.01},
		{"overflow becomes +Inf", `1e400`, math.Inf(1)},
		{"negative overflow becomes -Inf", `-1e400`, math.Inf(-1)},
		{"underflow becomes 0", `1e-400`, 0.0},

		// Strings.
		{"plain string", `"hello"`, "hello"},
		{"empty string", `""`, ""},
		{"short escapes", `"\"\\\/\b\f\n\r\t"`, "\"\\/\b\f\n\r\t"},
		{"unicode escape", `"caf\u00e9 \u20AC"`, "café €"},
		{"escaped NUL", `"a\u0000b"`, "a\x00b"},
		{"surrogate pair", `"\ud83d\ude00"`, "😀"},
		{"upper-case surrogate pair", `"\uD83D\uDE00"`, "😀"},
		{"lone high surrogate", `"\ud83d"`, "\uFFFD"},
		{"high surrogate then text", `"\ud83dx"`, "\uFFFDx"},
		{"high surrogate then BMP escape", `"\ud83d\u0041"`, "\uFFFDA"},
		{"two high surrogates", `"\ud83d\ud83d"`, "\uFFFD\uFFFD"},
		{"two high surrogates then low", `"\ud83d\ud83d\ude00"`, "\uFFFD😀"},
		{"lone low surrogate", `"\ude00"`, "\uFFFD"},
		{"raw multi-byte UTF-8", `"日本"`, "日本"},
		{"invalid UTF-8 byte", "\"a\xffb\"", "a\uFFFDb"},
		{"truncated UTF-8 sequence", "\"\xe2\x82\"", "\uFFFD\uFFFD"},
		{"UTF-8 encoded surrogate", "\"\xed\xa0\x80\"", "\uFFFD\uFFFD\uFFFD"},
		{"invalid UTF-8 beside escape", "\"\xff\\n\"", "\uFFFD\n"},
		// Lenient: RFC 8259 forbids raw control characters in strings, but
		// real vendor exports carry them.
		{"raw NUL kept", "\"a\x00b\"", "a\x00b"},
		{"raw tab and newline kept", "\"tab\there\nnext\"", "tab\there\nnext"},
		{"raw control character with escape", "\"\x01\\t\"", "\x01\t"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := pcommon.NewValueEmpty()
			if err := DecodeValue([]byte(tt.input), v, Limits{}); err != nil {
				t.Fatalf("DecodeValue(%q): %v", tt.input, err)
			}
			if got := v.AsRaw(); !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("DecodeValue(%q) = %#v (%v), want %#v", tt.input, got, v.Type(), tt.want)
			}
		})
	}
}

// TestDecodeMapKeyOrder checks what AsRaw cannot show: entries keep the input
// order, and a repeated key keeps its first position but its last value.
func TestDecodeMapKeyOrder(t *testing.T) {
	tests := []struct {
		name     string
		input    string
		wantKeys []string
		want     map[string]any
	}{
		{
			name:     "input order, not sorted",
			input:    `{"z":1,"a":2,"m":3}`,
			wantKeys: []string{"z", "a", "m"},
			want:     map[string]any{"z": int64(1), "a": int64(2), "m": int64(3)},
		},
		{
			name:     "duplicate: last value at first position",
			input:    `{"a":1,"b":2,"a":3}`,
			wantKeys: []string{"a", "b"},
			want:     map[string]any{"a": int64(3), "b": int64(2)},
		},
		{
			name:     "duplicate changes type",
			input:    `{"a":{"x":1},"b":0,"a":"s"}`,
			wantKeys: []string{"a", "b"},
			want:     map[string]any{"a": "s", "b": int64(0)},
		},
		{
			name:     "duplicate becomes null",
			input:    `{"a":[1],"a":null}`,
			wantKeys: []string{"a"},
			want:     map[string]any{"a": nil},
		},
		{
			name:     "keys compare after unescaping",
			input:    `{"a":1,"\u0061":2}`,
			wantKeys: []string{"a"},
			want:     map[string]any{"a": int64(2)},
		},
		{
			// The shape of the Microsoft Graph beta sign-in sample.
			name:     "nested duplicates",
			input:    `{"value":[{"id":"1","homeTenantId":"x","id2":0,"homeTenantId":"y"}]}`,
			wantKeys: []string{"value"},
			want:     map[string]any{"value": []any{map[string]any{"id": "1", "homeTenantId": "y", "id2": int64(0)}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := pcommon.NewMap()
			if err := DecodeMap([]byte(tt.input), m, Limits{}); err != nil {
				t.Fatalf("DecodeMap(%q): %v", tt.input, err)
			}
			if got := mapKeys(m); !slices.Equal(got, tt.wantKeys) {
				t.Errorf("keys = %q, want %q", got, tt.wantKeys)
			}
			if got := m.AsRaw(); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("AsRaw() = %#v, want %#v", got, tt.want)
			}
		})
	}
}

// TestDecodeMapWideObject covers objects past wideObjectKeys, which take a
// different path for duplicate detection.
func TestDecodeMapWideObject(t *testing.T) {
	const n = 3 * wideObjectKeys
	var sb strings.Builder
	var wantKeys []string
	want := map[string]any{}
	sb.WriteString("{")
	for i := range n {
		k := fmt.Sprintf("k%03d", i)
		fmt.Fprintf(&sb, "%q:%d,", k, i)
		wantKeys = append(wantKeys, k)
		want[k] = int64(i)
	}
	// Repeat a key from before the switch and one from after it, the first
	// twice so that only its last value may survive, and nest an object.
	early, late := wantKeys[5], wantKeys[n-10]
	fmt.Fprintf(&sb, "%q:\"first repeat\",%q:{\"x\":[true]},%q:\"second repeat\",", early, late, early)
	sb.WriteString(`"last":null}`)
	want[early] = "second repeat"
	want[late] = map[string]any{"x": []any{true}}
	want["last"] = nil
	wantKeys = append(wantKeys, "last")

	m := pcommon.NewMap()
	if err := DecodeMap([]byte(sb.String()), m, Limits{}); err != nil {
		t.Fatalf("DecodeMap: %v", err)
	}
	if got := mapKeys(m); !slices.Equal(got, wantKeys) {
		t.Errorf("keys = %q, want %q", got, wantKeys)
	}
	if got := m.AsRaw(); !reflect.DeepEqual(got, want) {
		t.Errorf("AsRaw() = %#v, want %#v", got, want)
	}
}

// TestDecodeMapManyKeysIsLinear would take minutes if inserting were
// quadratic in the number of keys.
func TestDecodeMapManyKeysIsLinear(t *testing.T) {
	const n = 200_000
	data := []byte("{")
	for i := range n {
		data = fmt.Appendf(data, `"%07d":0,`, i)
	}
	data = append(data, `"last":1}`...)
	m := pcommon.NewMap()
	if err := DecodeMap(data, m, Limits{}); err != nil {
		t.Fatal(err)
	}
	if m.Len() != n+1 {
		t.Fatalf("Len() = %d, want %d", m.Len(), n+1)
	}
}

// TestConcurrentDecodes guards the decoder pool: decoders that go back to it
// must carry nothing of one call into another (run with -race).
func TestConcurrentDecodes(t *testing.T) {
	want := make([]pcommon.Value, len(handWrittenValid))
	for i, input := range handWrittenValid {
		want[i] = pcommon.NewValueEmpty()
		if err := DecodeValue([]byte(input), want[i], Limits{}); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for round := range 200 {
				i := (g + round) % len(handWrittenValid)
				if round%3 == 0 {
					// Leave levels half-filled by an error before the next call.
					_ = DecodeValue([]byte(`{"a":[1,{"b":2,`), pcommon.NewValueEmpty(), Limits{})
				}
				got := pcommon.NewValueEmpty()
				if err := DecodeValue([]byte(handWrittenValid[i]), got, Limits{}); err != nil {
					t.Error(err)
					return
				}
				if !got.Equal(want[i]) {
					t.Errorf("concurrent decode of %q = %#v, want %#v", handWrittenValid[i], got.AsRaw(), want[i].AsRaw())
					return
				}
			}
		})
	}
	wg.Wait()
}

func TestDecodeErrors(t *testing.T) {
	tests := []struct {
		name       string
		input      string
		lim        Limits
		wantOffset int64
		wantMsg    string
	}{
		{"empty input", ``, Limits{}, 0, "empty input"},
		{"only whitespace", " \n\t", Limits{}, 3, "empty input"},
		{"missing colon", `{"a" 1}`, Limits{}, 5, "invalid character '1' after object key"},
		{"trailing comma in object", `{"a":1,}`, Limits{}, 7, "invalid character '}' looking for beginning of object key string"},
		{"single-quoted key", `{'a':1}`, Limits{}, 1, `invalid character '\'' looking for beginning of object key string`},
		{"missing comma", `{"a":1 "b":2}`, Limits{}, 7, `invalid character '"' after object key:value pair`},
		{"leading zero", `{"a":01}`, Limits{}, 6, "invalid character '1' after object key:value pair"},
		{"lone minus", `{"a":-}`, Limits{}, 6, "invalid character '}' in numeric literal"},
		{"no digit after point", `{"a":1.}`, Limits{}, 7, "invalid character '}' after decimal point in numeric literal"},
		{"no digit before point", `{"a":.5}`, Limits{}, 5, "invalid character '.' looking for beginning of value"},
		{"plus sign", `{"a":+1}`, Limits{}, 5, "invalid character '+' looking for beginning of value"},
		{"empty exponent", `{"a":1e}`, Limits{}, 7, "invalid character '}' in exponent of numeric literal"},
		{"misspelt literal", `{"a":tru}`, Limits{}, 8, "invalid character '}' in literal true (expecting 'e')"},
		{"unknown escape", `{"a":"\x"}`, Limits{}, 7, "invalid character 'x' in string escape code"},
		{"bad hex escape", `{"a":"\u12G4"}`, Limits{}, 10, `invalid character 'G' in \u hexadecimal character escape`},
		{"bad hex after high surrogate", `{"a":"\ud83d\u12G4"}`, Limits{}, 16, `invalid character 'G' in \u hexadecimal character escape`},
		{"unterminated string", `{"a":"abc`, Limits{}, 9, "unexpected end of JSON input"},
		{"unterminated escaped string", `{"a":"a\"`, Limits{}, 9, "unexpected end of JSON input"},
		{"unterminated object", `{"a":1`, Limits{}, 6, "unexpected end of JSON input"},
		{"array closed by brace", `{"a":[1,2}`, Limits{}, 9, "invalid character '}' after array element"},
		{"raw control character outside string", "{\"a\":1\x01}", Limits{}, 6, `invalid character '\x01' after object key:value pair`},
		{"invalid UTF-8 outside string", "{\xff}", Limits{}, 1, `invalid character '\xff' looking for beginning of object key string`},
		{"trailing data", `{"a":1} x`, Limits{}, 8, "invalid character 'x' after top-level value"},
		{"two records", `{"a":1}{}`, Limits{}, 7, "invalid character '{' after top-level value"},
		{"array is not an object", `[1]`, Limits{}, 0, "top-level value is an array, not an object"},
		{"string is not an object", ` "x"`, Limits{}, 1, "top-level value is a string, not an object"},
		{"garbage is not an object", `<x/>`, Limits{}, 0, "invalid character '<' looking for beginning of object"},
		{"over MaxBytes", `{"a":1}`, Limits{MaxBytes: 6}, 6, "input of 7 bytes exceeds the limit of 6 bytes"},
		{"over MaxDepth", `{"a":{"b":{}}}`, Limits{MaxDepth: 2}, 10, "nesting depth exceeds the limit of 2"},
		{"over MaxDepth in array", `{"a":[[1]]}`, Limits{MaxDepth: 2}, 6, "nesting depth exceeds the limit of 2"},
		{"over default MaxDepth", `{"a":` + strings.Repeat("[", 64) + strings.Repeat("]", 64) + `}`, Limits{}, 68, "nesting depth exceeds the limit of 64"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := DecodeMap([]byte(tt.input), pcommon.NewMap(), tt.lim)
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("DecodeMap(%q) error = %v, want a *SyntaxError", tt.input, err)
			}
			if se.Offset != tt.wantOffset || se.Msg != tt.wantMsg {
				t.Fatalf("DecodeMap(%q) error = {%d, %q}, want {%d, %q}", tt.input, se.Offset, se.Msg, tt.wantOffset, tt.wantMsg)
			}
		})
	}
}

func TestSyntaxErrorText(t *testing.T) {
	err := DecodeMap([]byte(`{"a" x}`), pcommon.NewMap(), Limits{})
	const want = "jsonpdata: invalid character 'x' after object key at offset 5"
	if err == nil || err.Error() != want {
		t.Fatalf("error = %v, want %q", err, want)
	}
}

func TestDecodeValueErrors(t *testing.T) {
	tests := []struct {
		name       string
		input      string
		wantOffset int64
		wantMsg    string
	}{
		{"trailing data after number", `1x`, 1, "invalid character 'x' after top-level value"},
		{"truncated literal", `nul`, 3, "unexpected end of JSON input"},
		{"lone minus at end", `-`, 1, "unexpected end of JSON input"},
		{"point at end", `1.`, 2, "unexpected end of JSON input"},
		{"exponent at end", `1e+`, 3, "unexpected end of JSON input"},
		{"unterminated array", `[1,`, 3, "unexpected end of JSON input"},
		{"trailing comma in array", `[1,]`, 3, "invalid character ']' looking for beginning of value"},
		{"truncated escape", `"\`, 2, "unexpected end of JSON input"},
		{"truncated hex escape", `"\u12`, 5, "unexpected end of JSON input"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := DecodeValue([]byte(tt.input), pcommon.NewValueEmpty(), Limits{})
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("DecodeValue(%q) error = %v, want a *SyntaxError", tt.input, err)
			}
			if se.Offset != tt.wantOffset || se.Msg != tt.wantMsg {
				t.Fatalf("DecodeValue(%q) error = {%d, %q}, want {%d, %q}", tt.input, se.Offset, se.Msg, tt.wantOffset, tt.wantMsg)
			}
		})
	}
}

func TestDepthLimitBoundary(t *testing.T) {
	nested := func(depth int) []byte {
		return []byte(strings.Repeat(`{"a":`, depth-1) + "{}" + strings.Repeat("}", depth-1))
	}
	if err := DecodeMap(nested(defaultMaxDepth), pcommon.NewMap(), Limits{}); err != nil {
		t.Errorf("depth %d with default limits: %v", defaultMaxDepth, err)
	}
	if err := DecodeMap(nested(defaultMaxDepth+1), pcommon.NewMap(), Limits{}); err == nil {
		t.Errorf("depth %d with default limits: no error", defaultMaxDepth+1)
	}
	if err := DecodeMap(nested(200), pcommon.NewMap(), Limits{MaxDepth: 200}); err != nil {
		t.Errorf("depth 200 with MaxDepth 200: %v", err)
	}
	// A deep-nesting attack fails fast at the limit instead of recursing.
	attack := []byte(strings.Repeat("[", 1<<20))
	if err := DecodeValue(attack, pcommon.NewValueEmpty(), Limits{}); err == nil {
		t.Errorf("a million '[': no error")
	}
}

func TestDecodeMapReplacesDest(t *testing.T) {
	m := pcommon.NewMap()
	m.PutStr("old", "x")
	if err := DecodeMap([]byte(`{"new":1}`), m, Limits{}); err != nil {
		t.Fatal(err)
	}
	if got := mapKeys(m); !slices.Equal(got, []string{"new"}) {
		t.Fatalf("keys = %q, want [new]", got)
	}
}

func TestOverMaxBytesLeavesDestUntouched(t *testing.T) {
	m := pcommon.NewMap()
	m.PutStr("old", "x")
	if err := DecodeMap([]byte(`{"new":1}`), m, Limits{MaxBytes: 4}); err == nil {
		t.Fatal("no error")
	}
	if got := mapKeys(m); !slices.Equal(got, []string{"old"}) {
		t.Fatalf("keys = %q, want [old]", got)
	}
}

func TestDecodeValueReplacesDest(t *testing.T) {
	for _, input := range []string{`null`, `1`, `"s"`, `[1]`, `{"a":1}`} {
		v := pcommon.NewValueMap()
		v.Map().PutStr("old", "x")
		if err := DecodeValue([]byte(input), v, Limits{}); err != nil {
			t.Fatal(err)
		}
		want := pcommon.NewValueEmpty()
		if err := DecodeValue([]byte(input), want, Limits{}); err != nil {
			t.Fatal(err)
		}
		if !v.Equal(want) {
			t.Errorf("DecodeValue(%q) into a map value = %#v, want %#v", input, v.AsRaw(), want.AsRaw())
		}
	}
}
