package detection

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestLegacyAuth(t *testing.T) {
	p := NewPolicy(PolicyOptions{ServiceAccounts: []string{"scanner@contoso.com"}})
	d := NewLegacyAuth(p, LegacyAuthOptions{})
	custom := NewLegacyAuth(p, LegacyAuthOptions{ClientApps: []string{"Exchange Web Services"}})
	tests := []struct {
		name   string
		d      *LegacyAuth
		record string
		want   string // reason substring; "" for none
	}{
		{"IMAP4 success", d, graphSignIn{user: "bob@contoso.com", at: t0, ip: "198.51.100.7", clientApp: "IMAP4"}.json(), "legacy protocol IMAP4"},
		{"POP3 success (Azure Monitor)", d, azureMonitor("SignInLogs", graphSignIn{user: "bob@contoso.com", at: t0, ip: "198.51.100.7", clientApp: "POP3"}), "legacy protocol POP3"},
		{"Authenticated SMTP", d, graphSignIn{user: "bob@contoso.com", at: t0, ip: "198.51.100.7", clientApp: "Authenticated SMTP"}.json(), "Authenticated SMTP"},
		{"Exchange ActiveSync", d, graphSignIn{user: "bob@contoso.com", at: t0, ip: "198.51.100.7", clientApp: "Exchange ActiveSync"}.json(), "Exchange ActiveSync"},
		{"Other clients", d, graphSignIn{user: "bob@contoso.com", at: t0, ip: "198.51.100.7", clientApp: "Other clients"}.json(), "Other clients"},
		{"ROPC user agent in Graph", d, graphSignIn{user: "bob@contoso.com", at: t0, ip: "198.51.100.7", userAgent: "BAV2ROPC"}.json(), "ROPC flow (user agent BAV2ROPC)"},
		{"ROPC user agent in O365 UserLoggedIn", d, o365SignIn("bob@contoso.com", t0, "198.51.100.7", false, "BAV2ROPC"), "ROPC flow"},
		{"failed IMAP attempt", d, graphSignIn{user: "bob@contoso.com", at: t0, ip: "198.51.100.7", clientApp: "IMAP4", errorCode: 50126}.json(), ""},
		{"browser sign-in", d, graphSignIn{user: "bob@contoso.com", at: t0, ip: "198.51.100.7"}.json(), ""},
		{"scanner service account on SMTP", d, graphSignIn{user: "scanner@contoso.com", at: t0, ip: "198.51.100.7", clientApp: "Authenticated SMTP"}.json(), ""},
		{"configured list replaces the defaults", custom, graphSignIn{user: "bob@contoso.com", at: t0, ip: "198.51.100.7", clientApp: "IMAP4"}.json(), ""},
		{"configured list fires", custom, graphSignIn{user: "bob@contoso.com", at: t0, ip: "198.51.100.7", clientApp: "Exchange Web Services"}.json(), "Exchange Web Services"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := detect(t, tt.d, tt.record)
			if tt.want == "" {
				assert.Empty(t, got)
				return
			}
			if assert.Len(t, got, 1) {
				assert.Equal(t, SeverityMedium, got[0].Severity)
				assert.Contains(t, got[0].Reason, tt.want)
			}
		})
	}
}
