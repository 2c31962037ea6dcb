package filesource

import (
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// csvRows reads the rows of a CSV export after its header, the way
// openRecords starts the reader.
func csvRows(t *testing.T, input string, windowSize int) ([]scanned, error) {
	t.Helper()
	start, column, _ := detectFormat([]byte(input))
	require.GreaterOrEqual(t, column, 0, "detected as CSV")
	return scanAll(newCSVReader(newTestWindow([]byte(input), windowSize, resumePoint{Offset: start}), column, 1<<20))
}

func TestCSVReadsAuditDataColumn(t *testing.T) {
	tests := []struct {
		name  string
		input string
		want  []scanned
	}{
		{
			"Purview header with AuditData in the middle",
			"RecordId,CreationDate,RecordType,Operation,UserId,AuditData,AssociatedAdminUnits,AssociatedAdminUnitsNames\n" +
				`id1,9/20/2023 4:05:03 AM,8,Op,u@x,"{""Id"":""id1"",""a"":""x,y""}",,` + "\n" +
				`id2,9/20/2023 4:05:04 AM,8,Op,u@x,"{""Id"":""id2""}",,` + "\n",
			[]scanned{`{"Id":"id1","a":"x,y"}`, `{"Id":"id2"}`},
		},
		{
			"older header with AuditData last, BOM and CRLF",
			"\xef\xbb\xbfCreationDate,UserIds,Operations,AuditData\r\n" +
				`2020-12-16T12:32:28,u@x,Set-Mailbox,"{""Id"":""1""}"` + "\r\n" +
				`2020-12-16T12:32:29,u@x,Set-Mailbox,"{""Id"":""2""}"` + "\r\n",
			[]scanned{`{"Id":"1"}`, `{"Id":"2"}`},
		},
		{
			"quoted header and multi-line cells",
			`"CreationDate","UserIds","Operations","AuditData"` + "\n" +
				`"d","u","op","{` + "\n" + `  ""Id"": ""1"",` + "\n" + `  ""Note"": ""line1` + "\r\n" + `line2""` + "\n" + `}"` + "\n",
			[]scanned{"{\n  \"Id\": \"1\",\n  \"Note\": \"line1\r\nline2\"\n}"},
		},
		{
			"blank lines are skipped, a short row is a problem",
			"CreationDate,UserIds,Operations,AuditData\n\n" + `d,u,op,"{}"` + "\r\n\r\n" + "just one field\n",
			[]scanned{`{}`, problemRecord("CSV row at offset 58 has 1 fields but AuditData is field 4 of the header")},
		},
		{
			"last row without a line break",
			"CreationDate,UserIds,Operations,AuditData\n" + `d,u,op,"{""Id"":""1""}"`,
			[]scanned{`{"Id":"1"}`},
		},
		{
			"unquoted cell and stray quotes are read literally",
			"AuditData,Other\n" + `{"a":1},x` + "\n" + `"{""b"":2}"tail,y` + "\n",
			[]scanned{`{"a":1}`, `{"b":2}tail`},
		},
	}
	for _, tt := range tests {
		for _, size := range windowSizes {
			t.Run(fmt.Sprintf("%s/window=%d", tt.name, size), func(t *testing.T) {
				got, err := csvRows(t, tt.input, size)
				require.ErrorIs(t, err, io.EOF)
				assert.Equal(t, tt.want, got)
			})
		}
	}
}

func TestCSVEndsInsideRow(t *testing.T) {
	for _, input := range []string{
		"CreationDate,UserIds,Operations,AuditData\n" + `d,u,op,"{""Id"":""1""}"` + "\n" + `e,u,op,"{""Id"":`,
		"CreationDate,UserIds,Operations,AuditData\n" + `d,u,op,"{""Id"":""1""}"` + "\n" + `e,u`,
	} {
		start, column, _ := detectFormat([]byte(input))
		r := newCSVReader(newTestWindow([]byte(input), 64, resumePoint{Offset: start}), column, 1<<20)
		got, err := scanAll(r)
		require.ErrorIs(t, err, errIncomplete)
		assert.Equal(t, []scanned{`{"Id":"1"}`}, got)
		rowEnd := int64(strings.Index(input, "}\"\n") + 3)
		assert.Equal(t, rowEnd, r.resumePoint().Offset)

		r.abandon()
		assert.Equal(t, int64(len(input)), r.resumePoint().Offset)
	}
}

func TestCSVOversizedCell(t *testing.T) {
	cell := `{"blob":"` + strings.Repeat("x", 2*PreviewBytes) + `"}`
	input := "AuditData\n\"" + strings.ReplaceAll(cell, `"`, `""`) + "\"\n\"{}\"\n"
	start, column, _ := detectFormat([]byte(input))
	got, err := scanAll(newCSVReader(newTestWindow([]byte(input), 4096, resumePoint{Offset: start}), column, PreviewBytes))
	require.ErrorIs(t, err, io.EOF)
	require.Len(t, got, 2)
	assert.Equal(t, problemRecord(fmt.Sprintf("record of %d bytes at offset 10 exceeds max_record_bytes (%d); the body holds its first %d bytes",
		len(cell), PreviewBytes, PreviewBytes)), got[0])
	assert.Equal(t, scanned(`{}`), got[1])
}

func TestDetectFormat(t *testing.T) {
	tests := []struct {
		name        string
		prefix      string
		start       int64
		auditColumn int
		layout      Layout
	}{
		{"json lines", `{"a":1}`, 0, -1, ""},
		{"array after BOM and space", "\xef\xbb\xbf \n[{}]", 3, -1, ""},
		{"empty", "", 0, -1, ""},
		{"purview header", "RecordId,CreationDate,RecordType,Operation,UserId,AuditData,X\r\nrow", 63, 5, LayoutPurviewCSVRecordID},
		{"older header after BOM", "\xef\xbb\xbfCreationDate,UserIds,Operations,AuditData\nrow", 45, 3, LayoutPurviewCSVCreationDate},
		{"Export-Csv of Search-UnifiedAuditLog", "RunspaceId,RecordType,CreationDate,UserIds,Operations,AuditData,ResultIndex\nrow", 76, 5, LayoutPurviewCSVCreationDate},
		{"quoted, case-insensitive header", "\"creationdate\",\" auditdata \"\n", 29, 1, LayoutPurviewCSV},
		{"text without AuditData column", "hello,world\n", 0, -1, ""},
		{"junk", "\x00\x01\x02", 0, -1, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start, column, layout := detectFormat([]byte(tt.prefix))
			assert.Equal(t, tt.start, start)
			assert.Equal(t, tt.auditColumn, column)
			assert.Equal(t, tt.layout, layout)
		})
	}
}
