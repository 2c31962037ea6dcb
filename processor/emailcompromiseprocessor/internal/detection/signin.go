package detection

import (
	"strings"

	"github.com/otelsec/emailcompromise/internal/auditrecord"
)

// Facts about sign-in records that several detectors share.

// successfulSignIn reports whether r is a sign-in that succeeded.
func successfulSignIn(r *auditrecord.Record) bool {
	return r.Kind == auditrecord.KindSignIn && r.Result == auditrecord.ResultSuccess
}

// passwordFailure reports whether r is a sign-in that failed on the
// credentials: Entra 50126 (bad user name or password), 50053 (locked by
// smart lockout, which attackers trip), 50055 (expired password, which
// proves the password right), O365 UserLoginFailed and Google login_failure.
func passwordFailure(r *auditrecord.Record) bool {
	if r.Kind != auditrecord.KindSignIn || r.Result != auditrecord.ResultFailure {
		return false
	}
	switch r.Source {
	case auditrecord.SourceEntraSignIn:
		switch r.ErrorCode {
		case "50126", "50053", "50055":
			return true
		}
		return false
	case auditrecord.SourceO365:
		return strings.EqualFold(r.Operation, "UserLoginFailed") || strings.HasPrefix(r.Operation, "PasswordLogon")
	case auditrecord.SourceGoogleWorkspace:
		return r.Operation == "login_failure"
	}
	return false
}

// mfaPrompt reports whether r is an MFA denial or interrupt: Entra 500121
// whose details say the user denied it, or 50074/50076 (strong
// authentication required), which repeat when prompts are pushed in a loop.
func mfaPrompt(r *auditrecord.Record) bool {
	if r.Kind != auditrecord.KindSignIn || r.Result != auditrecord.ResultFailure {
		return false
	}
	switch r.ErrorCode {
	case "50074", "50076":
		return true
	case "500121":
		d := strings.ToLower(r.SignIn.FailureDetail)
		return strings.Contains(d, "denied") || strings.Contains(d, "declined")
	}
	return false
}

// place names where a sign-in came from, for reasons.
func place(city, country, ip string) string {
	var parts []string
	if city != "" {
		parts = append(parts, city)
	}
	if country != "" {
		parts = append(parts, country)
	}
	where := strings.Join(parts, ", ")
	switch {
	case where == "":
		return ip
	case ip == "":
		return where
	}
	return where + " (" + ip + ")"
}
