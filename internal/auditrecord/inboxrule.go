package auditrecord

import (
	"encoding/json"
	"fmt"
	"github.com/otelsec/emailcompromise/internal/asciifold"
	"strconv"
	"strings"
	"unicode"
)

// InboxRule is what an inbox rule does, whichever record described it: the
// New-InboxRule / Set-InboxRule cmdlet's parameters (Exchange admin audit,
// Outlook on the web, PowerShell) or an UpdateInboxRules record of the
// mailbox audit (rules made in desktop Outlook), whose OperationProperties
// carry the actions as JSON text.
type InboxRule struct {
	Name string
	// ForwardTo holds every forward, forward-as-attachment and redirect
	// recipient, normalised.
	ForwardTo  []string
	Deletes    bool
	MoveTo     string // the folder's own name
	MarkAsRead bool
	// StopsOthers: the rule stops processing further rules.
	StopsOthers bool
	// Conditions are the condition words and texts.
	Conditions []string
	// SizeMax is WithinSizeRangeMaximum in bytes, 0 if none.
	SizeMax int64
}

// InboxRule reads the inbox rule the record creates or changes. It reports
// false for any other record, and for an UpdateInboxRules record that
// removes a rule (deleting a rule hides nothing). It is read on demand, not
// by Parse: few records are rule changes.
func (r *Record) InboxRule() (InboxRule, bool) {
	if r.Kind != KindMailboxChange || r.Source != SourceO365 {
		return InboxRule{}, false
	}
	switch {
	case asciifold.Equal(r.Operation, "New-InboxRule"), asciifold.Equal(r.Operation, "Set-InboxRule"):
		return ruleFromCmdlet(r), true
	case asciifold.Equal(r.Operation, "UpdateInboxRules"):
		return ruleFromMailboxAudit(r)
	}
	return InboxRule{}, false
}

// ruleFromCmdlet reads New-InboxRule / Set-InboxRule parameters.
func ruleFromCmdlet(r *Record) InboxRule {
	var rule InboxRule
	for _, p := range r.Parameters {
		switch strings.ToLower(p.Name) {
		case "name":
			rule.Name = p.Value
		case "identity":
			if rule.Name == "" {
				// "bob@contoso.com\RuleName" or just "RuleName".
				rule.Name = p.Value[strings.LastIndexByte(p.Value, '\\')+1:]
			}
		case "forwardto", "forwardasattachmentto", "redirectto":
			rule.ForwardTo = append(rule.ForwardTo, SplitAddresses(p.Value)...)
		case "deletemessage", "softdeletemessage":
			rule.Deletes = rule.Deletes || isTrue(p.Value)
		case "movetofolder":
			rule.MoveTo = folderName(p.Value)
		case "markasread":
			rule.MarkAsRead = isTrue(p.Value)
		case "stopprocessingrules":
			rule.StopsOthers = isTrue(p.Value)
		case "subjectcontainswords", "subjectorbodycontainswords", "bodycontainswords",
			"fromaddresscontainswords", "headercontainswords", "recipientaddresscontainswords":
			rule.Conditions = append(rule.Conditions, p.Value)
		case "withinsizerangemaximum":
			rule.SizeMax = ExchangeSize(p.Value)
		}
	}
	return rule
}

// ruleFromMailboxAudit reads an UpdateInboxRules record. Its RuleActions is
// a JSON array as text (or, in some exports, free text) and its RuleState
// "ExitAfterExecution" is Outlook's stop-processing flag.
func ruleFromMailboxAudit(r *Record) (InboxRule, bool) {
	var rule InboxRule
	if op, _ := r.OperationProperty("RuleOperation"); strings.Contains(strings.ToLower(op), "remove") {
		return rule, false
	}
	rule.Name, _ = r.OperationProperty("RuleName")
	if state, ok := r.OperationProperty("RuleState"); ok {
		rule.StopsOthers = strings.Contains(strings.ToLower(state), "exitafterexecution")
	}
	if cond, ok := r.OperationProperty("RuleCondition"); ok && cond != "" {
		rule.Conditions = append(rule.Conditions, cond)
	}
	actions, _ := r.OperationProperty("RuleActions")
	readRuleActions(actions, &rule)
	return rule, true
}

// readRuleActions understands both the JSON form
// [{"ActionType":"Forward","Recipients":["x@evil.io"]}, {"ActionType":"Move","FolderName":"RSS Feeds"}]
// and free text ("Forward to x@evil.io"), taking every address it finds as a
// recipient of a forwarding action.
func readRuleActions(text string, rule *InboxRule) {
	trimmed := strings.TrimSpace(text)
	var actions []map[string]any
	if strings.HasPrefix(trimmed, "[") && json.Unmarshal([]byte(trimmed), &actions) == nil {
		for _, a := range actions {
			kind := strings.ToLower(fmt.Sprint(a["ActionType"]))
			applyRuleAction(kind, rule)
			if strings.Contains(kind, "forward") || strings.Contains(kind, "redirect") {
				rule.ForwardTo = append(rule.ForwardTo, addressesIn(a)...)
			}
			for _, key := range [...]string{"FolderName", "DestinationFolder", "Folder"} {
				if f, ok := a[key].(string); ok && f != "" {
					rule.MoveTo = folderName(f)
				}
			}
		}
		return
	}
	lower := strings.ToLower(trimmed)
	applyRuleAction(lower, rule)
	if strings.Contains(lower, "forward") || strings.Contains(lower, "redirect") {
		rule.ForwardTo = append(rule.ForwardTo, addressesInText(trimmed)...)
	}
}

func applyRuleAction(kind string, rule *InboxRule) {
	switch {
	case strings.Contains(kind, "delete"):
		rule.Deletes = true
	case strings.Contains(kind, "markasread"), strings.Contains(kind, "markread"), strings.Contains(kind, "mark as read"):
		rule.MarkAsRead = true
	}
}

// addressesIn collects every address-like string anywhere inside v (the
// recipient lists of rule actions nest differently across Outlook versions).
func addressesIn(v any) []string {
	var out []string
	switch t := v.(type) {
	case string:
		out = append(out, addressesInText(t)...)
	case []any:
		for _, e := range t {
			out = append(out, addressesIn(e)...)
		}
	case map[string]any:
		for k, e := range t {
			if k != "ActionType" {
				out = append(out, addressesIn(e)...)
			}
		}
	}
	return out
}

// addressesInText finds addresses and legacy DNs in free text.
func addressesInText(text string) []string {
	var out []string
	for _, tok := range strings.FieldsFunc(text, func(r rune) bool {
		return unicode.IsSpace(r) || strings.ContainsRune(`,;"'()[]{}<>`, r)
	}) {
		if strings.Contains(tok, "@") || IsLegacyDN(tok) {
			if a := NormalizeAddress(tok); a != "" {
				out = append(out, a)
			}
		}
	}
	return out
}

// folderName reduces "bob@contoso.com:\RSS Feeds" or "\Inbox\Junk" to the
// folder's own name.
func folderName(path string) string {
	return strings.TrimSpace(path[strings.LastIndexAny(path, `\/`)+1:])
}

func isTrue(v string) bool { return strings.EqualFold(strings.TrimSpace(v), "true") }

// sizeUnits are the units Exchange writes sizes in (ByteQuantifiedSize).
var sizeUnits = map[string]int64{"b": 1, "bytes": 1, "kb": 1 << 10, "mb": 1 << 20, "gb": 1 << 30, "tb": 1 << 40}

// ExchangeSize reads a size as Exchange writes it: "10 KB (10,240 bytes)"
// (the byte count in brackets wins), "5 KB", "1.5 MB", "10240" or
// "10,240 B". It returns 0 for anything it cannot read.
func ExchangeSize(v string) int64 {
	if open := strings.IndexByte(v, '('); open >= 0 {
		digits := strings.Map(func(r rune) rune {
			if r >= '0' && r <= '9' {
				return r
			}
			return -1
		}, v[open:])
		if n, err := strconv.ParseInt(digits, 10, 64); err == nil {
			return n
		}
		v = v[:open]
	}
	fields := strings.Fields(strings.ReplaceAll(strings.TrimSpace(v), ",", ""))
	if len(fields) == 1 { // "5KB" or a plain count
		f := fields[0]
		i := strings.IndexFunc(f, func(r rune) bool { return unicode.IsLetter(r) })
		if i > 0 {
			fields = []string{f[:i], f[i:]}
		}
	}
	if len(fields) == 0 || len(fields) > 2 {
		return 0
	}
	n, err := strconv.ParseFloat(fields[0], 64)
	if err != nil || n < 0 {
		return 0
	}
	unit := int64(1)
	if len(fields) == 2 {
		u, ok := sizeUnits[strings.ToLower(fields[1])]
		if !ok {
			return 0
		}
		unit = u
	}
	return int64(n * float64(unit))
}
