package filesource

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelsec/emailcompromise/internal/testing/recordtest"
)

// scanned is a record as a test compares it: its text, or "!" and the
// problem for a problem record.
type scanned string

func problemRecord(problem string) scanned { return scanned("!" + problem) }

// windowSizes cover records split across reads at every byte, at odd
// places, and not at all.
var windowSizes = []int{1, 3, 17, readBufferSize}

func newTestWindow(data []byte, size int, at resumePoint) *window {
	w := newWindow(bytes.NewReader(data[at.Offset:]), false, at, data[max(at.Offset-anchorSize, 0):at.Offset])
	w.buf = make([]byte, size)
	return w
}

// scanAll returns everything r yields and the error that ended it.
func scanAll(r recordReader) ([]scanned, error) {
	var out []scanned
	for {
		rec, err := r.next()
		if err != nil {
			return out, err
		}
		if rec.Problem != "" {
			out = append(out, problemRecord(rec.Problem))
		} else {
			out = append(out, scanned(rec.Data))
		}
	}
}

func TestScannerLayouts(t *testing.T) {
	tests := []struct {
		name  string
		input string
		want  []scanned
	}{
		{"json lines", "{\"a\":1}\n{\"b\":2}\n", []scanned{`{"a":1}`, `{"b":2}`}},
		{"json lines, CRLF, blank lines, no final newline", "{\"a\":1}\r\n\r\n{\"b\":2}", []scanned{`{"a":1}`, `{"b":2}`}},
		{"concatenated objects", `{"a":1}{"b":[2]} {"c":{}}`, []scanned{`{"a":1}`, `{"b":[2]}`, `{"c":{}}`}},
		{"array", `[{"a":1}, {"b":2} ]`, []scanned{`{"a":1}`, `{"b":2}`}},
		{"pretty array with elements at column 0", "[\n{\n\"a\": 1\n},\n{\n\"b\": [\n{\"c\": 2}\n]\n}\n]\n", []scanned{"{\n\"a\": 1\n}", "{\n\"b\": [\n{\"c\": 2}\n]\n}"}},
		{"empty array and empty envelope", `[] {"value": []}`, nil},
		{"pretty single record", "{\n  \"Id\": \"x\",\n  \"Nested\": {\n    \"k\": [1, 2]\n  }\n}\n", []scanned{"{\n  \"Id\": \"x\",\n  \"Nested\": {\n    \"k\": [1, 2]\n  }\n}"}},
		{"graph page with keys around the array", `{"@odata.context":"x","value":[{"id":"1"},{"id":"2"}],"@odata.nextLink":"https://graph/?$skiptoken=a"}`, []scanned{`{"id":"1"}`, `{"id":"2"}`}},
		{"azure monitor records", "{\n \"records\": [\n  {\"time\": \"t\"}\n ]\n}", []scanned{`{"time": "t"}`}},
		{"reports api items", `{"kind":"admin#reports#activities","etag":"\"e\"","items":[{"kind":"admin#reports#activity"}],"nextPageToken":"n"}`, []scanned{`{"kind":"admin#reports#activity"}`}},
		{"two envelopes in a row", `{"value":[{"a":1}]}{"records":[{"b":2}]}`, []scanned{`{"a":1}`, `{"b":2}`}},
		{"envelope key not followed by an array is a record", `{"value":{"a":[1]},"items":"x"}`, []scanned{`{"value":{"a":[1]},"items":"x"}`}},
		{"envelope key nested deeper is a record", `{"data":{"value":[{"a":1}]}}`, []scanned{`{"data":{"value":[{"a":1}]}}`}},
		{"escaped key is no envelope key", `{"valu\u0065":[{"a":1}]}`, []scanned{`{"valu\u0065":[{"a":1}]}`}},
		{"strings with brackets, quotes and escapes", `{"a":"}]\"{[\\","b":"\\"}`, []scanned{`{"a":"}]\"{[\\","b":"\\"}`}},
		{"scalar elements each yield a record", `[1, "two", true, null, {"a":1}]`, []scanned{`1`, `"two"`, `true`, `null`, `{"a":1}`}},
		{"junk lines at top level", "not json\n{\"a\":1}\n\x00\x00\n", []scanned{"not json\n", `{"a":1}`, "\x00\x00\n"}},
		{"top-level scalar is a junk line", "42 {\"a\":1}\n", []scanned{"42 {\"a\":1}\n"}},
		{"trailing comma", `[{"a":1},]`, []scanned{`{"a":1}`, problemRecord("trailing ',' at offset 8 before ']'")}},
		{"stray commas", `[,{"a":1},,]`, []scanned{problemRecord("empty array element: stray ',' at offset 1"), `{"a":1}`, problemRecord("empty array element: stray ',' at offset 10"), problemRecord("trailing ',' at offset 10 before ']'")}},
		{"missing comma loses nothing", `[{"a":1} {"b":2}]`, []scanned{`{"a":1}`, `{"b":2}`}},
		{"stray closing brace in an array", `[{"a":1}}]`, []scanned{`{"a":1}`, `}`}},
		{"json line cut short before the next line", "{\"a\":\"tru\n{\"b\":2}\n{\"c\":{\"d\":1\n{\"e\":3}\n", []scanned{"{\"a\":\"tru\n", `{"b":2}`, "{\"c\":{\"d\":1\n", `{"e":3}`}},
		{"non-UTF-8 and NUL bytes inside a record", "{\"a\":\"\xff\x00\"}\n", []scanned{"{\"a\":\"\xff\x00\"}"}},
	}
	// The layout each input is in, as the file source names it: the first
	// top-level value's, a single object followed by more making JSON lines.
	layouts := map[string]Layout{
		"json lines": LayoutJSONLines,
		"json lines, CRLF, blank lines, no final newline":   LayoutJSONLines,
		"concatenated objects":                              LayoutJSONLines,
		"array":                                             LayoutJSONArray,
		"pretty array with elements at column 0":            LayoutJSONArray,
		"empty array and empty envelope":                    LayoutJSONArray,
		"pretty single record":                              LayoutSingleObject,
		"graph page with keys around the array":             LayoutGraphPage,
		"azure monitor records":                             LayoutAzureMonitorRecords,
		"reports api items":                                 LayoutReportsPage,
		"two envelopes in a row":                            LayoutGraphPage,
		"envelope key not followed by an array is a record": LayoutSingleObject,
		"envelope key nested deeper is a record":            LayoutSingleObject,
		"escaped key is no envelope key":                    LayoutSingleObject,
		"strings with brackets, quotes and escapes":         LayoutSingleObject,
		"scalar elements each yield a record":               LayoutJSONArray,
		"junk lines at top level":                           LayoutJSONLines,
		"top-level scalar is a junk line":                   LayoutJSONLines,
		"trailing comma":                                    LayoutJSONArray,
		"stray commas":                                      LayoutJSONArray,
		"missing comma loses nothing":                       LayoutJSONArray,
		"stray closing brace in an array":                   LayoutJSONArray,
		"json line cut short before the next line":          LayoutJSONLines,
		"non-UTF-8 and NUL bytes inside a record":           LayoutSingleObject,
	}
	for _, tt := range tests {
		require.Contains(t, layouts, tt.name)
		for _, size := range windowSizes {
			t.Run(fmt.Sprintf("%s/window=%d", tt.name, size), func(t *testing.T) {
				s := newJSONScanner(newTestWindow([]byte(tt.input), size, resumePoint{}), 1<<20)
				got, err := scanAll(s)
				require.ErrorIs(t, err, io.EOF)
				assert.Equal(t, tt.want, got)
				assert.Equal(t, layouts[tt.name], s.currentLayout())
				assert.Equal(t, layouts[tt.name], s.resumePoint().Layout, "kept with the resume point")
			})
		}
	}
}

// TestScannerLayoutIsKeptAcrossResumes resumes a stream after its first
// record: a single object that gains a second line becomes JSON lines, an
// array stays an array, and a checkpoint saved before layouts were kept
// does not guess one from what follows.
func TestScannerLayoutIsKeptAcrossResumes(t *testing.T) {
	for _, tc := range []struct {
		input string
		want  Layout
	}{
		{"{\"a\":1}\n{\"b\":2}\n", LayoutJSONLines},
		{`[{"a":1},{"b":2}]`, LayoutJSONArray},
		{`{"records":[{"a":1},{"b":2}]}`, LayoutAzureMonitorRecords},
	} {
		data := []byte(tc.input)
		first := newJSONScanner(newTestWindow(data, 64, resumePoint{}), 1<<20)
		_, err := first.next()
		require.NoError(t, err)
		at := first.resumePoint()
		resumed := newJSONScanner(newTestWindow(data, 64, at), 1<<20)
		_, err = scanAll(resumed)
		require.ErrorIs(t, err, io.EOF)
		assert.Equal(t, tc.want, resumed.currentLayout(), tc.input)
	}

	// A checkpoint of an older version: an offset, no layout.
	path := recordtest.WriteFile(t, filepath.Join(t.TempDir(), "a.json"), []byte("{\"a\":1}\n{\"b\":2}\n"))
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	legacy, err := openRecords(f, 16, resumePoint{Offset: 7}, 1<<20)
	require.NoError(t, err)
	_, err = scanAll(legacy)
	require.ErrorIs(t, err, io.EOF)
	assert.Equal(t, layoutUnknown, legacy.currentLayout())
}

// TestScannerResumesAfterEveryRecord restarts a scanner at each resume point
// it reported and checks that the rest of the stream reads the same.
func TestScannerResumesAfterEveryRecord(t *testing.T) {
	inputs := []string{
		"{\"a\":1}\n{\"b\":2}\n{\"c\":3}",
		`[{"a":1},{"b":2},{"c":3}]  {"d":4}`,
		`{"@odata.context":"x","value":[{"a":1},{"b":2}],"@odata.nextLink":"y"}` + "\n" + `{"c":3}`,
		`{"records":[{"a":1},{"b":2}]} [{"c":3}]`,
		`[1,,{"a":1},]`,
	}
	for _, input := range inputs {
		data := []byte(input)
		all, err := scanAll(newJSONScanner(newTestWindow(data, 5, resumePoint{}), 1<<20))
		require.ErrorIs(t, err, io.EOF)
		s := newJSONScanner(newTestWindow(data, 5, resumePoint{}), 1<<20)
		for i := range all {
			_, err := s.next()
			require.NoError(t, err)
			at := s.resumePoint()
			require.Equal(t, fingerprint(data[:at.Offset]), at.Anchor)
			rest, err := scanAll(newJSONScanner(newTestWindow(data, 5, at), 1<<20))
			require.ErrorIs(t, err, io.EOF)
			assert.True(t, slices.Equal(all[i+1:], rest), "input %q resumed at %+v: want %q, got %q", input, at, all[i+1:], rest)
		}
	}
}

// TestResumePointAnchorIsTheBytesBeforeIt reads records longer than the
// window, so that the bytes before a resume point have left the window by
// the time it is taken, at the end of the stream and inside a record cut
// short, and checks each anchor against the stream itself.
func TestResumePointAnchorIsTheBytesBeforeIt(t *testing.T) {
	long := `{"Id":"` + strings.Repeat("x", 700) + `"}`
	data := []byte("[" + long + ",\n" + long + ",\n" + long + "]\n" + long[:500])
	wantAnchor := func(offset int64) string {
		return fingerprint(data[max(offset-anchorSize, 0):offset])
	}
	for _, window := range []int{7, 64, 1000, readBufferSize} {
		s := newJSONScanner(newTestWindow(data, window, resumePoint{}), 1<<20)
		for {
			_, err := s.next()
			at := s.resumePoint()
			require.Equal(t, wantAnchor(at.Offset), at.Anchor, "window %d, resume point %d", window, at.Offset)
			if err != nil {
				require.ErrorIs(t, err, errIncomplete)
				break
			}
		}
	}
}

func TestScannerOversizedRecordIsSkippedWithoutBuffering(t *testing.T) {
	const limit = PreviewBytes
	big := `{"blob":"` + strings.Repeat("é", limit) + `"}`
	input := []byte(`{"a":1}` + "\n" + big + "\n" + `{"b":2}`)
	s := newJSONScanner(newTestWindow(input, 4096, resumePoint{}), limit)

	first, err := s.next()
	require.NoError(t, err)
	assert.Equal(t, `{"a":1}`, string(first.Data))

	oversized, err := s.next()
	require.NoError(t, err)
	assert.Equal(t, fmt.Sprintf("record of %d bytes at offset 8 exceeds max_record_bytes (%d); the body holds its first %d bytes",
		len(big), limit, len(oversized.Data)), oversized.Problem)
	assert.LessOrEqual(t, len(oversized.Data), PreviewBytes)
	assert.True(t, strings.HasPrefix(big, string(oversized.Data)), "the body is the start of the record")
	assert.LessOrEqual(t, cap(s.rec.data), 2*limit, "the record was not buffered whole")

	last, err := s.next()
	require.NoError(t, err)
	assert.Equal(t, `{"b":2}`, string(last.Data))
}

func TestScannerDeepNestingNeedsNoStack(t *testing.T) {
	deep := strings.Repeat("[", 1_000_000) + strings.Repeat("]", 1_000_000)
	got, err := scanAll(newJSONScanner(newTestWindow([]byte("["+deep+"]"), readBufferSize, resumePoint{}), 4<<20))
	require.ErrorIs(t, err, io.EOF)
	require.Len(t, got, 1)
	assert.Len(t, got[0], len(deep))
}

func TestScannerEndsInsideRecord(t *testing.T) {
	for _, tt := range []struct {
		name, input string
		complete    []scanned
		resumeAt    int64
		tail        string
	}{
		{"json line without its end", "{\"a\":1}\n{\"b\":", []scanned{`{"a":1}`}, 7, `{"b":`},
		{"array being written", `[{"a":1},{"b"`, []scanned{`{"a":1}`}, 8, `{"b"`},
		{"junk line without newline", "{\"a\":1}\nabc", []scanned{`{"a":1}`}, 7, "abc"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := newJSONScanner(newTestWindow([]byte(tt.input), 64, resumePoint{}), 1<<20)
			got, err := scanAll(s)
			require.ErrorIs(t, err, errIncomplete)
			assert.Equal(t, tt.complete, got)
			assert.Equal(t, tt.resumeAt, s.resumePoint().Offset)

			tail := s.abandon()
			assert.Equal(t, tt.tail, string(tail.Data))
			assert.Equal(t, int64(len(tt.input)), s.resumePoint().Offset, "abandoning moves past the tail")
			assert.Equal(t, containerNone, s.resumePoint().Container)
		})
	}
}

func TestScannerArrayWithoutEndIsNotIncomplete(t *testing.T) {
	// Nothing is pending after the last record: the writer may close the
	// array later, and reading resumes inside it.
	s := newJSONScanner(newTestWindow([]byte(`[{"a":1},`), 64, resumePoint{}), 1<<20)
	got, err := scanAll(s)
	require.ErrorIs(t, err, io.EOF)
	assert.Equal(t, []scanned{`{"a":1}`}, got)
	// The anchor is the hash of every byte before the resume point here.
	assert.Equal(t, resumePoint{Offset: 8, Container: containerArray, Anchor: fingerprint([]byte(`[{"a":1}`)), Layout: LayoutJSONArray}, s.resumePoint())
}

func TestScannerReportsReadErrors(t *testing.T) {
	failing := io.MultiReader(strings.NewReader(`{"a":1}{"b"`), iotest.ErrReader(errors.New("disk gone")))
	s := newJSONScanner(&window{r: fileErrors{failing}, buf: make([]byte, 64)}, 1<<20)
	got, err := scanAll(s)
	var readErr *fileReadError
	require.ErrorAs(t, err, &readErr)
	assert.Equal(t, []scanned{`{"a":1}`}, got)
	assert.Equal(t, int64(7), s.resumePoint().Offset)
}
