package sigma

import "fmt"

// RuleError is one rule, document or file that could not be loaded.
type RuleError struct {
	File string
	Line int
	// Rule names the rule ("title" (id)) when the document got that far.
	Rule   string
	Reason string
}

func (e *RuleError) Error() string {
	loc := e.File
	if e.Line > 0 {
		loc = fmt.Sprintf("%s:%d", e.File, e.Line)
	}
	if e.Rule != "" {
		return fmt.Sprintf("%s: rule %s: %s", loc, e.Rule, e.Reason)
	}
	return loc + ": " + e.Reason
}

// InactiveRule is a valid rule whose logsource maps to no source we receive
// (or a correlation that depends on such rules).
type InactiveRule struct {
	File      string
	Line      int
	Rule      string
	Logsource string
}

// RuleNote is something loading did to a valid rule that its author should
// know: a Sigma v1 form translated, a filter that does not apply.
type RuleNote struct {
	File string
	Line int
	Rule string
	Note string
}

func (n RuleNote) String() string {
	return fmt.Sprintf("%s:%d: rule %s: %s", n.File, n.Line, n.Rule, n.Note)
}

// Report says what loading did.
type Report struct {
	Files int
	// Loaded counts the active detection and correlation rules.
	Loaded int
	// Filters counts the Sigma filters applied to at least one rule.
	Filters  int
	Inactive []InactiveRule
	Errors   []*RuleError
	Notes    []RuleNote
}

// Summary is one line for the log.
func (r *Report) Summary() string {
	return fmt.Sprintf("%d Sigma rules loaded from %d files (%d filters), %d inactive (logsource not received), %d rejected",
		r.Loaded, r.Files, r.Filters, len(r.Inactive), len(r.Errors))
}
