// Package detection holds the built-in detectors. Each file is one detector
// with its table of cases beside it; a detector reads the normalised record,
// the organisation policy and the user's state, and returns findings. It never
// writes attributes: the processor's tag writer does, once per record.
package detection // import "github.com/otelsec/emailcompromise/processor/emailcompromiseprocessor/internal/detection"

import (
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/otelsec/emailcompromise/internal/auditrecord"
	"github.com/otelsec/emailcompromise/processor/emailcompromiseprocessor/internal/state"
)

// Severity orders findings; the record's detection.severity is the highest.
type Severity uint8

const (
	SeverityLow Severity = iota + 1
	SeverityMedium
	SeverityHigh
	SeverityCritical
)

func (s Severity) String() string {
	switch s {
	case SeverityLow:
		return "low"
	case SeverityMedium:
		return "medium"
	case SeverityHigh:
		return "high"
	case SeverityCritical:
		return "critical"
	}
	return ""
}

// ParseSeverity reads a detection.severity value (0 when unknown).
func ParseSeverity(s string) Severity {
	for sev := SeverityLow; sev <= SeverityCritical; sev++ {
		if sev.String() == s {
			return sev
		}
	}
	return 0
}

// Categories of detection ids (fixed by the tag contract).
const (
	CategoryRiskySignIn      = "risky_sign_in"
	CategoryImpossibleTravel = "impossible_travel"
	CategoryMailboxRule      = "mailbox_rule"
	CategoryBulkSend         = "bulk_send"
	CategoryThreadHijack     = "thread_hijack"
	CategoryChain            = "chain"
	CategorySigma            = "sigma"
)

// MITRE ATT&CK techniques the built-in detectors name.
const (
	TechniqueEmailAccounts      = "T1586.002" // Compromise Accounts: Email Accounts
	TechniqueEmailForwarding    = "T1114.003" // Email Collection: Email Forwarding Rule
	TechniqueEmailHidingRules   = "T1564.008" // Hide Artifacts: Email Hiding Rules
	TechniqueAdditionalEmailDel = "T1098.002" // Account Manipulation: Additional Email Delegate Permissions
)

// Rule describes one stable detection id.
type Rule struct {
	// ID is "<category>/<name>", stable across releases.
	ID       string
	Category string
	// Title is the human name written to security_rule.name.
	Title      string
	Techniques []string
	// Reference points to documentation of the behaviour.
	Reference string
	// Ruleset names where the rule comes from ("" for the built-in
	// detectors; Sigma rules name their own).
	Ruleset string
	// NeedsHistory marks rules that judge a record against the user's
	// learned history; during a warm-up (state rebuilt after a restart
	// without snapshot or a partition take-over) they are held back rather
	// than fire on a baseline that is not there.
	NeedsHistory bool
}

// Finding is one detection on one record.
type Finding struct {
	Rule     *Rule
	Severity Severity
	// Reason is one sentence with the evidence.
	Reason string
	// ChainID is set by the chain detector on records of a detected chain.
	ChainID string
}

// Event is what a detector sees of one record.
type Event struct {
	Record *auditrecord.Record
	// Body is the vendor record as already decoded (the log body, or the
	// processor's one decoding of a JSON string body); never decode again.
	Body pcommon.Map
	// Attributes are the log record's attributes.
	Attributes pcommon.Map
	// User is the state of Record.User, nil when the record names no user.
	User *state.User
	// Now is the processing time (wall clock); event time is Record.Time.
	Now time.Time
}

// Detector finds behaviours in one record.
type Detector interface {
	// Detect appends the findings of ev to out and returns it.
	Detect(ev *Event, out []Finding) []Finding
	// Rules lists every rule the detector can report, for documentation and
	// for the metrics' rule attribute.
	Rules() []*Rule
}

// Learner is implemented by detectors that learn from records (baselines,
// familiar places, recent failures). The processor calls Learn after every
// detector's Detect on the same record, so each detector judges a record
// against what was known before it.
type Learner interface {
	Learn(ev *Event)
}
