package detection

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/otelsec/emailcompromise/internal/auditrecord"
)

var (
	RuleInboxRuleForward = &Rule{
		ID:         CategoryMailboxRule + "/inbox_rule_external_forward",
		Category:   CategoryMailboxRule,
		Title:      "Inbox rule forwards or redirects mail outside the organisation",
		Techniques: []string{TechniqueEmailAccounts, TechniqueEmailForwarding},
		Reference:  "https://attack.mitre.org/techniques/T1114/003/",
	}
	RuleInboxRuleHiding = &Rule{
		ID:         CategoryMailboxRule + "/inbox_rule_hiding",
		Category:   CategoryMailboxRule,
		Title:      "Inbox rule hides mail from the mailbox owner",
		Techniques: []string{TechniqueEmailAccounts, TechniqueEmailHidingRules},
		Reference:  "https://attack.mitre.org/techniques/T1564/008/",
	}
)

// DefaultRuleKeywords are condition words that BEC rules filter on to hide
// the victim's replies and the bank's or IT's warnings.
var DefaultRuleKeywords = []string{"invoice", "payment", "wire", "bank", "password", "hacked", "phish", "security", "alert"}

// DefaultHidingFolders are folders users rarely open; rules moving mail there
// bury it. The first three are strong signs on their own.
var DefaultHidingFolders = []string{"RSS Subscriptions", "RSS Feeds", "Conversation History", "Deleted Items", "Archive", "Junk Email"}

// strongHidingFolders are where no legitimate rule usually files mail.
var strongHidingFolders = map[string]bool{"rss subscriptions": true, "rss feeds": true, "conversation history": true, "deleted items": true}

// InboxRuleOptions tune the inbox-rule detector.
type InboxRuleOptions struct {
	Keywords      []string
	HidingFolders []string
}

// InboxRule detects inbox rules that forward mail out of the organisation or
// hide it from the owner: New-InboxRule / Set-InboxRule (Exchange admin
// audit, Outlook on the web, PowerShell) and UpdateInboxRules (rules made in
// desktop Outlook, recorded in the mailbox audit with their actions in
// OperationProperties).
type InboxRule struct {
	policy        *Policy
	keywords      []string
	hidingFolders map[string]bool
}

// NewInboxRule returns the detector; empty options take the defaults.
func NewInboxRule(p *Policy, opts InboxRuleOptions) *InboxRule {
	d := &InboxRule{policy: p, keywords: lowerAll(opts.Keywords), hidingFolders: map[string]bool{}}
	if len(d.keywords) == 0 {
		d.keywords = DefaultRuleKeywords
	}
	folders := opts.HidingFolders
	if len(folders) == 0 {
		folders = DefaultHidingFolders
	}
	for _, f := range folders {
		d.hidingFolders[strings.ToLower(strings.TrimSpace(f))] = true
	}
	return d
}

func (d *InboxRule) Rules() []*Rule { return []*Rule{RuleInboxRuleForward, RuleInboxRuleHiding} }

// inboxRule is what a rule does, whichever record described it.
type inboxRule struct {
	name        string
	forwardTo   []string // every forward, forward-as-attachment and redirect recipient
	deletes     bool
	moveTo      string
	markAsRead  bool
	stopsOthers bool
	conditions  []string // condition words and texts
	sizeMax     int64    // WithinSizeRangeMaximum in bytes, 0 if none
}

func (d *InboxRule) Detect(ev *Event, out []Finding) []Finding {
	r := ev.Record
	if r.Kind != auditrecord.KindMailboxChange || r.Source != auditrecord.SourceO365 || r.Result == auditrecord.ResultFailure {
		return out
	}
	var rule inboxRule
	switch {
	case strings.EqualFold(r.Operation, "New-InboxRule"), strings.EqualFold(r.Operation, "Set-InboxRule"):
		rule = ruleFromCmdlet(r)
	case strings.EqualFold(r.Operation, "UpdateInboxRules"):
		var ok bool
		if rule, ok = ruleFromMailboxAudit(r); !ok {
			return out
		}
	default:
		return out
	}
	change := d.policy.ClassifyChange(r)
	where := fmt.Sprintf("inbox rule %q on %s", rule.name, r.Target)
	if r.ClientAddress != "" {
		where += " set from " + r.ClientAddress
	}
	suffix := ""
	if change.Note != "" {
		suffix = ", " + change.Note
	}

	var external []string
	for _, a := range rule.forwardTo {
		if !d.policy.IsInternal(a, r) {
			external = append(external, a)
		}
	}
	if len(external) > 0 {
		out = append(out, Finding{
			Rule:     RuleInboxRuleForward,
			Severity: SeverityHigh,
			Reason:   fmt.Sprintf("%s forwards mail to external %s%s.", where, strings.Join(external, ", "), suffix),
		})
	}
	if change.Expected && len(external) == 0 {
		return out
	}
	if traits, strong := d.hidingTraits(&rule); len(traits) >= 2 || (strong && len(traits) == 1) {
		out = append(out, Finding{
			Rule:     RuleInboxRuleHiding,
			Severity: severityForTraits(len(traits)),
			Reason:   fmt.Sprintf("%s %s (%d hiding traits)%s.", where, strings.Join(traits, ", "), len(traits), suffix),
		})
	}
	return out
}

// hidingTraits lists, in words for the reason, what hides mail in the rule,
// and whether one of them is strong enough alone (deleting, burying in a
// folder nobody reads, a name chosen to be overlooked, a BEC keyword). A
// rule that neither deletes, moves to a hiding folder nor marks read hides
// nothing, whatever its name: Outlook re-stamps blank-named rules in bulk.
func (d *InboxRule) hidingTraits(rule *inboxRule) (traits []string, strong bool) {
	movesToHiding := rule.moveTo != "" && d.hidingFolders[strings.ToLower(rule.moveTo)]
	if !rule.deletes && !movesToHiding && !rule.markAsRead {
		return nil, false
	}
	if rule.deletes {
		traits, strong = append(traits, "deletes mail"), true
	}
	if movesToHiding {
		traits = append(traits, "moves mail to "+rule.moveTo)
		strong = strong || strongHidingFolders[strings.ToLower(rule.moveTo)]
	}
	if rule.markAsRead {
		traits = append(traits, "marks it as read")
	}
	if rule.stopsOthers {
		traits = append(traits, "stops processing other rules")
	}
	if words := d.matchedKeywords(rule.conditions); len(words) > 0 {
		traits, strong = append(traits, "matches "+strings.Join(words, ", ")), true
	}
	if hasControlCharacters(rule.conditions) {
		traits, strong = append(traits, "matches invisible or control characters"), true
	}
	if rule.sizeMax > 0 && rule.sizeMax <= tinySizeBytes {
		traits = append(traits, fmt.Sprintf("only applies to messages up to %d bytes", rule.sizeMax))
	}
	if why := suspiciousRuleName(rule.name); why != "" {
		traits, strong = append(traits, why), true
	}
	return traits, strong
}

// tinySizeBytes bounds the size ranges that target short replies only.
const tinySizeBytes = 10 * 1024

func severityForTraits(n int) Severity {
	switch {
	case n >= 3:
		return SeverityHigh
	case n == 2:
		return SeverityMedium
	}
	return SeverityLow
}

func (d *InboxRule) matchedKeywords(conditions []string) []string {
	var found []string
	for _, kw := range d.keywords {
		for _, c := range conditions {
			if strings.Contains(strings.ToLower(c), kw) {
				found = append(found, kw)
				break
			}
		}
	}
	return found
}

func hasControlCharacters(conditions []string) bool {
	for _, c := range conditions {
		for _, r := range c {
			if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
				return true
			}
		}
	}
	return false
}

// suspiciousRuleName explains why a rule name looks chosen to be overlooked
// ("", "f", ".", "...", "aaaa"), or returns "".
func suspiciousRuleName(name string) string {
	trimmed := strings.TrimSpace(name)
	n := utf8.RuneCountInString(trimmed)
	switch {
	case n <= 2:
		return fmt.Sprintf("has a %d-character name", n)
	case strings.IndexFunc(trimmed, func(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }) < 0:
		return "has a name of only punctuation or spaces"
	case strings.Count(trimmed, trimmed[:1]) == len(trimmed):
		return "has a name of one repeated character"
	}
	return ""
}

// ruleFromCmdlet reads New-InboxRule / Set-InboxRule parameters.
func ruleFromCmdlet(r *auditrecord.Record) inboxRule {
	var rule inboxRule
	for _, p := range r.Parameters {
		switch strings.ToLower(p.Name) {
		case "name":
			rule.name = p.Value
		case "identity":
			if rule.name == "" {
				// "bob@contoso.com\RuleName" or just "RuleName".
				rule.name = p.Value[strings.LastIndexByte(p.Value, '\\')+1:]
			}
		case "forwardto", "forwardasattachmentto", "redirectto":
			rule.forwardTo = append(rule.forwardTo, auditrecord.SplitAddresses(p.Value)...)
		case "deletemessage", "softdeletemessage":
			rule.deletes = rule.deletes || isTrue(p.Value)
		case "movetofolder":
			rule.moveTo = folderName(p.Value)
		case "markasread":
			rule.markAsRead = isTrue(p.Value)
		case "stopprocessingrules":
			rule.stopsOthers = isTrue(p.Value)
		case "subjectcontainswords", "subjectorbodycontainswords", "bodycontainswords",
			"fromaddresscontainswords", "headercontainswords", "recipientaddresscontainswords":
			rule.conditions = append(rule.conditions, p.Value)
		case "withinsizerangemaximum":
			rule.sizeMax = parseExchangeSize(p.Value)
		}
	}
	return rule
}

// ruleFromMailboxAudit reads an UpdateInboxRules record. Its RuleActions is
// a JSON array as text (or, in some exports, free text) and its RuleState
// "ExitAfterExecution" is Outlook's stop-processing flag. Removals report
// false: deleting a rule hides nothing.
func ruleFromMailboxAudit(r *auditrecord.Record) (inboxRule, bool) {
	var rule inboxRule
	if op, _ := r.OperationProperty("RuleOperation"); strings.Contains(strings.ToLower(op), "remove") {
		return rule, false
	}
	rule.name, _ = r.OperationProperty("RuleName")
	if state, ok := r.OperationProperty("RuleState"); ok {
		rule.stopsOthers = strings.Contains(strings.ToLower(state), "exitafterexecution")
	}
	if cond, ok := r.OperationProperty("RuleCondition"); ok && cond != "" {
		rule.conditions = append(rule.conditions, cond)
	}
	actions, _ := r.OperationProperty("RuleActions")
	readRuleActions(actions, &rule)
	return rule, true
}

// readRuleActions understands both the JSON form
// [{"ActionType":"Forward","Recipients":["x@evil.io"]}, {"ActionType":"Move","FolderName":"RSS Feeds"}]
// and free text ("Forward to x@evil.io"), taking every address it finds as a
// recipient of a forwarding action.
func readRuleActions(text string, rule *inboxRule) {
	trimmed := strings.TrimSpace(text)
	var actions []map[string]any
	if strings.HasPrefix(trimmed, "[") && json.Unmarshal([]byte(trimmed), &actions) == nil {
		for _, a := range actions {
			kind := strings.ToLower(fmt.Sprint(a["ActionType"]))
			applyRuleAction(kind, rule)
			if strings.Contains(kind, "forward") || strings.Contains(kind, "redirect") {
				rule.forwardTo = append(rule.forwardTo, addressesIn(a)...)
			}
			for _, key := range [...]string{"FolderName", "DestinationFolder", "Folder"} {
				if f, ok := a[key].(string); ok && f != "" {
					rule.moveTo = folderName(f)
				}
			}
		}
		return
	}
	lower := strings.ToLower(trimmed)
	applyRuleAction(lower, rule)
	if strings.Contains(lower, "forward") || strings.Contains(lower, "redirect") {
		rule.forwardTo = append(rule.forwardTo, addressesInText(trimmed)...)
	}
}

func applyRuleAction(kind string, rule *inboxRule) {
	switch {
	case strings.Contains(kind, "delete"):
		rule.deletes = true
	case strings.Contains(kind, "markasread"), strings.Contains(kind, "markread"), strings.Contains(kind, "mark as read"):
		rule.markAsRead = true
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
		if strings.Contains(tok, "@") || auditrecord.IsLegacyDN(tok) {
			if a := auditrecord.NormalizeAddress(tok); a != "" {
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

// parseExchangeSize reads "10 KB (10,240 bytes)" or a plain byte count.
func parseExchangeSize(v string) int64 {
	if open := strings.IndexByte(v, '('); open >= 0 {
		digits := strings.Map(func(r rune) rune {
			if r >= '0' && r <= '9' {
				return r
			}
			return -1
		}, v[open:])
		n, _ := strconv.ParseInt(digits, 10, 64)
		return n
	}
	n, _ := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	return n
}
