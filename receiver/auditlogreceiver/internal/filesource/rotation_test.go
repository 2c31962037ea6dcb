package filesource

import (
	"compress/gzip"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otelsec/emailcompromise/internal/testing/recordtest"
)

// The cases of issue 19: files rotated, copied, replaced or written slowly
// while the receiver reads them. Each record must come out exactly once.

// o365Records returns the records <prefix>-<from> .. <prefix>-<to-1>, each
// about 230 bytes: five of them fill the 1 KiB fingerprint.
func o365Records(prefix string, from, to int) []string {
	var out []string
	for i := from; i < to; i++ {
		out = append(out, recordtest.O365Record(fmt.Sprintf("%s-%02d", prefix, i)))
	}
	return out
}

// ids returns the Id of each record.
func ids(t *testing.T, records []string) []string {
	var out []string
	for _, r := range records {
		var rec struct{ Id string }
		require.NoError(t, json.Unmarshal([]byte(r), &rec))
		out = append(out, rec.Id)
	}
	return out
}

// assertOnce checks that every record of want came out exactly once.
func assertOnce(t *testing.T, want []string, got []plog.LogRecord) {
	t.Helper()
	assert.ElementsMatch(t, ids(t, want), recordtest.IDs(got))
	assert.Empty(t, recordtest.ParseErrors(got))
}

// TestFileRotatedDuringAPollIsReadUnderItsNewName renames a file after a
// poll identified it and before it read it, and puts a new file with more
// records at its name: the poll must not read the new file under the old
// one's checkpoint. The next poll finds the old file under its new name and
// reads on where it was, and reads the new file from its start.
func TestFileRotatedDuringAPollIsReadUnderItsNewName(t *testing.T) {
	dir := t.TempDir()
	other := recordtest.WriteFile(t, filepath.Join(dir, "a.json"), []byte(recordtest.JSONLines(recordtest.O365Record("a-1"))))
	path := recordtest.WriteFile(t, filepath.Join(dir, "audit.log"), []byte(recordtest.JSONLines(o365Records("old", 0, 6)...)))
	set := testSettings(filepath.Join(dir, "*"))
	set.BatchSize = 1
	src := newTestSource(t, set, nil)
	got := src.poll(t)

	appendFile(t, other, []byte(recordtest.JSONLines(recordtest.O365Record("a-2"))))
	appendFile(t, path, []byte(recordtest.JSONLines(o365Records("old", 6, 8)...)))
	opens := 0
	src.open = func(name string) (*os.File, error) {
		if name == path {
			opens++
			if opens == 2 {
				// audit.log was identified (the first open); its read
				// begins.
				require.NoError(t, os.Rename(path, path+".1"))
				recordtest.WriteFile(t, path, []byte(recordtest.JSONLines(o365Records("new", 0, 12)...)))
			}
		}
		return os.Open(name)
	}
	got = append(got, src.poll(t)...)
	require.GreaterOrEqual(t, opens, 2, "audit.log was read after it was identified")
	got = append(got, src.poll(t)...)
	assert.Empty(t, src.poll(t))
	want := append(append([]string{recordtest.O365Record("a-1"), recordtest.O365Record("a-2")}, o365Records("old", 0, 8)...), o365Records("new", 0, 12)...)
	assertOnce(t, want, got)
}

// TestCopyTruncateRotation rotates as logrotate's copytruncate does: the
// file is copied, then truncated in place and written again. A poll may come
// between the copy and the truncate, when two files hold the same records.
func TestCopyTruncateRotation(t *testing.T) {
	for _, pollInGap := range []bool{true, false} {
		t.Run(fmt.Sprintf("poll between copy and truncate %v", pollInGap), func(t *testing.T) {
			dir := t.TempDir()
			path := recordtest.WriteFile(t, filepath.Join(dir, "audit.log"), []byte(recordtest.JSONLines(o365Records("r", 0, 6)...)))
			src := newTestSource(t, testSettings(filepath.Join(dir, "audit.log*")), nil)
			got := src.poll(t)

			// Records the receiver has not read yet when the copy is made.
			appendFile(t, path, []byte(recordtest.JSONLines(o365Records("r", 6, 9)...)))
			content, err := os.ReadFile(path)
			require.NoError(t, err)
			recordtest.WriteFile(t, path+".1", content)
			if pollInGap {
				got = append(got, src.poll(t)...)
			}
			require.NoError(t, os.Truncate(path, 0))
			appendFile(t, path, []byte(recordtest.JSONLines(o365Records("n", 0, 2)...)))
			// Whoever holds the copy may write to it too.
			appendFile(t, path+".1", []byte(recordtest.JSONLines(recordtest.O365Record("late"))))
			got = append(got, src.poll(t)...)
			assert.Empty(t, src.poll(t))
			want := append(append(o365Records("r", 0, 9), o365Records("n", 0, 2)...), recordtest.O365Record("late"))
			assertOnce(t, want, got)
		})
	}
}

// TestCopyOfAFileIsNotReadAgain: a file copied by hand while the original
// stays and grows holds nothing new until someone writes to it.
func TestCopyOfAFileIsNotReadAgain(t *testing.T) {
	dir := t.TempDir()
	path := recordtest.WriteFile(t, filepath.Join(dir, "audit.json"), []byte(recordtest.JSONLines(o365Records("r", 0, 6)...)))
	src := newTestSource(t, testSettings(filepath.Join(dir, "*.json")), nil)
	got := src.poll(t)
	content, err := os.ReadFile(path)
	require.NoError(t, err)
	recordtest.WriteFile(t, filepath.Join(dir, "backup.json"), content)
	appendFile(t, path, []byte(recordtest.JSONLines(recordtest.O365Record("r-06"))))
	got = append(got, src.poll(t)...)
	appendFile(t, filepath.Join(dir, "backup.json"), []byte(recordtest.JSONLines(recordtest.O365Record("b-00"))))
	got = append(got, src.poll(t)...)
	assertOnce(t, append(o365Records("r", 0, 7), recordtest.O365Record("b-00")), got)
}

// TestReplacedFileThatStartsAlikeIsReadAnew replaces a file by one with the
// same first kilobytes: the fingerprint matches, the bytes before where
// reading stopped do not, so the new file is read from its start.
func TestReplacedFileThatStartsAlikeIsReadAnew(t *testing.T) {
	head := o365Records("same", 0, 6) // past the 1 KiB fingerprint
	old := append(head[:6:6], o365Records("old", 0, 4)...)
	tests := []struct {
		name        string
		replacement []string
		inPlace     bool
	}{
		{"recreated, longer", append(head[:6:6], o365Records("new", 0, 20)...), false},
		{"recreated, same size", append(head[:6:6], o365Records("new", 0, 4)...), false},
		{"rewritten in place, same size", append(head[:6:6], o365Records("new", 0, 4)...), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := recordtest.WriteFile(t, filepath.Join(t.TempDir(), "audit.json"), []byte(recordtest.JSONLines(old...)))
			src := newTestSource(t, testSettings(path), nil)
			assertOnce(t, old, src.poll(t))
			before, err := os.Stat(path)
			require.NoError(t, err)
			if !tt.inPlace {
				require.NoError(t, os.Remove(path))
			}
			recordtest.WriteFile(t, path, []byte(recordtest.JSONLines(tt.replacement...)))
			// The kernel's coarse file clock may give both writes the same
			// modification time; a rewrite is noticed by it.
			require.NoError(t, os.Chtimes(path, time.Time{}, before.ModTime().Add(time.Second)))
			assertOnce(t, tt.replacement, src.poll(t))
			assert.Empty(t, src.poll(t))
		})
	}
}

// TestGzipWrittenSlowlyInBlocks reads a gzip file that its writer flushes
// in the middle of records and pauses for most of incomplete_record_timeout
// each time, over many polls: no record becomes a parse error. Once the
// writer stops for longer without closing the stream, that is reported
// once, and what it writes after is still read.
func TestGzipWrittenSlowlyInBlocks(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.json.gz")
	file, err := os.Create(path)
	require.NoError(t, err)
	defer file.Close()
	zw := gzip.NewWriter(file)
	write := func(s string) {
		t.Helper()
		_, err := zw.Write([]byte(s))
		require.NoError(t, err)
		require.NoError(t, zw.Flush()) // Z_SYNC_FLUSH: readable up to here, no end yet
	}
	set := testSettings(path)
	set.IncompleteRecordTimeout = 10 * time.Second
	src := newTestSource(t, set, nil)

	records := o365Records("gz", 0, 30)
	var got []plog.LogRecord
	for _, r := range records {
		line := r + "\n"
		write(line[:len(line)/2])
		got = append(got, src.poll(t)...)
		for range 3 {
			src.advance(3 * time.Second)
			got = append(got, src.poll(t)...)
		}
		write(line[len(line)/2:])
		got = append(got, src.poll(t)...)
	}
	assertOnce(t, records, got)

	// The writer stops between records without closing the stream.
	src.advance(10 * time.Second)
	stopped := src.poll(t)
	require.Len(t, stopped, 1)
	assert.Contains(t, recordtest.ParseErrors(stopped)[0], "gzip stream ends early (after ")
	assert.Contains(t, recordtest.ParseErrors(stopped)[0], "has not changed for 10s: it was cut short, or its writer stopped without closing the stream")

	write(recordtest.JSONLines(recordtest.O365Record("gz-after")))
	require.NoError(t, zw.Close())
	assertOnce(t, []string{recordtest.O365Record("gz-after")}, src.poll(t))
	assert.Empty(t, src.poll(t))
}

// TestCopyTruncatedBetweenIdentifyAndReadIsNotReadTwice: copytruncate's
// truncate lands after the poll identified the original and its copy, before
// the original is read. The original, now shorter than its checkpoint, is
// read from its start (nothing); the copy goes on from where the original
// stood when the copy was identified, not from where that empty read ended.
func TestCopyTruncatedBetweenIdentifyAndReadIsNotReadTwice(t *testing.T) {
	dir := t.TempDir()
	path := recordtest.WriteFile(t, filepath.Join(dir, "a.json"), []byte(recordtest.JSONLines(o365Records("a", 0, 10)...)))
	src := newTestSource(t, testSettings(filepath.Join(dir, "*")), nil)
	assert.Len(t, src.poll(t), 10)

	appendFile(t, path, []byte(recordtest.JSONLines(o365Records("a", 10, 15)...)))
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	recordtest.WriteFile(t, path+".1", data)
	opens := 0
	src.open = func(name string) (*os.File, error) {
		if name == path {
			opens++
			if opens == 2 { // identified; the read of a.json begins
				require.NoError(t, os.Truncate(path, 0))
			}
		}
		return os.Open(name)
	}
	assert.ElementsMatch(t, ids(t, o365Records("a", 10, 15)), recordtest.IDs(src.poll(t)))
	assert.Empty(t, src.poll(t))
}
