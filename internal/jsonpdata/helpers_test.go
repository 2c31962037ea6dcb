package jsonpdata

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// corpusFile is one sample file, split into the JSON texts it holds.
type corpusFile struct {
	path string // relative to the corpus directory
	// invalid marks files kept broken on purpose (see the corpus SOURCES.md).
	invalid bool
	// records are the file's JSON texts: the whole file when it is one JSON
	// value, otherwise its non-blank lines (JSON Lines). For invalid files it
	// is the whole file.
	records [][]byte
}

// loadCorpus reads every *.json, *.log and *.ndjson file under dir.
func loadCorpus(tb testing.TB, dir string) []corpusFile {
	tb.Helper()
	var files []corpusFile
	err := filepath.WalkDir(dir, func(path string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		switch filepath.Ext(path) {
		case ".json", ".log", ".ndjson":
		default:
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		name := filepath.Base(path)
		f := corpusFile{
			path:    rel,
			invalid: strings.Contains(name, "INVALID-JSON") || strings.HasSuffix(name, ".verbatim.json"),
		}
		if f.invalid || json.Valid(data) {
			f.records = [][]byte{data}
		} else {
			for line := range bytes.Lines(data) {
				if len(bytes.TrimSpace(line)) > 0 {
					f.records = append(f.records, line)
				}
			}
		}
		files = append(files, f)
		return nil
	})
	if err != nil {
		tb.Fatalf("reading corpus: %v", err)
	}
	if len(files) == 0 {
		tb.Fatalf("no *.json, *.log or *.ndjson files under %s", dir)
	}
	return files
}

// viaEncodingJSON is the baseline this package replaces: encoding/json into
// an interface tree, then pcommon's FromRaw, then back to raw for comparing.
func viaEncodingJSON(data []byte) (any, error) {
	var raw any
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, err
	}
	v := pcommon.NewValueEmpty()
	if err := v.FromRaw(raw); err != nil {
		return nil, err
	}
	return v.AsRaw(), nil
}

// rawDiff describes the first difference between got (our AsRaw) and want
// (the encoding/json route's AsRaw), or returns "" if they agree. encoding/json
// makes every number a float64, so an int64 of ours matches a float64 of
// theirs when they are numerically equal.
func rawDiff(path string, got, want any) string {
	switch w := want.(type) {
	case float64:
		switch g := got.(type) {
		case int64:
			if float64(g) == w {
				return ""
			}
		case float64:
			if g == w {
				return ""
			}
		}
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			break
		}
		for _, k := range slices.Sorted(maps.Keys(w)) {
			gv, ok := g[k]
			if !ok {
				return fmt.Sprintf("%s: key %q missing", path, k)
			}
			if d := rawDiff(path+"."+k, gv, w[k]); d != "" {
				return d
			}
		}
		if len(g) != len(w) {
			return fmt.Sprintf("%s: %d keys, want %d", path, len(g), len(w))
		}
		return ""
	case []any:
		g, ok := got.([]any)
		if !ok {
			break
		}
		if len(g) != len(w) {
			return fmt.Sprintf("%s: %d elements, want %d", path, len(g), len(w))
		}
		for i := range w {
			if d := rawDiff(fmt.Sprintf("%s[%d]", path, i), g[i], w[i]); d != "" {
				return d
			}
		}
		return ""
	default:
		if reflect.DeepEqual(got, want) {
			return ""
		}
	}
	return fmt.Sprintf("%s: got %#v, want %#v", path, got, want)
}

// mapKeys lists m's keys in stored order.
func mapKeys(m pcommon.Map) []string {
	var keys []string
	for k := range m.All() {
		keys = append(keys, k)
	}
	return keys
}
