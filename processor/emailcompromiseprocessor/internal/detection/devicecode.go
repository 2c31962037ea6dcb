package detection

import (
	"fmt"
	"slices"

	"github.com/otelsec/emailcompromise/processor/emailcompromiseprocessor/internal/state"
)

// RuleDeviceCode is a sign-in through the device code flow that the user
// never used, from a network that is not theirs.
var RuleDeviceCode = &Rule{
	ID:           CategoryRiskySignIn + "/device_code",
	Category:     CategoryRiskySignIn,
	Title:        "Sign-in through the device code flow, new to the user, from a new or hosting network",
	Techniques:   []string{TechniqueEmailAccounts, TechniqueStealToken, "T1566.002"},
	Reference:    "https://learn.microsoft.com/entra/identity/conditional-access/concept-authentication-flows#device-code-flow",
	NeedsHistory: true,
}

// DeviceCodeOptions tune the device-code detector.
type DeviceCodeOptions struct {
	// HostingASNs are hosting providers (shared with the anonymizer
	// detector): a device code redeemed there is an attacker's server.
	HostingASNs []uint32
}

// DeviceCode detects device code phishing: the attacker starts the flow,
// the victim enters the code, and the attacker's device gets the tokens.
// Entra marks the sign-in authenticationProtocol deviceCode, and the
// sign-ins that refresh its tokens originalTransferMethod deviceCodeFlow.
// It fires on a successful one for a user who had not used the flow before
// the allowed lateness, from a network (address block and autonomous
// system) the user had not used then, or from a hosting provider. Silent:
// trusted networks (administrators' CLI tools at the office), users who use
// the flow (meeting-room devices, CLI logins), their own networks.
type DeviceCode struct {
	policy *Policy
	opts   DeviceCodeOptions
}

// NewDeviceCode returns the device-code detector.
func NewDeviceCode(p *Policy, opts DeviceCodeOptions) *DeviceCode {
	return &DeviceCode{policy: p, opts: opts}
}

// Rules returns RuleDeviceCode.
func (d *DeviceCode) Rules() []*Rule { return []*Rule{RuleDeviceCode} }

// Reads asks for the sign-in history: the flows and networks the user used.
func (d *DeviceCode) Reads() History { return HistorySignIns }

// Detect fires high on a successful device-code sign-in or refresh that is
// new to the user, from a new or hosting network.
func (d *DeviceCode) Detect(ev *Event, out []Finding) []Finding {
	r, u := ev.Record, ev.User
	if u == nil || !r.SignIn.DeviceCode || !successfulSignIn(r) || !r.ClientIP.IsValid() || d.policy.IsTrustedNetwork(r.ClientIP) {
		return out
	}
	if u.SignIns.KnownBefore(state.FlowDeviceCode, ev.Settled()) {
		return out
	}
	var why string
	switch {
	case r.SignIn.ASN != 0 && slices.Contains(d.opts.HostingASNs, r.SignIn.ASN):
		why = fmt.Sprintf("from hosting provider AS%d", r.SignIn.ASN)
	case newAddress(ev, state.AddrOf(r.ClientIP), r.SignIn.ASN, state.At(r.Time)):
		why = "from a network the user had not signed in from"
	default:
		return out
	}
	flow := "signed in with a device code"
	if !r.SignIn.Interactive {
		flow = "refreshed a token issued to a device code"
	}
	return append(out, Finding{
		Rule:     RuleDeviceCode,
		Severity: SeverityHigh,
		Reason:   fmt.Sprintf("%s %s at %s %s (%s), and had never used the device code flow before.", r.User, flow, r.ClientAddress, why, stamp(r.Time)),
	})
}
