package auditlogreceiver

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
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
	"github.com/otelsec/emailcompromise/receiver/auditlogreceiver/internal/metadata"
)

func TestReadsEveryFormatPlainAndGzipped(t *testing.T) {
	synthetic, err := os.ReadFile(filepath.Join("testdata", "synthetic", "search-unifiedauditlog_creationdate-header.csv"))
	require.NoError(t, err)
	tests := []struct {
		name    string
		content string
		ids     []string
	}{
		{"json lines", jsonLines(o365Record("a"), graphSignIn("b"), googleActivity("c")), []string{"a", "b", "c"}},
		{"concatenated objects", o365Record("a") + o365Record("b") + " " + googleActivity("c"), []string{"a", "b", "c"}},
		{"array", "[\n  " + o365Record("a") + ",\n  " + o365Record("b") + "\n]\n", []string{"a", "b"}},
		{"graph page", `{"@odata.context":"https://graph.microsoft.com/v1.0/$metadata#auditLogs/signIns","value":[` + graphSignIn("a") + "," + graphSignIn("b") + `],"@odata.nextLink":"https://graph.microsoft.com/v1.0/auditLogs/signIns?$skiptoken=x"}`, []string{"a", "b"}},
		{"azure monitor export", `{"records":[` + azureMonitorSignIn("a") + "," + azureMonitorSignIn("b") + `]}`, []string{"a", "b"}},
		{"reports api page", `{"kind":"admin#reports#activities","etag":"\"x\"","items":[` + googleActivity("a") + "," + googleActivity("b") + `],"nextPageToken":"n"}`, []string{"a", "b"}},
		{"pretty single record", strings.ReplaceAll(o365Record("a"), ",", ",\n    "), []string{"a"}},
		{"purview csv", purviewCSV(o365Record("a"), o365Record("b")), []string{"a", "b"}},
		{"older csv header, multi-line cell", string(synthetic), []string{"a6a52406-0912-448d-36eb-08d8a1bea6be", "2e7b94ee-92f7-480f-8b14-89d4bc0c0e43", "52d72a62-132b-487b-bb7f-c4c119f90700"}},
	}
	for _, tt := range tests {
		for _, compressed := range []bool{false, true} {
			t.Run(tt.name+map[bool]string{false: "", true: "/gzip"}[compressed], func(t *testing.T) {
				content := []byte(tt.content)
				if compressed {
					content = gzipped(t, content)
				}
				// The name says nothing of the format: it is detected.
				path := writeFile(t, filepath.Join(t.TempDir(), "export.dat"), content)
				records := newTestSource(t, testConfig(path), nil).poll(t)
				assert.Equal(t, tt.ids, recordIDs(records))
				assert.Empty(t, parseErrors(records))
			})
		}
	}
}

func TestLogRecordCarriesBodyTimeEventAndAttributes(t *testing.T) {
	path := writeFile(t, filepath.Join(t.TempDir(), "o365.json"), []byte(o365Record("id-1")+"\n"))
	before := time.Now()
	records := newTestSource(t, testConfig(path), nil).poll(t)
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
		attrFileName:                  "o365.json",
		attrFilePath:                  path,
	}, lr.Attributes().AsRaw())
}

func TestRecordsOfOneFileShareResourceAndScope(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "a.json"), []byte(jsonLines(o365Record("a1"), o365Record("a2"), o365Record("a3"))))
	writeFile(t, filepath.Join(dir, "b.json"), []byte(jsonLines(o365Record("b1"))))
	cfg := testConfig(filepath.Join(dir, "*.json"))
	cfg.Files.BatchSize = 2
	src := newTestSource(t, cfg, nil)
	src.poll(t)

	// Batches of 2: [a1 a2] [a3 b1], one ResourceLogs per file in each.
	require.Len(t, src.logs, 2)
	var shape [][]string
	for _, logs := range src.logs {
		for i := 0; i < logs.ResourceLogs().Len(); i++ {
			sl := logs.ResourceLogs().At(i).ScopeLogs()
			require.Equal(t, 1, sl.Len())
			assert.Equal(t, metadata.ScopeName, sl.At(0).Scope().Name())
			var ids []string
			for j := 0; j < sl.At(0).LogRecords().Len(); j++ {
				ids = append(ids, attr(sl.At(0).LogRecords().At(j), auditrecord.AttrRecordID))
			}
			shape = append(shape, ids)
		}
	}
	assert.Equal(t, [][]string{{"a1", "a2"}, {"a3"}, {"b1"}}, shape)
}

func TestBadInputIsPassedOnWithParseErrors(t *testing.T) {
	dir := t.TempDir()
	deep := `{"a":` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + "}"
	huge := `{"Id":"big","blob":"` + strings.Repeat("x", 100<<10) + `"}`
	corrupt := gzipped(t, []byte(jsonLines(o365Record("gz-1"), o365Record("gz-2"))))
	corrupt[len(corrupt)-6] ^= 0xff // the CRC-32 trailer
	files := map[string]string{
		"good.json":          jsonLines(o365Record("ok")),
		"wrong-types.json":   `{"CreationTime":"2024-02-01T16:07:34","Id":"x","Operation":5,"Workload":"Exchange"}`,
		"no-time.json":       `{"Id":"x","Operation":"Send","Workload":"Exchange"}`,
		"foreign.json":       `{"hello":"world"}`,
		"deep.json":          deep,
		"huge.json":          huge,
		"bad-json.json":      "{\"Id\": \"x\", oops}\n",
		"nul.log":            "\x00\x00\x00\n",
		"latin1.log":         "caf\xe9 \xff\n",
		"invalid-utf8.json":  strings.Replace(o365Record("utf8"), "UserLoggedIn", "User\xffLoggedIn", 1),
		"corrupt.json.gz":    string(corrupt),
		"truncated.json.gz":  string(gzipped(t, []byte(jsonLines(o365Record("t-1"), o365Record("t-2"))))[:40]),
		"array-scalars.json": `[1, "x", ` + o365Record("in-array") + `]`,
	}
	for name, content := range files {
		writeFile(t, filepath.Join(dir, name), []byte(content))
	}
	cfg := testConfig(filepath.Join(dir, "*"))
	cfg.Files.MaxRecordBytes = 64 << 10
	src := newTestSource(t, cfg, nil)

	byFile := map[string][]string{}
	bodies := map[string]pcommon.Value{}
	// The second poll comes after the wait for incomplete ends.
	for range 2 {
		for _, lr := range src.poll(t) {
			name := attr(lr, attrFileName)
			byFile[name] = append(byFile[name], attr(lr, auditrecord.AttrParseError))
			bodies[name] = lr.Body()
		}
		src.advance(cfg.Files.IncompleteRecordTimeout)
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
	writeFile(t, filepath.Join(dir, "good.json"), []byte(jsonLines(o365Record("good"))))
	// A symlink to itself cannot be opened, whoever runs the test.
	loop := filepath.Join(dir, "loop.json")
	require.NoError(t, os.Symlink(loop, loop))

	core, logs := observer.New(zapcore.WarnLevel)
	src := newTestSource(t, testConfig(filepath.Join(dir, "*.json")), nil)
	src.logger = zap.New(core)

	assert.Equal(t, []string{"good"}, recordIDs(src.poll(t)))
	assert.Empty(t, src.poll(t))
	assert.Equal(t, 1, logs.FilterMessage("cannot read audit file; trying again on later polls").Len(), "logged once, not per poll")

	require.NoError(t, os.Remove(loop))
	writeFile(t, loop, []byte(jsonLines(o365Record("late"))))
	assert.Equal(t, []string{"late"}, recordIDs(src.poll(t)))
}

func TestPermissionDeniedIsRetried(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root reads files whatever their permissions")
	}
	path := writeFile(t, filepath.Join(t.TempDir(), "locked.json"), []byte(jsonLines(o365Record("locked"))))
	require.NoError(t, os.Chmod(path, 0))
	src := newTestSource(t, testConfig(path), nil)
	assert.Empty(t, src.poll(t))
	require.NoError(t, os.Chmod(path, 0o600))
	assert.Equal(t, []string{"locked"}, recordIDs(src.poll(t)))
}

func TestNewAndGrowingFiles(t *testing.T) {
	dir := t.TempDir()
	first := writeFile(t, filepath.Join(dir, "1.json"), []byte(jsonLines(o365Record("1a"), o365Record("1b"))))
	src := newTestSource(t, testConfig(filepath.Join(dir, "*.json")), nil)
	assert.Equal(t, []string{"1a", "1b"}, recordIDs(src.poll(t)))
	assert.Empty(t, src.poll(t))

	appendFile(t, first, []byte(jsonLines(o365Record("1c"))))
	writeFile(t, filepath.Join(dir, "2.json"), []byte(jsonLines(o365Record("2a"))))
	assert.Equal(t, []string{"1c", "2a"}, recordIDs(src.poll(t)))

	// A line being written is left until it is complete.
	line := o365Record("1d")
	appendFile(t, first, []byte(line[:50]))
	assert.Empty(t, src.poll(t))
	appendFile(t, first, []byte(line[50:]+"\n"))
	assert.Equal(t, []string{"1d"}, recordIDs(src.poll(t)))
}

func TestGrowingArrayAndGzipResumeInside(t *testing.T) {
	dir := t.TempDir()
	array := writeFile(t, filepath.Join(dir, "array.json"), []byte("[\n"+o365Record("a1")+",\n"))
	member1 := gzipped(t, []byte(jsonLines(o365Record("g1"))))
	compressed := writeFile(t, filepath.Join(dir, "log.gz"), member1)
	src := newTestSource(t, testConfig(filepath.Join(dir, "*")), nil)
	assert.Equal(t, []string{"a1", "g1"}, recordIDs(src.poll(t)))

	appendFile(t, array, []byte(o365Record("a2")+"\n]\n"))
	// A second gzip member appended, as gzip -c >> does.
	appendFile(t, compressed, gzipped(t, []byte(jsonLines(o365Record("g2")))))
	assert.Equal(t, []string{"a2", "g2"}, recordIDs(src.poll(t)))
}

func TestFileEndingInsideRecordIsPassedOnOnceUnchangedForTheTimeout(t *testing.T) {
	whole := o365Record("whole") + "\n"
	cut := o365Record("cut")
	path := writeFile(t, filepath.Join(t.TempDir(), "cut.json"), []byte(whole+cut[:30]))
	cfg := testConfig(path)
	cfg.Files.IncompleteRecordTimeout = 10 * time.Second
	src := newTestSource(t, cfg, nil)
	assert.Equal(t, []string{"whole"}, recordIDs(src.poll(t)))

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
	assert.Equal(t, []string{"file ends inside a record at offset " + strconv.Itoa(len(whole)) + " and has not changed for 10s"}, parseErrors(tail))
	assert.Equal(t, cut[:40], bodyText(tail[0]))
	src.advance(time.Hour)
	assert.Empty(t, src.poll(t), "the tail is passed on once")

	// The writer finishes the record after all: its second half is a
	// record of its own, and the error says where it is in the file.
	appendFile(t, path, []byte(cut[40:]+"\n"+jsonLines(o365Record("after"))))
	rest := src.poll(t)
	require.Equal(t, []string{"", "after"}, recordIDs(rest))
	fragmentAt := len(whole) + 40
	assert.Equal(t, []string{fmt.Sprintf("invalid JSON at offset %d: invalid character %q looking for beginning of object", fragmentAt, cut[40])}, parseErrors(rest))
}

func TestRenamedFileIsNotReadAgainAndReplacedFileIs(t *testing.T) {
	dir := t.TempDir()
	path := writeFile(t, filepath.Join(dir, "audit.log"), []byte(jsonLines(o365Record("r1"))))
	src := newTestSource(t, testConfig(filepath.Join(dir, "audit.log*")), nil)
	assert.Equal(t, []string{"r1"}, recordIDs(src.poll(t)))

	// Rotation: the file moves aside and grows one last time, a new one
	// takes its name.
	require.NoError(t, os.Rename(path, path+".1"))
	appendFile(t, path+".1", []byte(jsonLines(o365Record("r2"))))
	writeFile(t, path, []byte(jsonLines(o365Record("n1"))))
	assert.ElementsMatch(t, []string{"n1", "r2"}, recordIDs(src.poll(t)))

	// Replaced in place by other content: read from its start.
	require.NoError(t, os.Remove(path))
	writeFile(t, path, []byte(jsonLines(o365Record("x1"))))
	assert.Equal(t, []string{"x1"}, recordIDs(src.poll(t)))
	assert.Empty(t, src.poll(t))
}

func TestFilesThatStartAlikeAreReadSeparately(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "a.json"), []byte(jsonLines(o365Record("same"))))
	writeFile(t, filepath.Join(dir, "b.json"), []byte(jsonLines(o365Record("same"), o365Record("more"))))
	src := newTestSource(t, testConfig(filepath.Join(dir, "*.json")), nil)
	assert.Equal(t, []string{"same", "same", "more"}, recordIDs(src.poll(t)))
	assert.Empty(t, src.poll(t))
}

func TestCheckpointsAreSavedAfterEachBatch(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "a.json"), []byte(jsonLines(o365Record("1"), o365Record("2"), o365Record("3"))))
	cfg := testConfig(filepath.Join(dir, "*.json"))
	cfg.Files.BatchSize = 2
	client := storagetest.NewInMemoryClient(component.KindReceiver, component.MustNewID("audit_log"), "")

	// The second batch is refused at shutdown: only the first counts.
	src := newTestSource(t, cfg, client)
	batches := 0
	ctx, cancel := context.WithCancel(context.Background())
	src.fileSource.poll(ctx, func(ctx context.Context, _ plog.Logs) error {
		batches++
		if batches == 2 {
			cancel()
			return ctx.Err()
		}
		return nil
	})

	restarted := newTestSource(t, cfg, client)
	assert.Equal(t, []string{"3"}, recordIDs(restarted.poll(t)))
}

func TestExcludeAndDirectories(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "keep.json"), []byte(jsonLines(o365Record("keep"))))
	writeFile(t, filepath.Join(dir, "skip.json"), []byte(jsonLines(o365Record("skip"))))
	require.NoError(t, os.Mkdir(filepath.Join(dir, "sub.json"), 0o755))
	writeFile(t, filepath.Join(dir, "empty.json"), nil)
	cfg := testConfig(filepath.Join(dir, "*.json"), filepath.Join(dir, "k*"))
	cfg.Files.Exclude = []string{filepath.Join(dir, "skip.*")}
	assert.Equal(t, []string{"keep"}, recordIDs(newTestSource(t, cfg, nil).poll(t)))
}

func TestLargeRecordsBoundBatchBytes(t *testing.T) {
	padding := strings.Repeat("x", 30<<10)
	var lines bytes.Buffer
	for i := range 5 {
		lines.WriteString(strings.Replace(o365Record(strconv.Itoa(i)), `"Workload"`, `"Pad":"`+padding+`","Workload"`, 1) + "\n")
	}
	path := writeFile(t, filepath.Join(t.TempDir(), "big.json"), lines.Bytes())
	cfg := testConfig(path)
	cfg.Files.MaxBatchBytes = 64 << 10
	src := newTestSource(t, cfg, nil)
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
		records = append(records, o365Record(strconv.Itoa(i)))
	}
	plain := writeFile(t, filepath.Join(dir, "big.json"), []byte(jsonLines(records...)))
	compressed := writeFile(t, filepath.Join(dir, "big.json.gz"), gzipped(t, []byte(jsonLines(records...))))
	src := newTestSource(t, testConfig(filepath.Join(dir, "*")), nil)
	require.Len(t, src.poll(t), 800)

	appendFile(t, plain, []byte(jsonLines(o365Record("plain-new"))))
	appendFile(t, compressed, gzipped(t, []byte(jsonLines(o365Record("gzip-new")))))
	assert.Equal(t, []string{"plain-new", "gzip-new"}, recordIDs(src.poll(t)))
}

func TestFileRewrittenShorterIsReadFromStart(t *testing.T) {
	var records []string
	for i := range 10 {
		records = append(records, o365Record(strconv.Itoa(i)))
	}
	path := writeFile(t, filepath.Join(t.TempDir(), "a.json"), []byte(jsonLines(records...)))
	src := newTestSource(t, testConfig(path), nil)
	require.Len(t, src.poll(t), 10)

	// Same first kilobyte, so the same file to the fingerprint, but shorter
	// than where reading stopped: it was rewritten, read it again.
	writeFile(t, path, []byte(jsonLines(append(records[:6:6], o365Record("new"))...)))
	assert.Equal(t, []string{"0", "1", "2", "3", "4", "5", "new"}, recordIDs(src.poll(t)))
}
