package logrecord

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otelsec/emailcompromise/internal/auditrecord"
	"github.com/otelsec/emailcompromise/internal/testing/recordtest"
)

func parseError(lr plog.LogRecord) string {
	v, _ := lr.Attributes().Get(auditrecord.AttrParseError)
	return v.AsString()
}

func TestBuildCountsEachOutcomeAndTakeCountsResets(t *testing.T) {
	b := NewBuilder(1 << 20)
	ok := plog.NewLogRecord()
	assert.True(t, b.Build(Raw{Data: []byte(recordtest.O365Record("id-1"))}, ok))
	assert.Equal(t, "id-1", b.View().ID)
	assert.Equal(t, "UserLoggedIn", ok.EventName())

	foreign := plog.NewLogRecord()
	assert.False(t, b.Build(Raw{Data: []byte(`{"hello":"world"}`)}, foreign))
	assert.Equal(t, auditrecord.ErrUnrecognized.Error(), parseError(foreign))

	problem := plog.NewLogRecord()
	assert.False(t, b.Build(Raw{Data: []byte("{cut"), Problem: "file ends inside a record"}, problem))
	assert.Equal(t, "file ends inside a record", parseError(problem), "a known problem is passed on without decoding")
	assert.Equal(t, "{cut", problem.Body().Str())

	assert.Equal(t, Counts{Read: 3, ParseErrors: 2, Unrecognized: 1}, b.TakeCounts())
	assert.Equal(t, Counts{}, b.TakeCounts())
}

func TestDecodeProblemSaysWhereInTheStream(t *testing.T) {
	b := NewBuilder(1 << 20)
	inFile := plog.NewLogRecord()
	b.Build(Raw{Data: []byte(`{"Id": x}`), Offset: 100}, inFile)
	assert.Equal(t, "invalid JSON at offset 107: invalid character 'x' looking for beginning of value", parseError(inFile))

	inCell := plog.NewLogRecord()
	b.Build(Raw{Data: []byte(`{"Id": x}`), Offset: 100, CSVCell: true}, inCell)
	assert.Equal(t, "invalid JSON at byte 7 of the AuditData cell at offset 100: invalid character 'x' looking for beginning of value", parseError(inCell))

	binary := plog.NewLogRecord()
	b.Build(Raw{Data: []byte("caf\xe9")}, binary)
	assert.Equal(t, []byte("caf\xe9"), binary.Body().Bytes().AsRaw(), "invalid UTF-8 is kept as bytes")
}
