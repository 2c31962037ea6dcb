package vendorapi

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"go.uber.org/zap"
)

func TestRefusedCredentialsWaitDoublesToTheCap(t *testing.T) {
	refused := &authError{err: &credentialsError{status: http.StatusUnauthorized, code: "invalid_client", description: "AADSTS7000215: Invalid client secret provided."}}
	for _, tc := range []struct {
		pollInterval time.Duration
		want         []time.Duration
	}{
		{time.Minute, []time.Duration{time.Minute, 2 * time.Minute, 4 * time.Minute, authRetryMax, authRetryMax}},
		// A poll_interval longer than the cap is never shortened.
		{10 * time.Minute, []time.Duration{10 * time.Minute, 10 * time.Minute}},
	} {
		s := &Source{poll: PollSettings{PollInterval: tc.pollInterval}, logger: zap.NewNop(), metrics: &countingMetrics{}, now: time.Now}
		var got []time.Duration
		for range tc.want {
			got = append(got, s.credentialsRefused(context.Background(), refused))
		}
		assert.Equal(t, tc.want, got, "poll_interval %s", tc.pollInterval)
		s.credentialsAccepted(context.Background())
		assert.Equal(t, tc.pollInterval, s.credentialsRefused(context.Background(), refused), "a new refusal starts from poll_interval again")
	}
}

func TestAuthErrorNamesTheVendorCode(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{&credentialsError{status: 401, code: "invalid_client", description: "AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value"}, "invalid_client AADSTS7000215"},
		{&credentialsError{status: 400, code: "unauthorized_client", description: "AADSTS700016: Application with identifier 'x' was not found in the directory 'y'."}, "unauthorized_client AADSTS700016"},
		{&credentialsError{status: 400, code: "invalid_request", description: "AADSTS90002: Tenant 'z' not found."}, "invalid_request AADSTS90002"},
		// Google's OAuth errors carry no number.
		{&credentialsError{status: 401, code: "unauthorized_client", description: "Client is unauthorized to retrieve access tokens using this method"}, "unauthorized_client"},
		{&credentialsError{status: 400, code: "invalid_grant", description: "Invalid JWT Signature."}, "invalid_grant"},
		// A fresh token the API refused.
		{&statusError{status: 401, code: "InvalidAuthenticationToken"}, "InvalidAuthenticationToken"},
		{&statusError{status: 401}, "HTTP 401"},
	} {
		assert.Equal(t, tc.want, (&authError{err: tc.err}).vendorCode(), "%v", tc.err)
	}
}
