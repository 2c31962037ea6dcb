package auditlogreceiver

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/confighttp"

	"github.com/otelsec/emailcompromise/internal/testing/apitest"
)

// tlsBacklog is an API source served over HTTPS, with one record to read.
type tlsBacklog struct {
	name    string
	cfg     *Config
	http    *confighttp.ClientConfig
	baseURL string
	wantID  string
}

// tlsBacklogs are the three API sources served over HTTPS by servers whose
// certificate ca signed.
func tlsBacklogs(t *testing.T, ca *apitest.TestCA) []tlsBacklog {
	tls := []apitest.ServerOption{apitest.WithTLS(ca)}
	now := time.Now()

	o365 := newO365EnvServed(t, tls, "Audit.Exchange")
	o365.api.AddBlob("Audit.Exchange", now.Add(-time.Minute), apitest.O365SignIn("o365-1", now.Add(-2*time.Minute)))
	graph := newGraphEnv(t, tls...)
	graph.api.Add(now.Add(-time.Minute), "interactiveUser", apitest.GraphSignIn("graph-1", now.Add(-time.Minute), "none"))
	google := newGoogleEnvServed(t, tls, "login")
	google.api.Add("login", now.Add(-time.Minute), apitest.GoogleLogin("4242", now.Add(-time.Minute)))

	return []tlsBacklog{
		{sourceO365, o365.cfg, &o365.cfg.O365.Get().HTTP, o365.api.URL, "o365-1"},
		{sourceGraph, graph.cfg, &graph.cfg.Graph.Get().HTTP, graph.api.URL, "graph-1"},
		{sourceGoogle, google.cfg, &google.cfg.Google.Get().HTTP, google.api.URL, "4242"},
	}
}

// TestAPISourcesOverTLSWithATestCA serves the token endpoints and the APIs
// over HTTPS with a certificate of a CA made for the test: with the CA's
// file as http.tls.ca_file every source reads its record; with another CA's
// nothing is read, the request is not retried, and the error says the
// server's certificate is not trusted and which key to set.
func TestAPISourcesOverTLSWithATestCA(t *testing.T) {
	ca := apitest.NewTestCA(t)
	for _, bl := range tlsBacklogs(t, ca) {
		t.Run(bl.name+"/trusted", func(t *testing.T) {
			require.True(t, strings.HasPrefix(bl.baseURL, "https://"), "served over TLS: %s", bl.baseURL)
			bl.http.TLS.CAFile = ca.CAFile
			sink := &idSink{}
			startReceiver(t, bl.cfg, sink.consumer(t), componenttest.NewNopHost(), nil)
			assert.Equal(t, []string{bl.wantID}, sink.waitIDs(t, 1))
		})
	}
	other := apitest.NewTestCA(t)
	for _, bl := range tlsBacklogs(t, ca) {
		t.Run(bl.name+"/another CA", func(t *testing.T) {
			bl.http.TLS.CAFile = other.CAFile
			logs := &syncBuffer{}
			tt := newTelemetry(t)
			sink := &idSink{}
			startReceiver(t, bl.cfg, sink.consumer(t), componenttest.NewNopHost(), tt, logTo(logs))
			// The error is counted before it is logged.
			require.Eventually(t, func() bool {
				return counter(t, tt, "audit_log_read_errors") >= 1 && strings.Contains(logs.String(), "API server's certificate is not trusted")
			}, 5*time.Second, 5*time.Millisecond)
			assert.Empty(t, sink.ids())
			out := logs.String()
			assert.Contains(t, out, "API server's certificate is not trusted")
			assert.Contains(t, out, "x509: certificate signed by unknown authority")
			assert.Contains(t, out, "set "+bl.name+".http.tls.ca_file to the CA that signed it")
			assert.Zero(t, counter(t, tt, "audit_log_api_retries"), "no retry can make the certificate trusted")
		})
	}
}
