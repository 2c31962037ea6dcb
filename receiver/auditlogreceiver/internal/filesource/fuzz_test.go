package filesource

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/otelsec/emailcompromise/internal/testing/corpus"
	"github.com/otelsec/emailcompromise/internal/testing/recordtest"
	"github.com/otelsec/emailcompromise/receiver/auditlogreceiver/internal/logrecord"
)

// maxSeedBytes keeps corpus seeds small enough for the fuzzer to mutate
// quickly; longer files are cut at a line end.
const maxSeedBytes = 16 << 10

// addCorpusSeeds adds the corpus files whose names end in one of suffixes.
func addCorpusSeeds(f *testing.F, suffixes ...string) {
	dir, ok := corpus.Lookup(f)
	if !ok {
		return
	}
	paths, err := filepath.Glob(filepath.Join(dir, "samples", "*", "*"))
	if err != nil {
		f.Fatal(err)
	}
	for _, path := range paths {
		if !slices.ContainsFunc(suffixes, func(s string) bool { return strings.HasSuffix(path, s) }) {
			continue
		}
		data, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		if len(data) > maxSeedBytes {
			data = data[:bytes.LastIndexByte(data[:maxSeedBytes], '\n')+1]
		}
		f.Add(data)
	}
}

// fuzzWindow picks the read window from the input, so that records are
// split across reads at every place.
func fuzzWindow(data []byte) int {
	if len(data) == 0 {
		return 1
	}
	return 1 + int(data[len(data)-1])%23
}

// FuzzScanner checks that the JSON scanner never panics and that, for every
// stream of JSON objects and arrays, it yields exactly the records
// encoding/json finds there, each of them valid JSON, and the same records
// again when resumed halfway.
func FuzzScanner(f *testing.F) {
	for _, seed := range []string{
		recordtest.JSONLines(recordtest.O365Record("a"), googleActivity("b")),
		`[` + graphSignIn("a") + `,` + graphSignIn("b") + `]`,
		`{"@odata.context":"x","value":[` + graphSignIn("a") + `],"@odata.nextLink":"y"}`,
		`{"records":[` + azureMonitorSignIn("a") + `]}{"items":[],"kind":"admin#reports#activities"}`,
		"{\"a\":\"x\n{\"b\":1}\n[1,,2,]\n\x00\xff",
	} {
		f.Add([]byte(seed))
	}
	addCorpusSeeds(f, ".json", ".log", ".ndjson")

	f.Fuzz(func(t *testing.T, data []byte) {
		window := fuzzWindow(data)
		s := newJSONScanner(newTestWindow(data, window, resumePoint{}), 1<<20)
		var records []scanned
		var resumeAt resumePoint
		for {
			rec, err := s.next()
			if err != nil {
				if !errors.Is(err, io.EOF) && !errors.Is(err, errIncomplete) {
					t.Fatalf("unexpected error %v", err)
				}
				break
			}
			if rec.Problem == "" && len(rec.Data) == 0 {
				t.Fatalf("empty record at offset %d", rec.Offset)
			}
			records = append(records, scanned(rec.Data))
			if len(records) == 1 {
				resumeAt = s.resumePoint()
			}
		}

		want, ok := referenceRecordCount(data)
		if !ok {
			return
		}
		if len(records) != want {
			t.Fatalf("scanner found %d records, encoding/json %d", len(records), want)
		}
		for _, r := range records {
			if !json.Valid([]byte(r)) {
				t.Fatalf("record is not valid JSON: %q", r)
			}
		}
		if len(records) > 1 {
			rest, err := scanAll(newJSONScanner(newTestWindow(data, window, resumeAt), 1<<20))
			if !errors.Is(err, io.EOF) || !slices.Equal(records[1:], rest) {
				t.Fatalf("resumed at %+v: got %q (%v), want %q", resumeAt, rest, err, records[1:])
			}
		}
	})
}

// referenceRecordCount counts records with encoding/json: each top-level
// object, each element of a top-level array, and instead of an envelope
// object the elements of its "value", "records" or "items" arrays. ok is
// false when data is not a stream of JSON objects and arrays.
func referenceRecordCount(data []byte) (n int, ok bool) {
	dec := json.NewDecoder(bytes.NewReader(data))
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			return n, true
		}
		if err != nil {
			return 0, false
		}
		switch tok {
		case json.Delim('['):
			for dec.More() {
				var element json.RawMessage
				if dec.Decode(&element) != nil {
					return 0, false
				}
				n++
			}
		case json.Delim('{'):
			elements, envelope := 0, false
			for dec.More() {
				start := dec.InputOffset()
				if _, err := dec.Token(); err != nil {
					return 0, false
				}
				// The raw key: the scanner compares keys as written.
				key := strings.TrimLeft(string(data[start:dec.InputOffset()]), " \t\r\n,")
				var value json.RawMessage
				if dec.Decode(&value) != nil {
					return 0, false
				}
				var array []json.RawMessage
				if (key == `"value"` || key == `"records"` || key == `"items"`) && json.Unmarshal(value, &array) == nil && value[0] == '[' {
					envelope = true
					elements += len(array)
				}
			}
			if envelope {
				n += elements
			} else {
				n++
			}
		default:
			// A top-level scalar is a junk line to the scanner.
			return 0, false
		}
		if _, err := dec.Token(); err != nil { // the closing ']' or '}'
			return 0, false
		}
	}
}

// FuzzCSV checks that the CSV reader never panics and that, for every export
// encoding/csv reads, each row after the header yields exactly one record:
// its AuditData cell as encoding/csv reads it, or a problem record for a row
// without one. A last row cut short counts once it is abandoned, as the
// receiver does when the file stops growing.
func FuzzCSV(f *testing.F) {
	synthetic, err := os.ReadFile(filepath.Join("testdata", "synthetic", "search-unifiedauditlog_creationdate-header.csv"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(synthetic)
	f.Add([]byte(purviewCSV(recordtest.O365Record("a"), googleActivity("b"))))
	f.Add([]byte("AuditData\n\"{\"\"a\"\":1}\"\n\n  \nshort\r\n"))
	addCorpusSeeds(f, ".csv")

	f.Fuzz(func(t *testing.T, data []byte) {
		start, column, _ := detectFormat(data)
		if column < 0 {
			return
		}
		r := newCSVReader(newTestWindow(data, fuzzWindow(data), resumePoint{Offset: start}), column, 1<<20)
		var records []logrecord.Raw
		for {
			rec, err := r.next()
			if errors.Is(err, errIncomplete) {
				rec, err = r.abandon(), nil
				rec.Problem = "cut short"
			}
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("unexpected error %v", err)
			}
			rec.Data = bytes.Clone(rec.Data)
			records = append(records, rec)
			if rec.Problem == "cut short" {
				break
			}
		}

		reader := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(data, utf8BOM)))
		reader.FieldsPerRecord = -1
		rows, err := reader.ReadAll()
		if err != nil || len(rows) == 0 {
			return
		}
		rows = rows[1:] // the header
		if len(records) != len(rows) {
			t.Fatalf("reader found %d records, encoding/csv %d rows", len(records), len(rows))
		}
		for i, row := range rows {
			if records[i].Problem != "" {
				continue
			}
			// encoding/csv drops carriage returns; the reader keeps them
			// inside quotes, as they were written.
			if got := strings.ReplaceAll(string(records[i].Data), "\r", ""); got != strings.ReplaceAll(row[column], "\r", "") {
				t.Fatalf("row %d: AuditData %q, encoding/csv %q", i, got, row[column])
			}
		}
	})
}
