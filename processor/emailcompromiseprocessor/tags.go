package emailcompromiseprocessor // import "github.com/otelsec/emailcompromise/processor/emailcompromiseprocessor"

import (
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/otelsec/emailcompromise/processor/emailcompromiseprocessor/internal/detection"
)

// Tag attributes written on every record where a detection fired (the tag
// contract of docs/contract.md: frozen, add never rename).
const (
	AttrDetectionRules    = "detection.rules"
	AttrDetectionSeverity = "detection.severity"
	// AttrDetectionSeverities is each rule's own severity, index for index
	// with detection.rules: a record carrying several detections has one
	// detection.severity (the highest), and a consumer grouping records by
	// rule (the findings connector) needs each rule's.
	AttrDetectionSeverities = "detection.severities"
	AttrDetectionReason     = "detection.reason"
	AttrDetectionTechnique  = "detection.technique"
	AttrDetectionChainID    = "detection.chain.id"
	AttrDetectionEvidence   = "detection.evidence"
	AttrRuleName            = "security_rule.name"
	AttrRuleCategory        = "security_rule.category"
	AttrRuleRuleset         = "security_rule.ruleset.name"
	AttrRuleReference       = "security_rule.reference"
)

// builtinRuleset names the ruleset of the built-in detectors.
const builtinRuleset = "email_compromise"

// writeTags writes the tag contract for findings (at least one) onto attrs:
// every rule id once with its highest severity, the highest severity, one
// reason per rule (that of its most severe finding), the union
// of techniques and of evidence, and the semconv security_rule fields of
// the most severe.
func writeTags(attrs pcommon.Map, findings []detection.Finding) {
	top := &findings[0]
	var chainID string
	rules := attrs.PutEmptySlice(AttrDetectionRules)
	rules.EnsureCapacity(len(findings))
	severities := attrs.PutEmptySlice(AttrDetectionSeverities)
	severities.EnsureCapacity(len(findings))
	techniques := attrs.PutEmptySlice(AttrDetectionTechnique)
	evidence := attrs.PutEmptySlice(AttrDetectionEvidence)
	// best is each rule's most severe finding (the first on a tie), whose
	// reason the record carries: the reason says why the severity is what
	// it is.
	best := make([]*detection.Finding, 0, len(findings))
	for i := range findings {
		f := &findings[i]
		if f.Severity > top.Severity {
			top = f
		}
		if f.ChainID != "" {
			chainID = f.ChainID
		}
		for _, e := range f.Evidence {
			if id := e.ID.String(); id != "" && evidence.Len() < detection.MaxEvidence && !containsStr(evidence, id) {
				evidence.AppendEmpty().SetStr(id)
			}
		}
		if i := indexStr(rules, f.Rule.ID); i >= 0 {
			if f.Severity > best[i].Severity {
				best[i] = f
				severities.At(i).SetStr(f.Severity.String())
			}
			continue
		}
		rules.AppendEmpty().SetStr(f.Rule.ID)
		severities.AppendEmpty().SetStr(f.Severity.String())
		best = append(best, f)
		for _, t := range f.Rule.Techniques {
			if !containsStr(techniques, t) {
				techniques.AppendEmpty().SetStr(t)
			}
		}
	}
	var reason strings.Builder
	for _, f := range best {
		if f.Reason == "" {
			continue // an adopted upstream rule whose reason an earlier one carries
		}
		if reason.Len() > 0 {
			reason.WriteString(" ")
		}
		if len(findings) > 1 && !strings.Contains(f.Reason, f.Rule.ID+": ") {
			reason.WriteString(f.Rule.ID)
			reason.WriteString(": ")
		}
		reason.WriteString(f.Reason)
	}
	attrs.PutStr(AttrDetectionSeverity, top.Severity.String())
	attrs.PutStr(AttrDetectionReason, reason.String())
	if chainID != "" {
		attrs.PutStr(AttrDetectionChainID, chainID)
	}
	attrs.PutStr(AttrRuleName, top.Rule.Title)
	attrs.PutStr(AttrRuleCategory, top.Rule.Category)
	attrs.PutStr(AttrRuleRuleset, rulesetOf(top.Rule))
	if top.Rule.Reference != "" {
		attrs.PutStr(AttrRuleReference, top.Rule.Reference)
	}
}

// evidenceIDs lists a finding's evidence ids, for the detection log line.
func evidenceIDs(evidence []detection.Evidence) []string {
	ids := make([]string, 0, len(evidence))
	for _, e := range evidence {
		ids = append(ids, e.ID.String())
	}
	return ids
}

func rulesetOf(r *detection.Rule) string {
	if r.Ruleset != "" {
		return r.Ruleset
	}
	return builtinRuleset
}

func containsStr(s pcommon.Slice, v string) bool { return indexStr(s, v) >= 0 }

func indexStr(s pcommon.Slice, v string) int {
	for i := 0; i < s.Len(); i++ {
		if s.At(i).Str() == v {
			return i
		}
	}
	return -1
}
