// Package incident groups the detections tagged on log records into
// incidents: one finding per user, rule and stretch of event time in which
// the rule's records follow each other within the quiet period (for the
// account-takeover chain: one per chain id). Everything a finding holds is a
// function of the set of records that joined it, never of the order they
// came in, so that a replay, a re-delivery or another arrival order yields
// the same findings with the same uids.
package incident // import "github.com/otelsec/emailcompromise/connector/emailcompromisefindingsconnector/internal/incident"

import (
	"cmp"
	"hash/fnv"
	"slices"
	"strconv"
	"strings"
)

// Severity is a detection.severity value; the zero value is unknown.
type Severity uint8

const (
	SeverityLow Severity = iota + 1
	SeverityMedium
	SeverityHigh
	SeverityCritical
)

var severityNames = [...]string{"", "low", "medium", "high", "critical"}

func (s Severity) String() string {
	if int(s) < len(severityNames) {
		return severityNames[s]
	}
	return ""
}

// ParseSeverity reads a detection.severity value (0 when unknown).
func ParseSeverity(s string) Severity {
	for i := SeverityLow; i <= SeverityCritical; i++ {
		if severityNames[i] == s {
			return i
		}
	}
	return 0
}

// chainCategory is the category of the account-takeover chain, whose
// incident is its chain id rather than a stretch of time: a chain's records
// share the id however far apart its abuses are.
const chainCategory = "chain"

// IsChain reports whether rule is a chain rule.
func IsChain(rule string) bool { return strings.HasPrefix(rule, chainCategory+"/") }

// Fields are the key fields of one record, shown with it as evidence.
type Fields struct {
	Operation     string
	Source        string
	ClientAddress string
	Country       string
}

// Observation is one rule tagged on one record.
type Observation struct {
	// Tenant is the record's tenant.name ("" for a single tenant): one
	// address in two tenants is two users.
	Tenant   string
	User     string
	Rule     string
	RecordID string
	// Time is the record's event time (Unix nanoseconds).
	Time     int64
	Severity Severity
	// Evidence are the record's detection.evidence ids.
	Evidence []string
	ChainID  string
	Reason   string
	// Techniques are the record's MITRE technique ids.
	Techniques []string
	// Title, Ruleset and Reference describe the rule when the record's
	// security_rule.* fields are this rule's ("" otherwise).
	Title, Ruleset, Reference string
	Fields                    Fields
}

// Status is where a finding stands, as last emitted.
type Status uint8

const (
	// StatusPending: never emitted (no record of a severity that opens a
	// finding yet).
	StatusPending Status = iota
	StatusOpen
	StatusClosed
	// StatusSuperseded: merged into another finding or renamed because an
	// earlier record joined; its last emission links to its successor.
	StatusSuperseded
)

func (s Status) String() string {
	return [...]string{"pending", "open", "closed", "superseded"}[s]
}

// Evidence is one record of a finding.
type Evidence struct {
	ID     string
	At     int64
	Fields Fields
}

// Ref is an evidence id the detections named, with the earliest event time
// of a record that named it.
type Ref struct {
	ID string
	At int64
}

// Finding is one incident. Fields are exported for the snapshot.
type Finding struct {
	// Tenant is the tenant.name of the finding's records ("" for a single
	// tenant).
	Tenant     string
	User, Rule string
	// Group is the chain id of a chain finding, "" otherwise.
	Group string
	// First and Last are the event times of the earliest and the latest
	// record; FirstID is the earliest record's id (ties: the smallest id),
	// from which the uid is made.
	First, Last int64
	FirstID     string
	// Members are the hashed ids of the records that joined, sorted, at
	// most MaxMembers; Overflow counts the records beyond (counted, no
	// longer deduplicated).
	Members  []uint64
	Overflow int
	// Severity is the highest of the records; Reason the reason of the
	// earliest record of that severity (TopAt, TopID).
	Severity   Severity
	TopAt      int64
	TopID      string
	Reason     string
	Title      string
	Ruleset    string
	Reference  string
	Techniques []string
	Evidence   []Evidence
	Refs       []Ref
	// Stages are the hashed evidence ids of a chain: the records of its
	// stages, which link it to the stages' findings.
	Stages []uint64
	// Chains are the chain ids the records of a stage finding carried.
	Chains []string
	// SrcAt, SrcID, SrcIP: the client address of the earliest record that
	// had one.
	SrcAt int64
	SrcID string
	SrcIP string
	// Links are the uids of a chain's stage findings.
	Links []string

	// UID is the uid last emitted ("" never emitted), Revision the
	// revision last emitted, Status the status last emitted.
	UID      string
	Revision int
	Status   Status
	// Created is the wall-clock time of the first emission (Unix ns).
	Created int64
	// Dirty: changed since its last emission.
	Dirty bool
	// SupersededBy is the uid of the finding that replaced a superseded
	// one (filled when it is snapshotted before its last emission).
	SupersededBy string

	successor *Finding
	removed   bool
}

// Count is the number of distinct records that joined.
func (f *Finding) Count() int { return len(f.Members) + f.Overflow }

// Category is the rule's category (the part before the slash).
func (f *Finding) Category() string {
	c, _, _ := strings.Cut(f.Rule, "/")
	return c
}

// Successor is the uid of the finding that superseded this one.
func (f *Finding) Successor() string {
	if f.successor != nil {
		return f.successor.uid()
	}
	return f.SupersededBy
}

// uid names the finding by its user, its rule and its earliest record (a
// chain: its chain id, itself named by the user and the access record), so
// that every arrival order and every replay yield the same uid.
func (f *Finding) uid() string {
	h := fnv.New64a()
	if f.Tenant != "" {
		h.Write([]byte(f.Tenant))
		h.Write([]byte{0})
	}
	h.Write([]byte(f.User))
	h.Write([]byte{0})
	h.Write([]byte(f.Rule))
	h.Write([]byte{0})
	if f.Group != "" {
		h.Write([]byte(f.Group))
	} else {
		h.Write([]byte(f.FirstID))
	}
	return "ecf-" + strconv.FormatUint(h.Sum64(), 16)
}

// hashID is how members and stages are remembered: 8 bytes a record.
func hashID(id string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(id))
	return h.Sum64()
}

// before orders (time, id) pairs: earlier first, then the smaller id.
func before(at int64, id string, at2 int64, id2 string) bool {
	return at < at2 || (at == at2 && id < id2)
}

// insertSorted adds v to the sorted set s unless present or s holds max
// values already; it reports whether s holds v afterwards.
func insertSorted[T cmp.Ordered](s []T, v T, max int) ([]T, bool) {
	i, found := slices.BinarySearch(s, v)
	if found {
		return s, true
	}
	if len(s) >= max {
		return s, false
	}
	return slices.Insert(s, i, v), true
}

// keepSmallest adds v to s, a set sorted by less holding at most max
// values, keeping the max smallest: whatever order values come in, s ends
// as the max smallest of them all.
func keepSmallest[T any](s []T, v T, max int, less func(a, b T) bool) []T {
	i, _ := slices.BinarySearchFunc(s, v, func(a, b T) int {
		if less(a, b) {
			return -1
		}
		if less(b, a) {
			return 1
		}
		return 0
	})
	if i >= max {
		return s
	}
	s = slices.Insert(s, i, v)
	if len(s) > max {
		s = s[:max]
	}
	return s
}

func evidenceLess(a, b Evidence) bool { return before(a.At, a.ID, b.At, b.ID) }
func refLess(a, b Ref) bool           { return before(a.At, a.ID, b.At, b.ID) }

// addRef records that a record at `at` named id as evidence.
func addRef(refs []Ref, id string, at int64, max int) []Ref {
	if i := slices.IndexFunc(refs, func(r Ref) bool { return r.ID == id }); i >= 0 {
		if at >= refs[i].At {
			return refs
		}
		refs = slices.Delete(refs, i, i+1)
	}
	return keepSmallest(refs, Ref{ID: id, At: at}, max, refLess)
}

// userKey is the key of a user's findings: the tenant and the address.
func userKey(tenant, user string) string {
	if tenant == "" {
		return user
	}
	return tenant + "\x00" + user
}
