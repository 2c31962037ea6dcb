package detection

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestTransportRule(t *testing.T) {
	d := NewTransportRule(testPolicy())
	tests := []struct {
		name   string
		record string
		want   string
	}{
		{"blind copy of all mail to an external address", cmdlet("New-TransportRule", "admin@contoso.com", 2, outWindow, "Name", "Compliance archive", "BlindCopyTo", "archive@mail-vault.example", "SentToScope", "InOrganization"),
			`New-TransportRule transport rule "Compliance archive" by admin@contoso.com from 185.73.124.135 sends mail outside the organisation: BlindCopyTo archive@mail-vault.example.`},
		{"redirect set by an admin inside a change window still fires", cmdlet("Set-TransportRule", "it-admin@contoso.com", 2, inWindow, "Identity", "Finance", "RedirectMessageTo", "SMTP:ap@contoso-payments.com"), "RedirectMessageTo ap@contoso-payments.com"},
		{"copy to an internal journal mailbox", cmdlet("New-TransportRule", "admin@contoso.com", 2, outWindow, "Name", "Journal", "CopyTo", "journal@contoso.com"), ""},
		{"disclaimer rule without recipients", cmdlet("New-TransportRule", "admin@contoso.com", 2, outWindow, "Name", "Disclaimer", "ApplyHtmlDisclaimerText", "<p>Confidential</p>"), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := detect(t, d, tt.record)
			if tt.want == "" {
				assert.Empty(t, got)
				return
			}
			if assert.Len(t, got, 1) {
				assert.Equal(t, SeverityCritical, got[0].Severity)
				assert.Contains(t, got[0].Reason, tt.want)
			}
		})
	}
}
