package auditlogreceiver

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/otelsec/emailcompromise/internal/testing/apitest"
)

func TestThrottlingHonoursRetryAfter(t *testing.T) {
	env := newGraphEnv(t)
	now := time.Now()
	env.api.Add(now.Add(-time.Minute), "interactiveUser", apitest.GraphSignIn("after-throttle", now.Add(-time.Minute), "none"))
	env.api.Faults.Add(1, apitest.Fault{Match: "signIns", Status: http.StatusTooManyRequests, RetryAfter: "1",
		Body: `{"error":{"code":"TooManyRequests","message":"Too many requests"}}`})
	// 503 without Retry-After: exponential backoff instead.
	env.api.Faults.Add(1, apitest.Fault{Match: "signIns", Status: http.StatusServiceUnavailable,
		Body: `{"error":{"code":"ServiceUnavailable","message":"Service Unavailable"}}`})
	tt := newTelemetry(t)
	sink := &idSink{}
	start := time.Now()
	startReceiver(t, env.cfg, sink.consumer(t), componenttest.NewNopHost(), tt)
	sink.waitIDs(t, 1)
	assert.GreaterOrEqual(t, time.Since(start), time.Second, "waited as Retry-After asked")
	assert.Equal(t, int64(2), counter(t, tt, "audit_log_api_throttles"))
	assert.Zero(t, counter(t, tt, "audit_log_read_errors"), "a throttle within the attempts is not a failed poll")
}

func TestServerErrorBurstsAreRetriedAndNothingAdvancesWhenTheyLast(t *testing.T) {
	env := newO365Env(t, "Audit.Exchange")
	now := time.Now()
	want := addO365Blobs(env.api, "Audit.Exchange", "b", now.Add(-50*time.Minute), now, 4, 2)
	af50000 := `{"error":{"code":"AF50000","message":"An internal error occurred. Retry the request."}}`
	// A burst the attempts absorb: 3 failures, then success.
	env.api.Faults.Add(2, apitest.Fault{Match: "subscriptions/content", Status: http.StatusInternalServerError, Body: af50000})
	env.api.Faults.Add(1, apitest.Fault{Match: "/audit/", HangUp: true})
	// Then one longer than retry.max_attempts (4) on the listing: the poll
	// gives up, and a later poll reads everything.
	env.api.Faults.Add(6, apitest.Fault{Match: "subscriptions/content", Status: http.StatusBadGateway, Body: "<html>Bad Gateway</html>"})

	tt := newTelemetry(t)
	sink := &idSink{}
	startReceiver(t, env.cfg, sink.consumer(t), componenttest.NewNopHost(), tt)
	got := sink.waitIDs(t, len(want))
	assert.Equal(t, sorted(want), sorted(got))
	assert.Zero(t, env.api.Faults.Pending())
	// Two polls of 4 attempts each took the first 8 failures: 3 retries
	// each. net/http may itself resend the GET whose connection was cut.
	assert.GreaterOrEqual(t, counter(t, tt, "audit_log_api_retries"), int64(6))
	assert.GreaterOrEqual(t, counter(t, tt, "audit_log_read_errors"), int64(1), "the long burst ended a poll")
}

func TestTokenExpiryAndRevocationMidRun(t *testing.T) {
	env := newO365Env(t, "Audit.Exchange")
	env.entra.SetLifetime(time.Second)
	tt := newTelemetry(t)
	sink := &idSink{}
	startReceiver(t, env.cfg, sink.consumer(t), componenttest.NewNopHost(), tt)

	var want []string
	for i := range 5 {
		at := time.Now()
		id := fmt.Sprintf("t%d", i)
		env.api.AddBlob("Audit.Exchange", at.Add(-time.Second), apitest.O365SignIn(id, at.Add(-2*time.Second)))
		want = append(want, id)
		if i == 2 {
			// Revoked before expiry (a consent withdrawn and granted
			// again): the next request is refused with 401.
			env.entra.Tokens.RevokeAll()
		}
		sink.waitIDs(t, len(want))
		time.Sleep(300 * time.Millisecond)
	}
	assert.Equal(t, sorted(want), sorted(sink.ids()))
	assert.GreaterOrEqual(t, env.entra.Tokens.Count(), 3, "renewed before expiry and after the revocation")
	assert.Zero(t, counter(t, tt, "audit_log_read_errors"), "neither expiry nor revocation failed a poll")
}

func TestRefusedCredentialsNameTheKeysToCheck(t *testing.T) {
	t.Run("wrong secret", func(t *testing.T) {
		env := newO365Env(t, "Audit.Exchange")
		env.cfg.O365.Get().ClientSecret = "not-the-secret"
		logs := &syncBuffer{}
		tt := newTelemetry(t)
		startReceiver(t, env.cfg, (&idSink{}).consumer(t), componenttest.NewNopHost(), tt, logTo(logs))
		require.Eventually(t, func() bool { return counter(t, tt, "audit_log_read_errors") >= 2 }, 5*time.Second, 5*time.Millisecond)
		out := logs.String()
		assert.Contains(t, out, "AADSTS7000215")
		assert.Contains(t, out, "check o365_management_api.tenant_id, o365_management_api.client_id and o365_management_api.client_secret")
		assert.NotContains(t, out, "not-the-secret")
	})
	t.Run("token the API refuses", func(t *testing.T) {
		env := newGraphEnv(t)
		// The API takes tokens for another resource only: every token the
		// receiver gets is refused.
		env.api.AcceptTokensOf(apitest.NewTokenRegistry())
		logs := &syncBuffer{}
		tt := newTelemetry(t)
		startReceiver(t, env.cfg, (&idSink{}).consumer(t), componenttest.NewNopHost(), tt, logTo(logs))
		require.Eventually(t, func() bool { return counter(t, tt, "audit_log_read_errors") >= 1 }, 5*time.Second, 5*time.Millisecond)
		out := logs.String()
		assert.Contains(t, out, "HTTP 401 InvalidAuthenticationToken")
		assert.Contains(t, out, "AuditLog.Read.All and Directory.Read.All")
		polls := counter(t, tt, "audit_log_read_errors")
		assert.LessOrEqual(t, env.entra.Tokens.Count(), 2*int(polls)+2, "one fresh token per refused request, no more")
	})
}

func TestRefusedCredentialsBackOffAndAreLoggedOncePerChange(t *testing.T) {
	env := newO365Env(t, "Audit.Exchange", "Audit.General")
	// The secret was rotated in Entra ID; the receiver still has the old one.
	env.entra.SetSecret("rotated-secret")
	now := time.Now()
	env.api.AddBlob("Audit.Exchange", now.Add(-time.Minute), apitest.O365SignIn("after-fix", now.Add(-2*time.Minute)))
	tt := newTelemetry(t)
	sink := &idSink{}
	core, logs := observer.New(zapcore.InfoLevel)
	startReceiver(t, env.cfg, sink.consumer(t), componenttest.NewNopHost(), tt, func(r *auditLogReceiver) {
		// As the collector builds its logger: error lines with a stack.
		r.settings.Logger = zap.New(core, zap.AddStacktrace(zapcore.ErrorLevel))
	})

	const window = 1500 * time.Millisecond
	time.Sleep(window)
	// poll_interval is 20ms: every poll would be 75 token requests in the
	// window. Doubling from 20ms, the requests start 0, 20, 60, 140, 300,
	// 620 and 1260ms in: about log2(window/poll_interval) + 1.
	refused := env.entra.Refused()
	assert.GreaterOrEqual(t, refused, 4, "asked again while refused")
	assert.LessOrEqual(t, refused, 9, "token requests in %s at a 20ms poll_interval", window)
	assert.Equal(t, int64(1), authFailing(t, tt, sourceO365))
	failing := logs.FilterMessageSnippet("credentials refused").All()
	require.Len(t, failing, 1, "one line when the refusal begins, none for the same refusal again")
	assert.Equal(t, zapcore.ErrorLevel, failing[0].Level)
	assert.Empty(t, failing[0].Stack, "the receiver's stack says nothing about the vendor's refusal")
	assert.Equal(t, "invalid_client AADSTS7000215", failing[0].ContextMap()["vendor_code"])
	assert.Contains(t, failing[0].ContextMap()["error"], "check o365_management_api.tenant_id, o365_management_api.client_id and o365_management_api.client_secret")
	assert.Equal(t, 1, logs.FilterLevelExact(zapcore.ErrorLevel).Len()+logs.FilterLevelExact(zapcore.WarnLevel).Len(), "nothing else warned about")

	// The receiver's secret is valid again (added back in Entra ID).
	env.entra.SetSecret(apitest.ClientSecret)
	assert.Equal(t, []string{"after-fix"}, sink.waitIDs(t, 1))
	assert.Equal(t, int64(0), authFailing(t, tt, sourceO365))
	recovered := logs.FilterMessageSnippet("credentials accepted again").All()
	require.Len(t, recovered, 1)
	assert.Equal(t, zapcore.InfoLevel, recovered[0].Level)
	assert.Equal(t, "invalid_client AADSTS7000215", recovered[0].ContextMap()["refused_with"])
	assert.Len(t, logs.FilterMessageSnippet("credentials refused").All(), 1)
}

func TestGoogleDelegationRefusedIsLoggedOnceWithGooglesCode(t *testing.T) {
	env := newGoogleEnv(t, "login")
	// The service account may act for the administrator the fake knows,
	// not for this one: Google answers unauthorized_client.
	env.cfg.Google.Get().Subject = "someone-else@contosolabs.com"
	tt := newTelemetry(t)
	core, logs := observer.New(zapcore.InfoLevel)
	startReceiver(t, env.cfg, (&idSink{}).consumer(t), componenttest.NewNopHost(), tt, func(r *auditLogReceiver) { r.settings.Logger = zap.New(core) })
	require.Eventually(t, func() bool { return counter(t, tt, "audit_log_read_errors") >= 4 }, 5*time.Second, 5*time.Millisecond)
	refused := logs.FilterMessageSnippet("credentials refused").All()
	require.Len(t, refused, 1)
	assert.Equal(t, "unauthorized_client", refused[0].ContextMap()["vendor_code"])
	assert.Contains(t, refused[0].ContextMap()["error"], "google_workspace_reports.")
	assert.Equal(t, int64(1), authFailing(t, tt, sourceGoogle))
}

// authFailing is the last value of the auth_failing gauge, which only
// source records.
func authFailing(t testing.TB, tt *componenttest.Telemetry, source string) int64 {
	t.Helper()
	m, err := tt.GetMetric("otelcol_audit_log_api_auth_failing")
	require.NoError(t, err)
	points := m.Data.(metricdata.Gauge[int64]).DataPoints
	require.Len(t, points, 1)
	got, _ := points[0].Attributes.Value("source")
	assert.Equal(t, source, got.AsString())
	return points[0].Value
}

func TestCertificateCredentials(t *testing.T) {
	env := newGraphEnv(t)
	cert, pemFile := apitest.SelfSignedCert(t)
	env.entra.Cert = cert
	g := env.cfg.Graph.Get()
	g.ClientSecret, g.CertificateFile = "", pemFile
	now := time.Now()
	env.api.Add(now.Add(-time.Minute), "interactiveUser", apitest.GraphSignIn("by-cert", now.Add(-time.Minute), "none"))
	sink := &idSink{}
	startReceiver(t, env.cfg, sink.consumer(t), componenttest.NewNopHost(), nil)
	assert.Equal(t, []string{"by-cert"}, sink.waitIDs(t, 1))
	// A second token needs a second assertion, with its own jti.
	env.entra.Tokens.RevokeAll()
	env.api.Add(now, "interactiveUser", apitest.GraphSignIn("by-cert-again", now, "none"))
	sink.waitIDs(t, 2)
	assert.Zero(t, env.entra.Refused(), "every assertion verified")
	assert.GreaterOrEqual(t, env.entra.Assertions(), 2)
}

func TestCertificateFileErrorsFailTheStart(t *testing.T) {
	env := newGraphEnv(t)
	g := env.cfg.Graph.Get()
	g.ClientSecret, g.CertificateFile = "", t.TempDir()+"/missing.pem"
	r := newTestReceiver(t, env.cfg, (&idSink{}).consumer(t), nil)
	err := r.Start(context.Background(), componenttest.NewNopHost())
	assert.ErrorContains(t, err, "graph_signins.certificate_file")
	require.NoError(t, r.Shutdown(context.Background()))
}

func TestShutdownIsPromptWhileTheAPIAsksToWait(t *testing.T) {
	env := newGraphEnv(t)
	env.api.Faults.Add(1, apitest.Fault{Match: "signIns", Status: http.StatusTooManyRequests, RetryAfter: "3600"})
	r := startReceiver(t, env.cfg, (&idSink{}).consumer(t), componenttest.NewNopHost(), nil)
	require.Eventually(t, func() bool { return env.api.Faults.Pending() == 0 }, 5*time.Second, time.Millisecond)
	start := time.Now()
	require.NoError(t, r.Shutdown(context.Background()))
	assert.Less(t, time.Since(start), time.Second)
}

func TestSecretsNeverAppearInLogs(t *testing.T) {
	logs := &syncBuffer{}
	cert, pemFile := apitest.SelfSignedCert(t)
	var issued []*apitest.TokenRegistry

	// A wrong secret, a revoked token, throttling, server errors and a
	// paging link to another host: every path that logs, at debug level.
	env := newO365Env(t, "Audit.Exchange")
	now := time.Now()
	env.api.AddBlob("Audit.Exchange", now.Add(-time.Minute), apitest.O365SignIn("x", now.Add(-time.Minute)))
	env.api.Faults.Add(2, apitest.Fault{Match: "content", Status: http.StatusTooManyRequests, RetryAfter: "0"})
	env.api.Faults.Add(3, apitest.Fault{Match: "audit", Status: http.StatusInternalServerError, Body: `{"error":{"code":"AF50000","message":"An internal error occurred."}}`})
	sink := &idSink{}
	r := startReceiver(t, env.cfg, sink.consumer(t), componenttest.NewNopHost(), nil, logTo(logs))
	sink.waitIDs(t, 1)
	env.entra.Tokens.RevokeAll()
	time.Sleep(100 * time.Millisecond)
	require.NoError(t, r.Shutdown(context.Background()))
	issued = append(issued, env.entra.Tokens)

	bad := newO365Env(t, "Audit.Exchange")
	bad.cfg.O365.Get().ClientSecret = apitest.ClientSecret + "-rotated"
	r = startReceiver(t, bad.cfg, sink.consumer(t), componenttest.NewNopHost(), nil, logTo(logs))
	time.Sleep(100 * time.Millisecond)
	require.NoError(t, r.Shutdown(context.Background()))

	certEnv := newGraphEnv(t)
	certEnv.entra.Cert = cert
	g := certEnv.cfg.Graph.Get()
	g.ClientSecret, g.CertificateFile = "", pemFile
	certEnv.api.Faults.Add(1, apitest.Fault{Match: "signIns", Status: http.StatusUnauthorized, Body: `{"error":{"code":"InvalidAuthenticationToken","message":"Lifetime validation failed, the token is expired."}}`})
	r = startReceiver(t, certEnv.cfg, sink.consumer(t), componenttest.NewNopHost(), nil, logTo(logs))
	time.Sleep(100 * time.Millisecond)
	require.NoError(t, r.Shutdown(context.Background()))
	issued = append(issued, certEnv.entra.Tokens)

	google := newGoogleEnv(t, "login")
	google.api.Faults.Add(1, apitest.Fault{Match: "login", Status: http.StatusServiceUnavailable, Body: `{"error":{"code":503,"message":"The service is currently unavailable.","status":"UNAVAILABLE"}}`})
	r = startReceiver(t, google.cfg, sink.consumer(t), componenttest.NewNopHost(), nil, logTo(logs))
	time.Sleep(100 * time.Millisecond)
	require.NoError(t, r.Shutdown(context.Background()))
	issued = append(issued, google.auth.Tokens)

	out := logs.String()
	require.NotEmpty(t, out)
	require.Contains(t, out, "AADSTS7000215", "the refused secret was logged about")
	secrets := []string{apitest.ClientSecret, pemBody(t, pemFile), pemBody(t, google.cfg.Google.Get().CredentialsFile)}
	for _, reg := range issued {
		secrets = append(secrets, reg.All()...)
	}
	for _, secret := range secrets {
		require.NotEmpty(t, secret)
		assert.NotContains(t, out, secret)
	}
	assert.Equal(t, "[REDACTED]", fmt.Sprint(env.cfg.O365.Get().ClientSecret))
}

// pemBody is a long stretch of the base64 inside a file's private key, which
// any leak of the key would contain.
func pemBody(t *testing.T, path string) string {
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	data := string(raw)
	i := strings.Index(data, "PRIVATE KEY-----")
	require.GreaterOrEqual(t, i, 0, path)
	body := strings.NewReplacer(`\n`, "", "\n", "").Replace(data[i+len("PRIVATE KEY-----"):])
	return body[:64]
}

// A listing whose NextPageUri leads back to a page already read is given up
// at the repeat, not followed for ever (gathering the same content each
// time round): the poll fails and is counted, and a later poll lists the
// window as the API serves it.
func TestListingThatGoesRoundInCirclesIsGivenUp(t *testing.T) {
	env := newO365Env(t, "Audit.Exchange")
	now := time.Now()
	want := addO365Blobs(env.api, "Audit.Exchange", "c", now.Add(-50*time.Minute), now, 2, 2)
	loop := env.api.URL + "/api/v1.0/" + apitest.TenantID + "/activity/feed/subscriptions/content?contentType=Audit.Exchange&page=loop"
	back := apitest.Fault{Status: http.StatusOK, Body: "[]", Header: map[string]string{"NextPageUri": loop}}
	first, again := back, back
	first.Match, again.Match = "subscriptions/content?contentType=Audit.Exchange&endTime=", "page=loop"
	env.api.Faults.Add(1, first)
	env.api.Faults.Add(1000, again)

	tt := newTelemetry(t)
	sink := &idSink{}
	startReceiver(t, env.cfg, sink.consumer(t), componenttest.NewNopHost(), tt)
	got := sink.waitIDs(t, len(want))
	assert.Equal(t, sorted(want), sorted(got))
	assert.Equal(t, 999, env.api.Faults.Pending(), "the page that led back was read once, then the listing was given up")
	assert.GreaterOrEqual(t, counter(t, tt, "audit_log_read_errors"), int64(1))
}
