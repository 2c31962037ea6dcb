package auditlogreceiver

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otelsec/emailcompromise/internal/testing/apitest"
	"github.com/otelsec/emailcompromise/internal/testing/recordtest"
	"github.com/otelsec/emailcompromise/receiver/auditlogreceiver/internal/filesource"
)

// TestAPISourcesBuildTheRecordsTheFileSourceBuilds reads the same vendor
// record from an export file and from each API: body, timestamp, event name
// and attributes must be the same; only the file's own log.file.* differ.
func TestAPISourcesBuildTheRecordsTheFileSourceBuilds(t *testing.T) {
	at := time.Now().Add(-10 * time.Minute).Truncate(time.Second)
	for _, tc := range []struct {
		name   string
		record string
		api    func(t *testing.T, record string) *Config
	}{
		{"o365", apitest.O365ForwardingRule("8a6e1f0c-0b1d-4f6e-9a7b-08dd2d4213c9", at), func(t *testing.T, record string) *Config {
			env := newO365Env(t, "Audit.Exchange")
			env.api.AddBlob("Audit.Exchange", at.Add(time.Minute), record)
			return env.cfg
		}},
		{"graph", apitest.GraphSignIn("b5e83a17-04c9-4f2b-9d6e-7c1a2f3e5b00", at, "high"), func(t *testing.T, record string) *Config {
			env := newGraphEnv(t)
			env.api.Add(at, "interactiveUser", record)
			return env.cfg
		}},
		{"google", apitest.GoogleLogin("-4839201755638290187", at), func(t *testing.T, record string) *Config {
			env := newGoogleEnv(t, "login")
			env.api.Add("login", at, record)
			return env.cfg
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			recordtest.WriteFile(t, filepath.Join(dir, "export.json"), []byte(recordtest.JSONLines(tc.record)))
			fileSink := &idSink{}
			startReceiver(t, testConfig(filepath.Join(dir, "*.json")), fileSink.consumer(t), componenttest.NewNopHost(), nil)
			fileSink.waitIDs(t, 1)
			fromFile := fileSink.records()
			require.Len(t, fromFile, 1)

			sink := &idSink{}
			startReceiver(t, tc.api(t, tc.record), sink.consumer(t), componenttest.NewNopHost(), nil)
			sink.waitIDs(t, 1)
			fromAPI := sink.records()
			require.Len(t, fromAPI, 1)

			file, api := fromFile[0], fromAPI[0]
			assert.Empty(t, recordtest.Attr(api, "audit.parse_error"))
			assert.Equal(t, file.Body().AsRaw(), api.Body().AsRaw())
			assert.Equal(t, file.Timestamp(), api.Timestamp())
			assert.Equal(t, file.EventName(), api.EventName())
			assert.Equal(t, withoutFileAttrs(file), api.Attributes().AsRaw())
		})
	}
}

func withoutFileAttrs(lr plog.LogRecord) map[string]any {
	attrs := lr.Attributes().AsRaw()
	delete(attrs, filesource.AttrFileName)
	delete(attrs, filesource.AttrFilePath)
	return attrs
}
