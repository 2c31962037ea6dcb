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

// Severities, lowest first; the zero Severity is none (ParseSeverity of an
// unknown value).
const (
	// SeverityLow is a weak sign alone, such as a new country: it matters
	// as a stage of a chain.
	SeverityLow Severity = iota + 1
	// SeverityMedium is worth a look: a legacy protocol, an anonymizer,
	// a grant inside the organisation.
	SeverityMedium
	// SeverityHigh is likely an attack: mail forwarded outside, a
	// brute-forced or impossible sign-in.
	SeverityHigh
	// SeverityCritical is an attack in progress: an account takeover chain,
	// forwarding that keeps no copy, a payment-themed hijacked thread.
	SeverityCritical
)

// String is the detection.severity value: "low", "medium", "high",
// "critical", or "" for none.
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
	// CategorySessionHijack is a session or token used from a second network.
	CategorySessionHijack = "session_hijack"
	// CategoryPersistence is what keeps the access: MFA methods, devices,
	// OAuth consents.
	CategoryPersistence = "persistence"
	// CategoryMailCollection is a mailbox read or synced far above its
	// baseline.
	CategoryMailCollection = "mail_collection"
)

// MITRE ATT&CK techniques the built-in detectors name.
const (
	TechniqueEmailAccounts      = "T1586.002" // Compromise Accounts: Email Accounts
	TechniqueEmailForwarding    = "T1114.003" // Email Collection: Email Forwarding Rule
	TechniqueEmailHidingRules   = "T1564.008" // Hide Artifacts: Email Hiding Rules
	TechniqueAdditionalEmailDel = "T1098.002" // Account Manipulation: Additional Email Delegate Permissions
	TechniqueWebSessionCookie   = "T1550.004" // Use Alternate Authentication Material: Web Session Cookie
	TechniqueStealToken         = "T1528"     // Steal Application Access Token
	TechniqueDeviceRegistration = "T1098.005" // Account Manipulation: Device Registration
	TechniqueMFAModify          = "T1556.006" // Modify Authentication Process: Multi-Factor Authentication
	TechniqueRemoteEmail        = "T1114.002" // Email Collection: Remote Email Collection
	TechniqueBruteForce         = "T1110"     // Brute Force
)

// Rule describes one stable detection id.
type Rule struct {
	// ID is "<category>/<name>", stable across releases.
	ID string
	// Category is the first part of ID, one of the Category constants; the
	// chain reads it to tell the stage of a compromise a finding is.
	Category string
	// Title is the human name written to security_rule.name.
	Title string
	// Techniques are the MITRE ATT&CK technique ids (T1114.003) the
	// behaviour is.
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
	// Attempt marks rules that fire on failures (a spray with no success
	// yet, lockouts): no access was gained, so they are no chain stage.
	Attempt bool
}

// MaxEvidence caps the records a detection names as its evidence.
const MaxEvidence = 16

// Evidence is one record a detection rests on: its id and event time.
type Evidence struct {
	ID state.RecordID // the record's id; zero when the record has none
	At time.Time      // the record's event time
}

// Status says whether a finding is news.
type Status uint8

const (
	// StatusNew is a detection tagged for the first time: counted and logged.
	StatusNew Status = iota
	// StatusRepeat is a detection tagged before on this same record,
	// delivered again (a retried batch, a Kafka re-delivery): tagged again,
	// not counted.
	StatusRepeat
	// StatusUpstream is a tag an earlier collector of ours wrote.
	StatusUpstream
)

// Finding is one detection, carried by the record being judged.
type Finding struct {
	// Rule is the detection id the finding reports.
	Rule *Rule
	// Severity is this finding's, which may differ from one record to the
	// next for the same rule (an external destination raises it).
	Severity Severity
	// Reason is one sentence with the evidence.
	Reason string
	// ChainID is set by the chain detector on records of a detected chain.
	ChainID string
	// User is whose detection it is, when not the record's user (a
	// password spray's success, completed by another user's failure).
	User string
	// Evidence are the records the detection rests on; nil means the
	// record being judged. With Rule and User they are the detection's
	// identity, whichever record carries it.
	Evidence []Evidence
	// Anchors are the records that become stages of a compromise (for the
	// chain and for thread hijacking): nil means the record being judged;
	// impossible travel names the end that is not the user's.
	Anchors []state.Stage
	// Status is set by the suite: whether the detection is new, a repeat on
	// a record delivered again, or adopted from an upstream tag.
	Status Status
}

// Event is what a detector sees of one record.
type Event struct {
	Record *auditrecord.Record
	// Body is the vendor record as already decoded (the log body, or the
	// processor's one decoding of a JSON string body); never decode again.
	Body pcommon.Map
	// Attributes are the log record's attributes.
	Attributes pcommon.Map
	// User is the state of Record.User; nil when the record names no user.
	// The suite sets it to nil when the record arrived later than the
	// allowed lateness, and Late to true: it is then judged alone, by the
	// rules that need no history.
	User *state.User
	Late bool
	// Now is the processing time (wall clock); event time is Record.Time.
	Now time.Time
	// Lateness is allowed_lateness: a baseline is read as it stood at the
	// record's time minus Lateness, before which every record that will
	// ever be learned has arrived, so that the verdict does not depend on
	// arrival order.
	Lateness time.Duration
	// NewStages are the stages detections on this record added so far.
	NewStages []NewStage
	// Users looks up another user's state (nil if unknown).
	Users func(user string) *state.User

	// owner is Record.User's state even when the record is judged alone:
	// what was tagged before is still known.
	owner   *state.User
	id      state.RecordID
	idKnown bool
}

// NewStage is a stage added while judging the record, with its user.
type NewStage struct {
	User  string      // whose compromise the stage is
	State *state.User // that user's state, which holds the stage
	Stage state.Stage // the stage as added
}

// RecordID is the judged record's id as state keeps it.
func (ev *Event) RecordID() state.RecordID {
	if !ev.idKnown {
		ev.id, ev.idKnown = state.IDOf(ev.Record.ID), true
	}
	return ev.id
}

// Settled is the event time before which the record's user's history is
// complete: the record's time minus the allowed lateness.
func (ev *Event) Settled() state.Sec { return state.SecOf(ev.Record.Time.Add(-ev.Lateness)) }

// Detector finds behaviours in one record.
type Detector interface {
	// Detect appends the findings of ev to out and returns it: detections
	// of the record itself, and detections of other records that this one
	// completes (a late failure completing a burst, a late sign-in pairing
	// with a later one).
	Detect(ev *Event, out []Finding) []Finding
	// Rules lists every rule the detector can report, for documentation and
	// for the metrics' rule attribute.
	Rules() []*Rule
}

// History names the histories the suite keeps for the detectors that read
// them (see HistoryReader).
type History uint8

const (
	// HistorySignIns is the user's sign-in baseline and timeline.
	HistorySignIns History = 1 << iota
	// HistorySends is the mailbox's sends.
	HistorySends
	// HistoryAccountChanges is the account's recent security-info, device
	// and mail-consent changes.
	HistoryAccountChanges
)

// HistoryReader is implemented by detectors that read the histories the
// suite learns for them; with none enabled, the suite learns none.
type HistoryReader interface {
	// Reads names the histories the detector reads; the suite learns their
	// union.
	Reads() History
}

// Learner is implemented by detectors that keep state of their own. The
// suite calls Learn before any Detect on the same record, so that a record
// meets its neighbours on both sides in event time; detectors exclude the
// record itself where it matters, and read baselines only as they stood
// before Event.Settled.
type Learner interface {
	Learn(ev *Event)
}
