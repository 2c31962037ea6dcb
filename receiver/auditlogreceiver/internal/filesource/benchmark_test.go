package filesource

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"go.opentelemetry.io/collector/extension/xextension/storage"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.uber.org/zap"

	"github.com/otelsec/emailcompromise/internal/testing/corpus"
	"github.com/otelsec/emailcompromise/internal/testing/recordtest"
)

const benchFileBytes = 8 << 20

// benchRecords are compact vendor records: every JSON-lines record of the
// corpus, or records of each vendor shape when the corpus is absent.
func benchRecords(b *testing.B) [][]byte {
	var records [][]byte
	if dir, ok := corpus.Lookup(b); ok {
		for _, pattern := range []string{"*.log", "*.ndjson"} {
			paths, _ := filepath.Glob(filepath.Join(dir, "samples", "*", pattern))
			for _, path := range paths {
				data, err := os.ReadFile(path)
				if err != nil {
					b.Fatal(err)
				}
				for line := range bytes.Lines(data) {
					var compact bytes.Buffer
					if json.Compact(&compact, line) == nil {
						records = append(records, compact.Bytes())
					}
				}
			}
		}
	}
	if len(records) == 0 {
		for i := range 100 {
			id := strconv.Itoa(i)
			records = append(records, []byte(recordtest.O365Record(id)), []byte(graphSignIn(id)), []byte(googleActivity(id)))
		}
	}
	return records
}

// benchFile writes about benchFileBytes of records in the given layout.
func benchFile(b *testing.B, layout string) (path string, size int64) {
	records := benchRecords(b)
	var buf bytes.Buffer
	switch layout {
	case "csv":
		buf.WriteString("RecordId,CreationDate,RecordType,Operation,UserId,AuditData,AssociatedAdminUnits,AssociatedAdminUnitsNames\r\n")
	}
	for i := 0; buf.Len() < benchFileBytes; i++ {
		r := records[i%len(records)]
		switch layout {
		case "csv":
			buf.WriteString("id,9/20/2023 4:05:03 AM,8,Op,user@example.com,\"")
			buf.Write(bytes.ReplaceAll(r, []byte(`"`), []byte(`""`)))
			buf.WriteString("\",,\r\n")
		default:
			buf.Write(r)
			buf.WriteByte('\n')
		}
	}
	data := buf.Bytes()
	if layout == "jsonl.gz" {
		data = gzipped(b, data)
	}
	path = filepath.Join(b.TempDir(), "bench."+layout)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		b.Fatal(err)
	}
	return path, int64(buf.Len())
}

// BenchmarkReadFile reads a multi-MB export through the file source (format
// detection, scanning, decoding into pdata, vendor parsing, attributes,
// batching, checkpoints), beside a baseline that only reads and splits lines,
// so the ratio is the cost of turning bytes into audit log records. MB/s is
// of the uncompressed data.
func BenchmarkReadFile(b *testing.B) {
	b.Run("baseline_bufio_lines", func(b *testing.B) {
		path, size := benchFile(b, "jsonl")
		b.SetBytes(size)
		b.ReportAllocs()
		for b.Loop() {
			f, err := os.Open(path)
			if err != nil {
				b.Fatal(err)
			}
			sc := bufio.NewScanner(f)
			sc.Buffer(make([]byte, readBufferSize), 16<<20)
			lines := 0
			for sc.Scan() {
				lines++
			}
			f.Close()
			if lines == 0 {
				b.Fatal("no lines")
			}
		}
	})
	b.Run("scanner_only", func(b *testing.B) {
		path, size := benchFile(b, "jsonl")
		b.SetBytes(size)
		b.ReportAllocs()
		for b.Loop() {
			f, err := os.Open(path)
			if err != nil {
				b.Fatal(err)
			}
			r, err := openRecords(f, size, resumePoint{}, 16<<20)
			if err != nil {
				b.Fatal(err)
			}
			for {
				if _, err := r.next(); err != nil {
					break
				}
			}
			f.Close()
		}
	})
	for _, layout := range []string{"jsonl", "csv", "jsonl.gz"} {
		b.Run("source_"+layout, func(b *testing.B) {
			path, size := benchFile(b, layout)
			set := testSettings(path)
			discard := func(context.Context, plog.Logs, func() plog.Logs) error { return nil }
			b.SetBytes(size)
			b.ReportAllocs()
			for b.Loop() {
				checkpoints, err := LoadCheckpoints(context.Background(), storage.NewNopClient())
				if err != nil {
					b.Fatal(err)
				}
				New(set, zap.NewNop(), &countingMetrics{}, checkpoints).poll(context.Background(), discard)
			}
		})
	}
}
