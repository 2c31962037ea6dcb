package emailcompromisefindingsconnector // import "github.com/otelsec/emailcompromise/connector/emailcompromisefindingsconnector"

import (
	"hash/fnv"
	"slices"
	"strconv"
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otelsec/emailcompromise/connector/emailcompromisefindingsconnector/internal/incident"
	"github.com/otelsec/emailcompromise/internal/auditrecord"
)

// The tags the email_compromise processor writes (docs/contract.md); the
// connector reads them and writes them again on its findings.
const (
	attrRules      = "detection.rules"
	attrSeverity   = "detection.severity"
	attrSeverities = "detection.severities"
	attrReason     = "detection.reason"
	attrTechnique  = "detection.technique"
	attrChainID    = "detection.chain.id"
	attrEvidence   = "detection.evidence"
	attrRuleName   = "security_rule.name"
	attrRuleCat    = "security_rule.category"
	attrRuleset    = "security_rule.ruleset.name"
	attrRuleRef    = "security_rule.reference"
)

// eventTime is a record's event time: its Timestamp, else when it was
// observed (0 when neither is set).
func eventTime(lr plog.LogRecord) int64 {
	if at := lr.Timestamp(); at != 0 {
		return int64(at)
	}
	return int64(lr.ObservedTimestamp())
}

// readRecord appends to obs one observation per rule tagged on lr, at the
// event time at, and reports whether lr carried tags at all.
func readRecord(lr plog.LogRecord, at int64, obs []incident.Observation) (_ []incident.Observation, tagged bool) {
	attrs := lr.Attributes()
	rulesVal, ok := attrs.Get(attrRules)
	if !ok || rulesVal.Type() != pcommon.ValueTypeSlice || rulesVal.Slice().Len() == 0 {
		return obs, false
	}
	rules := valuesOf(rulesVal.Slice())
	recordSeverity := incident.ParseSeverity(str(attrs, attrSeverity))
	var severities []string
	if v, ok := attrs.Get(attrSeverities); ok && v.Type() == pcommon.ValueTypeSlice && v.Slice().Len() == len(rules) {
		severities = valuesOf(v.Slice())
	}
	reason := str(attrs, attrReason)
	techniques := stringsOf(attrs, attrTechnique)
	evidence := stringsOf(attrs, attrEvidence)
	chainID := str(attrs, attrChainID)
	id := str(attrs, auditrecord.AttrRecordID)
	if id == "" {
		id = syntheticID(lr, rules, reason)
	}
	user, tenant := str(attrs, auditrecord.AttrUserName), str(attrs, auditrecord.AttrTenantName)
	fields := incident.Fields{
		Operation:     str(attrs, auditrecord.AttrOperation),
		Source:        str(attrs, auditrecord.AttrSource),
		ClientAddress: str(attrs, auditrecord.AttrClientAddress),
		Country:       str(attrs, auditrecord.AttrGeoCountry),
	}
	if fields.Operation == "" {
		fields.Operation = strings.Clone(lr.EventName())
	}
	top := topRule(rules, severities, recordSeverity)
	for i, rule := range rules {
		if rule == "" || slices.Contains(rules[:i], rule) {
			continue
		}
		o := incident.Observation{
			Tenant: tenant, User: user, Rule: rule, RecordID: id, Time: at, Severity: recordSeverity, ChainID: chainID,
			Evidence: evidence, Reason: reasonOf(reason, rule, rules), Techniques: techniques, Fields: fields,
		}
		if severities != nil {
			o.Severity = incident.ParseSeverity(severities[i])
		}
		if rule == top {
			o.Title, o.Ruleset, o.Reference = str(attrs, attrRuleName), str(attrs, attrRuleset), str(attrs, attrRuleRef)
		}
		obs = append(obs, o)
	}
	return obs, true
}

// topRule is the rule whose security_rule.* fields the record carries: the
// processor writes those of the first most severe detection. Without
// per-rule severities that is known only when the record has one rule.
func topRule(rules, severities []string, recordSeverity incident.Severity) string {
	if len(rules) == 1 {
		return rules[0]
	}
	for i, s := range severities {
		if incident.ParseSeverity(s) == recordSeverity {
			return rules[i]
		}
	}
	return ""
}

// reasonOf is the rule's own sentence of a record's reason: with several
// detections the processor prefixes each rule's sentences with its id.
func reasonOf(reason, rule string, rules []string) string {
	if len(rules) < 2 {
		return reason
	}
	start := strings.Index(reason, rule+": ")
	if start < 0 {
		return reason
	}
	start += len(rule) + 2
	end := len(reason)
	for _, other := range rules {
		if other == rule {
			continue
		}
		if i := strings.Index(reason[start:], " "+other+": "); i >= 0 && start+i < end {
			end = start + i
		}
	}
	return reason[start:end]
}

// syntheticID names a record without audit.record.id by its event time and
// tags, so that the same record delivered again is recognised.
func syntheticID(lr plog.LogRecord, rules []string, reason string) string {
	h := fnv.New64a()
	h.Write([]byte(strconv.FormatUint(uint64(lr.Timestamp()), 10)))
	h.Write([]byte(lr.EventName()))
	for _, r := range rules {
		h.Write([]byte{0})
		h.Write([]byte(r))
	}
	h.Write([]byte{0})
	h.Write([]byte(reason))
	return "noid-" + strconv.FormatUint(h.Sum64(), 16)
}

// str reads a string attribute as a copy, as valuesOf and strSlice do: a
// finding keeps what is read from a tagged record for its retention (7 days
// by default), and an attribute of a record our receiver decoded in this
// process is a slice of the record's whole text, which the finding would
// keep alive with it. Only tagged records are read.
func str(attrs pcommon.Map, key string) string {
	if v, ok := attrs.Get(key); ok && v.Type() == pcommon.ValueTypeStr {
		return strings.Clone(v.Str())
	}
	return ""
}

func stringsOf(attrs pcommon.Map, key string) []string {
	if v, ok := attrs.Get(key); ok && v.Type() == pcommon.ValueTypeSlice {
		return strSlice(v.Slice())
	}
	return nil
}

// valuesOf reads a slice as it is, index for index, for slices read in
// parallel (rules and their severities).
func valuesOf(s pcommon.Slice) []string {
	out := make([]string, s.Len())
	for i := range out {
		if v := s.At(i); v.Type() == pcommon.ValueTypeStr {
			out[i] = strings.Clone(v.Str())
		}
	}
	return out
}

// strSlice reads the distinct non-empty strings of a slice.
func strSlice(s pcommon.Slice) []string {
	out := make([]string, 0, s.Len())
	for i := 0; i < s.Len(); i++ {
		if v := s.At(i); v.Type() == pcommon.ValueTypeStr && v.Str() != "" && !slices.Contains(out, v.Str()) {
			out = append(out, strings.Clone(v.Str()))
		}
	}
	return out
}
