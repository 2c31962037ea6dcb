package filesource

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/extension/storage/storagetest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/otelsec/emailcompromise/internal/auditrecord"
	"github.com/otelsec/emailcompromise/internal/testing/recordtest"
	"github.com/otelsec/emailcompromise/receiver/auditlogreceiver/internal/logrecord"
)

func TestReadsEveryFormatPlainAndGzipped(t *testing.T) {
	synthetic, err := os.ReadFile(filepath.Join("testdata", "synthetic", "search-unifiedauditlog_creationdate-header.csv"))
	require.NoError(t, err)
	tests := []struct {
		name    string
		content string
		ids     []string
		layout  Layout
	}{
		{"json lines", recordtest.JSONLines(recordtest.O365Record("a"), graphSignIn("b"), googleActivity("c")), []string{"a", "b", "c"}, LayoutJSONLines},
		{"concatenated objects", recordtest.O365Record("a") + recordtest.O365Record("b") + " " + googleActivity("c"), []string{"a", "b", "c"}, LayoutJSONLines},
		{"array", "[\n  " + recordtest.O365Record("a") + ",\n  " + recordtest.O365Record("b") + "\n]\n", []string{"a", "b"}, LayoutJSONArray},
		{"graph page", `{"@odata.context":"https://graph.microsoft.com/v1.0/$metadata#auditLogs/signIns","value":[` + graphSignIn("a") + "," + graphSignIn("b") + `],"@odata.nextLink":"https://graph.microsoft.com/v1.0/auditLogs/signIns?$skiptoken=x"}`, []string{"a", "b"}, LayoutGraphPage},
		{"azure monitor export", `{"records":[` + azureMonitorSignIn("a") + "," + azureMonitorSignIn("b") + `]}`, []string{"a", "b"}, LayoutAzureMonitorRecords},
		{"reports api page", `{"kind":"admin#reports#activities","etag":"\"x\"","items":[` + googleActivity("a") + "," + googleActivity("b") + `],"nextPageToken":"n"}`, []string{"a", "b"}, LayoutReportsPage},
		{"pretty single record", strings.ReplaceAll(recordtest.O365Record("a"), ",", ",\n    "), []string{"a"}, LayoutSingleObject},
		{"purview csv", purviewCSV(recordtest.O365Record("a"), recordtest.O365Record("b")), []string{"a", "b"}, LayoutPurviewCSVRecordID},
		{"older csv header, multi-line cell", string(synthetic), []string{"a6a52406-0912-448d-36eb-08d8a1bea6be", "2e7b94ee-92f7-480f-8b14-89d4bc0c0e43", "52d72a62-132b-487b-bb7f-c4c119f90700"}, LayoutPurviewCSVCreationDate},
	}
	for _, tt := range tests {
		for _, compressed := range []bool{false, true} {
			t.Run(tt.name+map[bool]string{false: "", true: "/gzip"}[compressed], func(t *testing.T) {
				content := []byte(tt.content)
				if compressed {
					content = gzipped(t, content)
				}
				// The name says nothing of the format: it is detected.
				path := recordtest.WriteFile(t, filepath.Join(t.TempDir(), "export.dat"), content)
				src := newTestSource(t, testSettings(path), nil)
				core, logs := observer.New(zapcore.InfoLevel)
				src.logger = zap.New(core)
				records := src.poll(t)
				assert.Equal(t, tt.ids, recordtest.IDs(records))
				assert.Empty(t, recordtest.ParseErrors(records))
				assert.Equal(t, []Layout{tt.layout}, loggedLayouts(logs, path), "logged once")
				assert.Equal(t, tt.layout, src.checkpoints.files[0].Position.Layout, "kept in the checkpoint")
			})
		}
	}
}

// loggedLayouts are the layouts logged for path, in order.
func loggedLayouts(logs *observer.ObservedLogs, path string) []Layout {
	var out []Layout
	for _, e := range logs.FilterMessage("audit file layout").All() {
		if e.ContextMap()["path"] == path {
			out = append(out, Layout(e.ContextMap()["layout"].(string)))
		}
	}
	return out
}

// TestLayoutIsLoggedOncePerFileAndAgainWhenItChanges reads a file that
// starts as one record and grows into JSON lines, then restarts on the same
// storage: the layout is logged when first known and when it changed, never
// again for a file whose layout is in its checkpoint.
func TestLayoutIsLoggedOncePerFileAndAgainWhenItChanges(t *testing.T) {
	path := recordtest.WriteFile(t, filepath.Join(t.TempDir(), "audit.json"), []byte(recordtest.JSONLines(recordtest.O365Record("1"))))
	client := storagetest.NewInMemoryClient(component.KindReceiver, component.MustNewID("audit_log"), "")
	core, logs := observer.New(zapcore.InfoLevel)
	src := newTestSource(t, testSettings(path), client)
	src.logger = zap.New(core)
	src.poll(t)
	src.poll(t)
	assert.Equal(t, []Layout{LayoutSingleObject}, loggedLayouts(logs, path))

	appendFile(t, path, []byte(recordtest.JSONLines(recordtest.O365Record("2"))))
	assert.Equal(t, []string{"2"}, recordtest.IDs(src.poll(t)))
	assert.Equal(t, []Layout{LayoutSingleObject, LayoutJSONLines}, loggedLayouts(logs, path))

	restarted := newTestSource(t, testSettings(path), client)
	restarted.logger = zap.New(core)
	appendFile(t, path, []byte(recordtest.JSONLines(recordtest.O365Record("3"))))
	assert.Equal(t, []string{"3"}, recordtest.IDs(restarted.poll(t)))
	assert.Equal(t, []Layout{LayoutSingleObject, LayoutJSONLines}, loggedLayouts(logs, path), "known from the checkpoint")
}

func TestLogRecordCarriesBodyTimeEventAndAttributes(t *testing.T) {
	path := recordtest.WriteFile(t, filepath.Join(t.TempDir(), "o365.json"), []byte(recordtest.O365Record("id-1")+"\n"))
	before := time.Now()
	records := newTestSource(t, testSettings(path), nil).poll(t)
	require.Len(t, records, 1)
	lr := records[0]

	assert.Equal(t, time.Date(2024, 2, 1, 16, 7, 34, 0, time.UTC), lr.Timestamp().AsTime())
	assert.False(t, lr.ObservedTimestamp().AsTime().Before(before.Truncate(time.Microsecond)))
	assert.Equal(t, "UserLoggedIn", lr.EventName())

	require.Equal(t, pcommon.ValueTypeMap, lr.Body().Type())
	var keys []string
	lr.Body().Map().Range(func(k string, _ pcommon.Value) bool {
		keys = append(keys, k)
		return true
	})
	assert.Equal(t, []string{"CreationTime", "Id", "Operation", "OrganizationId", "RecordType", "ResultStatus", "UserId", "Workload", "ClientIP"}, keys, "vendor key order kept")
	recordType, _ := lr.Body().Map().Get("RecordType")
	assert.Equal(t, int64(15), recordType.Int())

	assert.Equal(t, map[string]any{
		auditrecord.AttrRecordID:      "id-1",
		auditrecord.AttrSource:        "o365",
		auditrecord.AttrOperation:     "UserLoggedIn",
		auditrecord.AttrResult:        "success",
		auditrecord.AttrActor:         "alice@contoso.com",
		auditrecord.AttrTarget:        "alice@contoso.com",
		auditrecord.AttrUserName:      "alice@contoso.com",
		auditrecord.AttrClientAddress: "203.0.113.7",
		auditrecord.AttrCloudProvider: "azure",
		auditrecord.AttrCloudAccount:  "t-1",
		AttrFileName:                  "o365.json",
		AttrFilePath:                  path,
	}, lr.Attributes().AsRaw())
}

func TestRecordsOfOneFileShareResourceAndScope(t *testing.T) {
	dir := t.TempDir()
	recordtest.WriteFile(t, filepath.Join(dir, "a.json"), []byte(recordtest.JSONLines(recordtest.O365Record("a1"), recordtest.O365Record("a2"), recordtest.O365Record("a3"))))
	recordtest.WriteFile(t, filepath.Join(dir, "b.json"), []byte(recordtest.JSONLines(recordtest.O365Record("b1"))))
	set := testSettings(filepath.Join(dir, "*.json"))
	set.BatchSize = 2
	src := newTestSource(t, set, nil)
	src.poll(t)

	// Batches of 2: [a1 a2] [a3 b1], one ResourceLogs per file in each.
	require.Len(t, src.logs, 2)
	var shape [][]string
	for _, logs := range src.logs {
		for i := 0; i < logs.ResourceLogs().Len(); i++ {
			sl := logs.ResourceLogs().At(i).ScopeLogs()
			require.Equal(t, 1, sl.Len())
			assert.Equal(t, testScopeName, sl.At(0).Scope().Name())
			var ids []string
			for j := 0; j < sl.At(0).LogRecords().Len(); j++ {
				ids = append(ids, recordtest.Attr(sl.At(0).LogRecords().At(j), auditrecord.AttrRecordID))
			}
			shape = append(shape, ids)
		}
	}
	assert.Equal(t, [][]string{{"a1", "a2"}, {"a3"}, {"b1"}}, shape)
}

// TestBatchIsBuiltAgainAsRead: a batch the pipeline changed in place is
// built again as it was read (for the halves of a permanent refusal): one
// ResourceLogs per file, parse errors at their offsets, the times records
// were observed; its records are not counted again.
func TestBatchIsBuiltAgainAsRead(t *testing.T) {
	dir := t.TempDir()
	recordtest.WriteFile(t, filepath.Join(dir, "a.json"), []byte(recordtest.JSONLines(recordtest.O365Record("a1"), recordtest.O365Record("a2"), `{"Id": x}`)))
	recordtest.WriteFile(t, filepath.Join(dir, "b.json.gz"), gzipped(t, []byte(recordtest.JSONLines(recordtest.O365Record("b1"), "caf\xe9"))))
	set := testSettings(filepath.Join(dir, "*"))
	set.BatchSize = 4
	src := newTestSource(t, set, nil)
	var shapes [][]int
	src.Source.poll(context.Background(), func(_ context.Context, logs plog.Logs, asRead func() plog.Logs) error {
		read := plog.NewLogs()
		logs.CopyTo(read)
		for _, lr := range recordtest.Records(logs) {
			lr.Attributes().Clear()
			lr.SetObservedTimestamp(0)
		}
		logs.ResourceLogs().At(0).Resource().Attributes().PutStr("user.name", "moved here")
		assert.Equal(t, read, asRead())
		var shape []int
		for i := 0; i < read.ResourceLogs().Len(); i++ {
			shape = append(shape, read.ResourceLogs().At(i).ScopeLogs().At(0).LogRecords().Len())
		}
		shapes = append(shapes, shape)
		return nil
	})
	assert.Equal(t, [][]int{{3, 1}, {1}}, shapes, "batches of 4, one ResourceLogs per file in each")
	assert.Equal(t, logrecord.Counts{Read: 5, ParseErrors: 2}, src.metrics.(*countingMetrics).built, "each record read counted once")
}

func TestBadInputIsPassedOnWithParseErrors(t *testing.T) {
	dir := t.TempDir()
	deep := `{"a":` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + "}"
	huge := `{"Id":"big","blob":"` + strings.Repeat("x", 100<<10) + `"}`
	corrupt := gzipped(t, []byte(recordtest.JSONLines(recordtest.O365Record("gz-1"), recordtest.O365Record("gz-2"))))
	corrupt[len(corrupt)-6] ^= 0xff // the CRC-32 trailer
	files := map[string]string{
		"good.json":          recordtest.JSONLines(recordtest.O365Record("ok")),
		"wrong-types.json":   `{"CreationTime":"2024-02-01T16:07:34","Id":"x","Operation":5,"Workload":"Exchange"}`,
		"no-time.json":       `{"Id":"x","Operation":"Send","Workload":"Exchange"}`,
		"foreign.json":       `{"hello":"world"}`,
		"deep.json":          deep,
		"huge.json":          huge,
		"bad-json.json":      "{\"Id\": \"x\", oops}\n",
		"nul.log":            "\x00\x00\x00\n",
		"latin1.log":         "caf\xe9 \xff\n",
		"invalid-utf8.json":  strings.Replace(recordtest.O365Record("utf8"), "UserLoggedIn", "User\xffLoggedIn", 1),
		"corrupt.json.gz":    string(corrupt),
		"truncated.json.gz":  string(gzipped(t, []byte(recordtest.JSONLines(recordtest.O365Record("t-1"), recordtest.O365Record("t-2"))))[:40]),
		"array-scalars.json": `[1, "x", ` + recordtest.O365Record("in-array") + `]`,
	}
	for name, content := range files {
		recordtest.WriteFile(t, filepath.Join(dir, name), []byte(content))
	}
	set := testSettings(filepath.Join(dir, "*"))
	set.MaxRecordBytes = 64 << 10
	src := newTestSource(t, set, nil)

	byFile := map[string][]string{}
	bodies := map[string]pcommon.Value{}
	// The second poll comes after the wait for incomplete ends.
	for range 2 {
		for _, lr := range src.poll(t) {
			name := recordtest.Attr(lr, AttrFileName)
			byFile[name] = append(byFile[name], recordtest.Attr(lr, auditrecord.AttrParseError))
			bodies[name] = lr.Body()
		}
		src.advance(set.IncompleteRecordTimeout)
	}
	// Each file's parse errors, in order; a message that continues with
	// the decoder's own words is given up to them.
	want := map[string][]string{
		"good.json":         {""},
		"wrong-types.json":  {"o365 record: Operation is a Int, want a string"},
		"no-time.json":      {"o365 record: CreationTime is missing"},
		"foreign.json":      {auditrecord.ErrUnrecognized.Error()},
		"deep.json":         {"invalid JSON at offset 68: nesting depth exceeds the limit of 64"},
		"huge.json":         {"record of 102422 bytes at offset 0 exceeds max_record_bytes (65536); the body holds its first 65536 bytes"},
		"bad-json.json":     {"invalid JSON at offset 12: invalid character 'o'"},
		"nul.log":           {"invalid JSON at offset 0: invalid character '\\x00'"},
		"latin1.log":        {"invalid JSON at offset 0: invalid character 'c'"},
		"invalid-utf8.json": {""},
		// The records before the damage pass; the damage is reported.
		"corrupt.json.gz":   {"", "", "corrupt gzip stream: gzip: invalid checksum (after 460 decompressed bytes); nothing after it can be read"},
		"truncated.json.gz": {"gzip stream ends early (after 0 decompressed bytes) and the file has not changed for 1m0s: it was cut short"},
		// Offsets are of the file, not of the record.
		"array-scalars.json": {"invalid JSON at offset 1: top-level value is", "invalid JSON at offset 4: top-level value is", ""},
	}
	require.Len(t, byFile, len(want))
	for name, prefixes := range want {
		require.Len(t, byFile[name], len(prefixes), name)
		for i, prefix := range prefixes {
			assert.True(t, strings.HasPrefix(byFile[name][i], prefix) && (prefix != "" || byFile[name][i] == ""),
				"%s record %d: got %q, want it to start with %q", name, i, byFile[name][i], prefix)
		}
	}

	assert.Equal(t, "\x00\x00\x00\n", bodies["nul.log"].Str(), "valid UTF-8 stays text")
	assert.Equal(t, []byte("caf\xe9 \xff\n"), bodies["latin1.log"].Bytes().AsRaw(), "invalid UTF-8 is kept as bytes")
	assert.Equal(t, huge[:64<<10], bodies["huge.json"].Str())
	assert.Equal(t, `{"hello":"world"}`, bodies["foreign.json"].Str())
}

func TestFileThatCannotBeOpenedIsRetried(t *testing.T) {
	dir := t.TempDir()
	recordtest.WriteFile(t, filepath.Join(dir, "good.json"), []byte(recordtest.JSONLines(recordtest.O365Record("good"))))
	// A symlink to itself cannot be opened, whoever runs the test.
	loop := filepath.Join(dir, "loop.json")
	require.NoError(t, os.Symlink(loop, loop))

	core, logs := observer.New(zapcore.WarnLevel)
	src := newTestSource(t, testSettings(filepath.Join(dir, "*.json")), nil)
	src.logger = zap.New(core)

	assert.Equal(t, []string{"good"}, recordtest.IDs(src.poll(t)))
	assert.Empty(t, src.poll(t))
	assert.Equal(t, 1, logs.FilterMessage("cannot read audit file; trying again on later polls").Len(), "logged once, not per poll")

	require.NoError(t, os.Remove(loop))
	recordtest.WriteFile(t, loop, []byte(recordtest.JSONLines(recordtest.O365Record("late"))))
	assert.Equal(t, []string{"late"}, recordtest.IDs(src.poll(t)))
}

// TestPermissionDeniedIsRetried makes a file unreadable, first before it
// was ever read, then after it was read in part: the read error is logged
// and counted once, nothing is read meanwhile, and once it is readable again
// it is read on from where it was, not from its start. The file loses its
// read permission for real, and the source's open refuses it as the kernel
// refuses a user without the permission, so that the test runs as root too
// (root reads files whatever their mode).
func TestPermissionDeniedIsRetried(t *testing.T) {
	dir := t.TempDir()
	path := recordtest.WriteFile(t, filepath.Join(dir, "locked.json"), []byte(recordtest.JSONLines(recordtest.O365Record("locked"))))
	recordtest.WriteFile(t, filepath.Join(dir, "open.json"), []byte(recordtest.JSONLines(recordtest.O365Record("open"))))
	require.NoError(t, os.Chmod(path, 0))
	core, logs := observer.New(zapcore.WarnLevel)
	src := newTestSource(t, testSettings(filepath.Join(dir, "*.json")), nil)
	src.logger = zap.New(core)
	src.open = openAsUnprivileged
	metrics := src.metrics.(*countingMetrics)

	assert.Equal(t, []string{"open"}, recordtest.IDs(src.poll(t)), "the other file is read")
	assert.Empty(t, src.poll(t))
	assert.Equal(t, 1, logs.FilterMessage("cannot read audit file; trying again on later polls").Len(), "logged once, not per poll")
	assert.Equal(t, 1, metrics.readErrors)
	var logged error
	for _, field := range logs.All()[0].Context {
		if field.Key == "error" {
			logged, _ = field.Interface.(error)
		}
	}
	assert.ErrorIs(t, logged, fs.ErrPermission)

	require.NoError(t, os.Chmod(path, 0o600))
	assert.Equal(t, []string{"locked"}, recordtest.IDs(src.poll(t)))

	// Unreadable again after a read: its checkpoint is kept.
	require.NoError(t, os.Chmod(path, 0))
	appendFile(t, path, []byte(recordtest.JSONLines(recordtest.O365Record("later"))))
	assert.Empty(t, src.poll(t))
	require.NoError(t, os.Chmod(path, 0o600))
	assert.Equal(t, []string{"later"}, recordtest.IDs(src.poll(t)), "read on where it was")
	assert.Equal(t, 2, metrics.readErrors)
}

// openAsUnprivileged opens name as any user but root would: refused when
// the file's mode lets nobody read it.
func openAsUnprivileged(name string) (*os.File, error) {
	info, err := os.Stat(name)
	if err == nil && info.Mode().Perm()&0o444 == 0 {
		return nil, &fs.PathError{Op: "open", Path: name, Err: syscall.EACCES}
	}
	return os.Open(name)
}

func TestNewAndGrowingFiles(t *testing.T) {
	dir := t.TempDir()
	first := recordtest.WriteFile(t, filepath.Join(dir, "1.json"), []byte(recordtest.JSONLines(recordtest.O365Record("1a"), recordtest.O365Record("1b"))))
	src := newTestSource(t, testSettings(filepath.Join(dir, "*.json")), nil)
	assert.Equal(t, []string{"1a", "1b"}, recordtest.IDs(src.poll(t)))
	assert.Empty(t, src.poll(t))

	appendFile(t, first, []byte(recordtest.JSONLines(recordtest.O365Record("1c"))))
	recordtest.WriteFile(t, filepath.Join(dir, "2.json"), []byte(recordtest.JSONLines(recordtest.O365Record("2a"))))
	assert.Equal(t, []string{"1c", "2a"}, recordtest.IDs(src.poll(t)))

	// A line being written is left until it is complete.
	line := recordtest.O365Record("1d")
	appendFile(t, first, []byte(line[:50]))
	assert.Empty(t, src.poll(t))
	appendFile(t, first, []byte(line[50:]+"\n"))
	assert.Equal(t, []string{"1d"}, recordtest.IDs(src.poll(t)))
}

func TestGrowingArrayAndGzipResumeInside(t *testing.T) {
	dir := t.TempDir()
	array := recordtest.WriteFile(t, filepath.Join(dir, "array.json"), []byte("[\n"+recordtest.O365Record("a1")+",\n"))
	member1 := gzipped(t, []byte(recordtest.JSONLines(recordtest.O365Record("g1"))))
	compressed := recordtest.WriteFile(t, filepath.Join(dir, "log.gz"), member1)
	src := newTestSource(t, testSettings(filepath.Join(dir, "*")), nil)
	assert.Equal(t, []string{"a1", "g1"}, recordtest.IDs(src.poll(t)))

	appendFile(t, array, []byte(recordtest.O365Record("a2")+"\n]\n"))
	// A second gzip member appended, as gzip -c >> does.
	appendFile(t, compressed, gzipped(t, []byte(recordtest.JSONLines(recordtest.O365Record("g2")))))
	assert.Equal(t, []string{"a2", "g2"}, recordtest.IDs(src.poll(t)))
}

func TestFileEndingInsideRecordIsPassedOnOnceUnchangedForTheTimeout(t *testing.T) {
	whole := recordtest.O365Record("whole") + "\n"
	cut := recordtest.O365Record("cut")
	path := recordtest.WriteFile(t, filepath.Join(t.TempDir(), "cut.json"), []byte(whole+cut[:30]))
	set := testSettings(path)
	set.IncompleteRecordTimeout = 10 * time.Second
	src := newTestSource(t, set, nil)
	assert.Equal(t, []string{"whole"}, recordtest.IDs(src.poll(t)))

	// However many polls, the writer has the timeout from its last change
	// to complete the record.
	src.advance(9 * time.Second)
	assert.Empty(t, src.poll(t), "the writer may still complete the record")
	appendFile(t, path, []byte(cut[30:40]))
	src.advance(9 * time.Second)
	assert.Empty(t, src.poll(t), "the file changed: its wait starts again")
	src.advance(9 * time.Second)
	assert.Empty(t, src.poll(t), "the writer may still complete the record")
	src.advance(time.Second)
	tail := src.poll(t)
	require.Len(t, tail, 1)
	assert.Equal(t, []string{"file ends inside a record at offset " + strconv.Itoa(len(whole)) + " and has not changed for 10s"}, recordtest.ParseErrors(tail))
	assert.Equal(t, cut[:40], bodyText(tail[0]))
	src.advance(time.Hour)
	assert.Empty(t, src.poll(t), "the tail is passed on once")

	// The writer finishes the record after all: its second half is a
	// record of its own, and the error says where it is in the file.
	appendFile(t, path, []byte(cut[40:]+"\n"+recordtest.JSONLines(recordtest.O365Record("after"))))
	rest := src.poll(t)
	require.Equal(t, []string{"", "after"}, recordtest.IDs(rest))
	fragmentAt := len(whole) + 40
	assert.Equal(t, []string{fmt.Sprintf("invalid JSON at offset %d: invalid character %q looking for beginning of object", fragmentAt, cut[40])}, recordtest.ParseErrors(rest))
}

func TestRenamedFileIsNotReadAgainAndReplacedFileIs(t *testing.T) {
	dir := t.TempDir()
	path := recordtest.WriteFile(t, filepath.Join(dir, "audit.log"), []byte(recordtest.JSONLines(recordtest.O365Record("r1"))))
	src := newTestSource(t, testSettings(filepath.Join(dir, "audit.log*")), nil)
	assert.Equal(t, []string{"r1"}, recordtest.IDs(src.poll(t)))

	// Rotation: the file moves aside and grows one last time, a new one
	// takes its name.
	require.NoError(t, os.Rename(path, path+".1"))
	appendFile(t, path+".1", []byte(recordtest.JSONLines(recordtest.O365Record("r2"))))
	recordtest.WriteFile(t, path, []byte(recordtest.JSONLines(recordtest.O365Record("n1"))))
	assert.ElementsMatch(t, []string{"n1", "r2"}, recordtest.IDs(src.poll(t)))

	// Replaced in place by other content: read from its start.
	require.NoError(t, os.Remove(path))
	recordtest.WriteFile(t, path, []byte(recordtest.JSONLines(recordtest.O365Record("x1"))))
	assert.Equal(t, []string{"x1"}, recordtest.IDs(src.poll(t)))
	assert.Empty(t, src.poll(t))
}

func TestFilesThatStartAlikeAreReadSeparately(t *testing.T) {
	dir := t.TempDir()
	recordtest.WriteFile(t, filepath.Join(dir, "a.json"), []byte(recordtest.JSONLines(recordtest.O365Record("same"))))
	recordtest.WriteFile(t, filepath.Join(dir, "b.json"), []byte(recordtest.JSONLines(recordtest.O365Record("same"), recordtest.O365Record("more"))))
	src := newTestSource(t, testSettings(filepath.Join(dir, "*.json")), nil)
	assert.Equal(t, []string{"same", "same", "more"}, recordtest.IDs(src.poll(t)))
	assert.Empty(t, src.poll(t))
}

func TestCheckpointsAreSavedAfterEachBatch(t *testing.T) {
	dir := t.TempDir()
	recordtest.WriteFile(t, filepath.Join(dir, "a.json"), []byte(recordtest.JSONLines(recordtest.O365Record("1"), recordtest.O365Record("2"), recordtest.O365Record("3"))))
	set := testSettings(filepath.Join(dir, "*.json"))
	set.BatchSize = 2
	client := storagetest.NewInMemoryClient(component.KindReceiver, component.MustNewID("audit_log"), "")

	// The second batch is refused at shutdown: only the first counts.
	src := newTestSource(t, set, client)
	batches := 0
	ctx, cancel := context.WithCancel(context.Background())
	src.Source.poll(ctx, func(ctx context.Context, _ plog.Logs, _ func() plog.Logs) error {
		batches++
		if batches == 2 {
			cancel()
			return ctx.Err()
		}
		return nil
	})

	restarted := newTestSource(t, set, client)
	assert.Equal(t, []string{"3"}, recordtest.IDs(restarted.poll(t)))
}

func TestExcludeAndDirectories(t *testing.T) {
	dir := t.TempDir()
	recordtest.WriteFile(t, filepath.Join(dir, "keep.json"), []byte(recordtest.JSONLines(recordtest.O365Record("keep"))))
	recordtest.WriteFile(t, filepath.Join(dir, "skip.json"), []byte(recordtest.JSONLines(recordtest.O365Record("skip"))))
	require.NoError(t, os.Mkdir(filepath.Join(dir, "sub.json"), 0o755))
	recordtest.WriteFile(t, filepath.Join(dir, "empty.json"), nil)
	set := testSettings(filepath.Join(dir, "*.json"), filepath.Join(dir, "k*"))
	set.Exclude = []string{filepath.Join(dir, "skip.*")}
	assert.Equal(t, []string{"keep"}, recordtest.IDs(newTestSource(t, set, nil).poll(t)))
}

func TestLargeRecordsBoundBatchBytes(t *testing.T) {
	padding := strings.Repeat("x", 30<<10)
	var lines bytes.Buffer
	for i := range 5 {
		lines.WriteString(strings.Replace(recordtest.O365Record(strconv.Itoa(i)), `"Workload"`, `"Pad":"`+padding+`","Workload"`, 1) + "\n")
	}
	path := recordtest.WriteFile(t, filepath.Join(t.TempDir(), "big.json"), lines.Bytes())
	set := testSettings(path)
	set.MaxBatchBytes = 64 << 10
	src := newTestSource(t, set, nil)
	assert.Len(t, src.poll(t), 5)
	// 30 KiB records, cut once 64 KiB is reached: 3 records (90 KiB, less
	// than 64 KiB plus one record), then 2.
	require.Len(t, src.logs, 2)
	assert.Equal(t, 3, src.logs[0].LogRecordCount())
}

func TestResumesFarIntoLargeFiles(t *testing.T) {
	dir := t.TempDir()
	var records []string
	for i := range 400 { // about 90 KiB: resuming seeks past the first read window
		records = append(records, recordtest.O365Record(strconv.Itoa(i)))
	}
	plain := recordtest.WriteFile(t, filepath.Join(dir, "big.json"), []byte(recordtest.JSONLines(records...)))
	compressed := recordtest.WriteFile(t, filepath.Join(dir, "big.json.gz"), gzipped(t, []byte(recordtest.JSONLines(records...))))
	src := newTestSource(t, testSettings(filepath.Join(dir, "*")), nil)
	require.Len(t, src.poll(t), 800)

	appendFile(t, plain, []byte(recordtest.JSONLines(recordtest.O365Record("plain-new"))))
	appendFile(t, compressed, gzipped(t, []byte(recordtest.JSONLines(recordtest.O365Record("gzip-new")))))
	assert.Equal(t, []string{"plain-new", "gzip-new"}, recordtest.IDs(src.poll(t)))
}

func TestFileRewrittenShorterIsReadFromStart(t *testing.T) {
	var records []string
	for i := range 10 {
		records = append(records, recordtest.O365Record(strconv.Itoa(i)))
	}
	path := recordtest.WriteFile(t, filepath.Join(t.TempDir(), "a.json"), []byte(recordtest.JSONLines(records...)))
	src := newTestSource(t, testSettings(path), nil)
	require.Len(t, src.poll(t), 10)

	// Same first kilobyte, so the same file to the fingerprint, but shorter
	// than where reading stopped: it was rewritten, read it again.
	recordtest.WriteFile(t, path, []byte(recordtest.JSONLines(append(records[:6:6], recordtest.O365Record("new"))...)))
	assert.Equal(t, []string{"0", "1", "2", "3", "4", "5", "new"}, recordtest.IDs(src.poll(t)))
}

// builtSignal tells when a batch has been built.
type builtSignal struct {
	countingMetrics
	built chan struct{}
}

func (m *builtSignal) RecordsBuilt(ctx context.Context, c logrecord.Counts) {
	m.countingMetrics.RecordsBuilt(ctx, c)
	m.built <- struct{}{}
}

func TestNextBatchIsReadWhileOneIsDeliveredAndCheckpointsFollowAcceptance(t *testing.T) {
	dir := t.TempDir()
	recordtest.WriteFile(t, filepath.Join(dir, "a.json"), []byte(recordtest.JSONLines(
		recordtest.O365Record("1"), recordtest.O365Record("2"), recordtest.O365Record("3"),
		recordtest.O365Record("4"), recordtest.O365Record("5"))))
	set := testSettings(filepath.Join(dir, "*.json"))
	set.BatchSize = 2
	client := storagetest.NewInMemoryClient(component.KindReceiver, component.MustNewID("audit_log"), "")
	checkpoints, err := LoadCheckpoints(context.Background(), client)
	require.NoError(t, err)
	metrics := &builtSignal{built: make(chan struct{}, 3)}
	src := New(set, zapTestLogger(t), metrics, checkpoints)

	var inFlight, most atomic.Int32
	var delivered [][]string
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	src.poll(ctx, func(ctx context.Context, logs plog.Logs, _ func() plog.Logs) error {
		most.Store(max(most.Load(), inFlight.Add(1)))
		defer inFlight.Add(-1)
		delivered = append(delivered, recordtest.IDs(recordtest.Records(logs)))
		switch len(delivered) {
		case 1:
			<-metrics.built // the first batch's own
			// The second batch is read and built while the first is
			// still being delivered...
			select {
			case <-metrics.built:
			case <-time.After(10 * time.Second):
				t.Error("the second batch was not built while the first was delivered")
			}
			// ... and nothing was saved yet: a crash now reads the
			// first batch again.
			// (assert, not require: this runs in the delivery goroutine,
			// which must return for the poll to end.)
			saved, err := LoadCheckpoints(context.Background(), client)
			assert.NoError(t, err)
			for _, cp := range saved.files {
				assert.Zero(t, cp.Position.Offset, "saved before the first batch was accepted")
			}
		case 2:
			// Refused at shutdown, the last batch built meanwhile: the
			// checkpoint stays after the first.
			<-metrics.built
			cancel()
			return ctx.Err()
		}
		return nil
	})
	assert.Equal(t, [][]string{{"1", "2"}, {"3", "4"}}, delivered, "in order, and nothing after a refusal")
	assert.Equal(t, int32(1), most.Load(), "one batch delivered at a time")

	restarted := newTestSource(t, set, client)
	assert.Equal(t, []string{"3", "4", "5"}, recordtest.IDs(restarted.poll(t)))
}
