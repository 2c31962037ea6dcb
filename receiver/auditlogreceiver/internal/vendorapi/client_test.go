package vendorapi

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"golang.org/x/oauth2"

	"github.com/otelsec/emailcompromise/internal/testing/apitest"
)

func TestRetryAfterReadsSecondsAndDates(t *testing.T) {
	now := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		value string
		want  time.Duration
	}{
		{"", -1},
		{"0", 0},
		{"7", 7 * time.Second},
		{" 120 ", 2 * time.Minute},
		{"Wed, 25 Nov 2026 09:00:30 GMT", 30 * time.Second},
		{"Wed, 25 Nov 2026 08:59:00 GMT", 0}, // in the past: go now
		{"-5", -1},
		{"soon", -1},
		{"99999999999", 24 * time.Hour},
	} {
		h := http.Header{}
		if tc.value != "" {
			h.Set("Retry-After", tc.value)
		}
		assert.Equal(t, tc.want, retryAfter(h, now), "Retry-After: %q", tc.value)
	}
}

func TestVendorErrorReadsTheThreeShapes(t *testing.T) {
	for body, want := range map[string][2]string{
		`{"error":{"code":"AF20051","message":"Content requested with the key x has already expired."}}`:  {"AF20051", "Content requested with the key x has already expired."},
		`{"error":{"code":"TooManyRequests","message":"Too many requests","innerError":{"date":"x"}}}`:    {"TooManyRequests", "Too many requests"},
		`{"error":{"code":503,"message":"The service is currently unavailable.","status":"UNAVAILABLE"}}`: {"UNAVAILABLE", "The service is currently unavailable."},
		`<html>Bad Gateway</html>`: {"", "<html>Bad Gateway</html>"},
	} {
		code, message := vendorError([]byte(body))
		assert.Equal(t, want, [2]string{code, message}, body)
	}
}

func TestTokenIsNeverSentToAnotherHost(t *testing.T) {
	entra := apitest.NewEntra(t, apitest.TenantID, apitest.ClientID, apitest.ClientSecret)
	configured, other := apitest.NewGraph(t, entra), apitest.NewGraph(t, entra)
	tokens := newTokenCache(func(context.Context) (*oauth2.Token, error) {
		return &oauth2.Token{AccessToken: "secret-token", Expiry: time.Now().Add(time.Hour)}, nil
	})
	api, err := newAPIClient(SourceGraph, http.DefaultClient, tokens, configured.URL, testPoll().Retry, "", zap.NewNop(), &countingMetrics{})
	require.NoError(t, err)
	_, err = api.get(context.Background(), other.URL+"/v1.0/auditLogs/signIns", func([]byte) error { return nil })
	assert.ErrorContains(t, err, "refusing to send the access token")
	assert.Empty(t, other.Requests())
}
