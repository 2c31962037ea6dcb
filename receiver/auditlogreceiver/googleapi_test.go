package auditlogreceiver

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"

	"github.com/otelsec/emailcompromise/internal/testing/apitest"
)

func TestGoogleReportsPagesEveryApplication(t *testing.T) {
	env := newGoogleEnv(t, "login", "user_accounts")
	now := time.Now()
	var want []string
	for i := range 7 {
		at := now.Add(-time.Duration(i*13) * time.Minute)
		env.api.Add("login", at, apitest.GoogleLogin(fmt.Sprintf("%d", 1000+i), at))
		want = append(want, fmt.Sprintf("%d", 1000+i))
	}
	// The same uniqueQualifier at another time is another activity.
	at := now.Add(-3 * time.Minute)
	env.api.Add("user_accounts", at, apitest.GoogleLogin("1000", at))
	want = append(want, "1000")

	sink := &idSink{}
	startReceiver(t, env.cfg, sink.consumer(t), componenttest.NewNopHost(), nil)
	assert.Equal(t, sorted(want), sorted(sink.waitIDs(t, len(want))))

	var paged bool
	for _, req := range env.api.Requests() {
		u, err := url.Parse(strings.TrimPrefix(req, "GET "))
		require.NoError(t, err)
		q := u.Query()
		_, errStart := time.Parse(time.RFC3339, q.Get("startTime"))
		_, errEnd := time.Parse(time.RFC3339, q.Get("endTime"))
		assert.NoError(t, errStart)
		assert.NoError(t, errEnd)
		assert.Equal(t, "2", q.Get("maxResults"))
		paged = paged || q.Has("pageToken")
	}
	assert.True(t, paged, "nextPageToken was followed")
	assert.Equal(t, 1, env.auth.Tokens.Count(), "one token, reused")
}

func TestGoogleLateActivityWithinOverlapIsRead(t *testing.T) {
	env := newGoogleEnv(t, "login")
	now := time.Now()
	env.api.Add("login", now.Add(-time.Minute), apitest.GoogleLogin("1", now.Add(-time.Minute)))
	sink := &idSink{}
	startReceiver(t, env.cfg, sink.consumer(t), componenttest.NewNopHost(), nil)
	sink.waitIDs(t, 1)
	env.api.Add("login", now.Add(-2*time.Hour), apitest.GoogleLogin("2", now.Add(-2*time.Hour)))
	assert.Equal(t, []string{"1", "2"}, sorted(sink.waitIDs(t, 2)))
}

func TestGoogleSubjectWithoutDelegationNamesTheKeys(t *testing.T) {
	env := newGoogleEnv(t, "login")
	env.cfg.Google.Get().Subject = "someone.else@contosolabs.com"
	logs := &syncBuffer{}
	tt := newTelemetry(t)
	startReceiver(t, env.cfg, (&idSink{}).consumer(t), componenttest.NewNopHost(), tt, logTo(logs))
	require.Eventually(t, func() bool { return counter(t, tt, "audit_log_read_errors") >= 1 }, 5*time.Second, 5*time.Millisecond)
	out := logs.String()
	assert.Contains(t, out, "unauthorized_client")
	assert.Contains(t, out, "google_workspace_reports.credentials_file and google_workspace_reports.subject")
	assert.Contains(t, out, "domain-wide delegation")
}
