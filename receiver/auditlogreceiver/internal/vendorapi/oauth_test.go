package vendorapi

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestTokenRenewal(t *testing.T) {
	now := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	assert.Equal(t, now.Add(59*time.Minute), renewTime(now, now.Add(time.Hour)), "a minute early")
	assert.Equal(t, now.Add(750*time.Millisecond), renewTime(now, now.Add(time.Second)), "short-lived: a quarter early")
	assert.Equal(t, now.Add(time.Hour), renewTime(now, time.Time{}), "no expiry given")
}

func TestMicrosoftTokenURLIsTheCloudsUnlessSet(t *testing.T) {
	auth := MicrosoftAuth{TenantID: "0d2f5e1c-7c4a-4b8e-9f1d-3a6b2c8e4f70", Cloud: "gcc_high"}
	assert.Equal(t, "https://login.microsoftonline.us/0d2f5e1c-7c4a-4b8e-9f1d-3a6b2c8e4f70/oauth2/v2.0/token", microsoftTokenURL(&auth))
	auth.TokenURL = "https://login.example/token"
	assert.Equal(t, "https://login.example/token", microsoftTokenURL(&auth))
}
