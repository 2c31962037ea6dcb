package detection

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/otelsec/emailcompromise/internal/auditrecord"
)

// TestIsInternal checks that internal domains are exactly those configured,
// their subdomains and the tenant domain the record names: nothing guessed.
func TestIsInternal(t *testing.T) {
	p := NewPolicy(PolicyOptions{OrganizationDomains: []string{"mail.fabrikam.co.uk", "Contoso.com."}})
	tenant := &auditrecord.Record{TenantDomain: "fabrikam.onmicrosoft.com"}
	tests := []struct {
		addr   string
		record *auditrecord.Record
		want   bool
	}{
		{"ap@mail.fabrikam.co.uk", nil, true},
		{"ap@eu.mail.fabrikam.co.uk", nil, true},
		{"ap@contoso.com", nil, true},
		{"ap@fabrikam.onmicrosoft.com", tenant, true},
		{"ops", nil, true}, // a bare alias is a recipient object of the directory
		{"attacker@mail.onmicrosoft.com", nil, false},
		{"attacker@mail.onmicrosoft.com", tenant, false},
		{"attacker@contoso.onmicrosoft.com", nil, false}, // not listed, not the record's tenant
		{"ap@fabrikam.co.uk", nil, false},
		{"ap@contoso.com.evil.io", nil, false},
		{"ap@mycontoso.com", nil, false},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, p.IsInternal(tt.addr, tt.record), tt.addr)
	}
}
