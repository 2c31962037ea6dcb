package vendorapi

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"
)

// documentedHosts are Microsoft's endpoints per cloud, written here from the
// documentation rather than from clouds.go:
//   - token: the Microsoft Entra authentication endpoint of the national
//     cloud (learn.microsoft.com/entra/identity-platform/authentication-national-cloud:
//     login.microsoftonline.com for the global service, which GCC uses,
//     login.microsoftonline.us for Azure Government, GCC High and DoD);
//   - manage: the Management Activity API's root URL per plan
//     (learn.microsoft.com/office/office-365-management-api/office-365-management-activity-api-reference,
//     "Activity API operations": Enterprise, GCC, GCC High, DoD);
//   - graph: Microsoft Graph's service root per national cloud
//     (learn.microsoft.com/graph/deployments: the global service, which GCC
//     uses; US Government L4 for GCC High; L5 for DoD).
//
// The cloud operated by 21Vianet (login.chinacloudapi.cn,
// microsoftgraph.chinacloudapi.cn) is not offered: the Management Activity
// API reference gives it no root URL.
var documentedHosts = []struct {
	cloud, token, manage, graph string
}{
	{"commercial", "login.microsoftonline.com", "manage.office.com", "graph.microsoft.com"},
	{"gcc", "login.microsoftonline.com", "manage-gcc.office.com", "graph.microsoft.com"},
	{"gcc_high", "login.microsoftonline.us", "manage.office365.us", "graph.microsoft.us"},
	{"dod", "login.microsoftonline.us", "manage.protection.apps.mil", "dod-graph.microsoft.us"},
}

const cloudTenant = "0d2f5e1c-7c4a-4b8e-9f1d-3a6b2c8e4f70"

// TestNationalCloudHosts builds the O365 and Graph sources of every cloud
// and checks, on the requests they send, where the token is asked for, for
// which audience, and where the API is called. Nothing leaves the process:
// the HTTP client's transport answers every request itself.
func TestNationalCloudHosts(t *testing.T) {
	assert.Len(t, Clouds(), len(documentedHosts), "every cloud offered is documented here")
	for _, doc := range documentedHosts {
		t.Run(doc.cloud, func(t *testing.T) {
			auth := MicrosoftAuth{TenantID: cloudTenant, ClientID: "client", ClientSecret: "secret", Cloud: doc.cloud}
			tokenURL := "https://" + doc.token + "/" + cloudTenant + "/oauth2/v2.0/token"

			o365 := firstRequests(t, func(env Env) (*Source, error) {
				return NewO365Source(context.Background(), O365Settings{Auth: auth, ContentTypes: []string{"Audit.Exchange"}, Poll: testPoll()}, env)
			})
			assert.Equal(t, tokenURL, o365.tokenURL)
			assert.Equal(t, "https://"+doc.manage+"/.default", o365.scope, "the token's audience is the Management Activity API")
			assert.Equal(t, doc.manage, o365.api.Host)
			assert.Equal(t, "/api/v1.0/"+cloudTenant+"/activity/feed/subscriptions/content", o365.api.Path)

			graph := firstRequests(t, func(env Env) (*Source, error) {
				return NewGraphSource(context.Background(), GraphSettings{Auth: auth, APIVersion: "v1.0", PageSize: 10, Poll: testPoll()}, env)
			})
			assert.Equal(t, tokenURL, graph.tokenURL)
			assert.Equal(t, "https://"+doc.graph+"/.default", graph.scope, "the token's audience is Graph")
			assert.Equal(t, doc.graph, graph.api.Host)
			assert.Equal(t, "/v1.0/auditLogs/signIns", graph.api.Path)
		})
	}
	t.Run("base_url and token_url replace the hosts, not the audience", func(t *testing.T) {
		auth := MicrosoftAuth{TenantID: cloudTenant, ClientID: "client", ClientSecret: "secret", Cloud: "gcc_high", TokenURL: "https://login.proxy.example/token"}
		got := firstRequests(t, func(env Env) (*Source, error) {
			return NewGraphSource(context.Background(), GraphSettings{Auth: auth, APIVersion: "beta", PageSize: 10, BaseURL: "https://graph.proxy.example", Poll: testPoll()}, env)
		})
		assert.Equal(t, "https://login.proxy.example/token", got.tokenURL)
		assert.Equal(t, "https://graph.microsoft.us/.default", got.scope)
		assert.Equal(t, "graph.proxy.example", got.api.Host)
	})
	t.Run("an unknown cloud is refused", func(t *testing.T) {
		env, _ := testEnv(t, http.DefaultClient)
		_, err := NewGraphSource(context.Background(), GraphSettings{Auth: MicrosoftAuth{Cloud: "china"}, Poll: testPoll()}, env)
		assert.EqualError(t, err, `graph_signins.cloud: "china" is not one of commercial, gcc, gcc_high, dod`)
	})
}

// sentRequests are the first token request and the first API request a
// source sent.
type sentRequests struct {
	tokenURL, scope string
	api             *url.URL
}

// firstRequests runs the source build makes until it has asked for a token
// and called the API once, and returns those requests.
func firstRequests(t *testing.T, build func(Env) (*Source, error)) sentRequests {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	rt := &answeringTransport{done: cancel}
	env, _ := testEnv(t, &http.Client{Transport: rt})
	src, err := build(env)
	require.NoError(t, err)
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		src.Run(ctx, func(context.Context, plog.Logs, func() plog.Logs) error { return nil })
	}()
	select {
	case <-finished:
	case <-time.After(10 * time.Second):
		t.Fatal("no API request")
	}
	rt.mu.Lock()
	defer rt.mu.Unlock()
	require.NotNil(t, rt.sent.api, "the API was called")
	return rt.sent
}

// answeringTransport answers a token request with a token and an API
// request with an empty listing, and remembers the first of each.
type answeringTransport struct {
	mu   sync.Mutex
	sent sentRequests
	done func()
}

func (rt *answeringTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	body := `[]`
	if req.Method == http.MethodPost && strings.HasSuffix(req.URL.Path, "/token") {
		raw, _ := io.ReadAll(req.Body)
		form, _ := url.ParseQuery(string(raw))
		if rt.sent.tokenURL == "" {
			rt.sent.tokenURL, rt.sent.scope = req.URL.String(), form.Get("scope")
		}
		body = `{"access_token":"token","token_type":"Bearer","expires_in":3600}`
	} else {
		if rt.sent.api == nil {
			u := *req.URL
			rt.sent.api = &u
			rt.done()
		}
		if strings.Contains(req.URL.Path, "auditLogs") {
			body = `{"value":[]}`
		}
	}
	return &http.Response{
		StatusCode: http.StatusOK,
		Header:     http.Header{"Content-Type": {"application/json"}},
		Body:       io.NopCloser(strings.NewReader(body)),
		Request:    req,
	}, nil
}
