package detection

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/otelsec/emailcompromise/internal/auditrecord"
)

// InboxRule's detections.
var (
	// RuleInboxRuleForward is an inbox rule forwarding or redirecting mail
	// outside the organisation.
	RuleInboxRuleForward = &Rule{
		ID:         CategoryMailboxRule + "/inbox_rule_external_forward",
		Category:   CategoryMailboxRule,
		Title:      "Inbox rule forwards or redirects mail outside the organisation",
		Techniques: []string{TechniqueEmailAccounts, TechniqueEmailForwarding},
		Reference:  "https://attack.mitre.org/techniques/T1114/003/",
	}
	// RuleInboxRuleHiding is an inbox rule that keeps mail from the owner:
	// deleting it, burying it, marking it read.
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
	// Keywords replace DefaultRuleKeywords: condition words that make a
	// rule's hiding strong.
	Keywords []string
	// HidingFolders replace DefaultHidingFolders: folders a rule that
	// moves mail there hides it in.
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

// Rules returns RuleInboxRuleForward and RuleInboxRuleHiding.
func (d *InboxRule) Rules() []*Rule { return []*Rule{RuleInboxRuleForward, RuleInboxRuleHiding} }

// Detect fires on a successfully created or changed inbox rule that
// forwards to an external address (high, whoever made it) and, unless the
// change is expected (see Policy.ClassifyChange), on one that hides mail
// (two traits, or one strong: low to high by the number of traits).
func (d *InboxRule) Detect(ev *Event, out []Finding) []Finding {
	r := ev.Record
	if r.Result == auditrecord.ResultFailure {
		return out
	}
	rule, ok := r.InboxRule()
	if !ok {
		return out
	}
	change := d.policy.ClassifyChange(r)
	where := fmt.Sprintf("inbox rule %q on %s", rule.Name, r.Target)
	if r.ClientAddress != "" {
		where += " set from " + r.ClientAddress
	}
	suffix := ""
	if change.Note != "" {
		suffix = ", " + change.Note
	}

	var external []string
	for _, a := range rule.ForwardTo {
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
func (d *InboxRule) hidingTraits(rule *auditrecord.InboxRule) (traits []string, strong bool) {
	movesToHiding := rule.MoveTo != "" && d.hidingFolders[strings.ToLower(rule.MoveTo)]
	if !rule.Deletes && !movesToHiding && !rule.MarkAsRead {
		return nil, false
	}
	if rule.Deletes {
		traits, strong = append(traits, "deletes mail"), true
	}
	if movesToHiding {
		traits = append(traits, "moves mail to "+rule.MoveTo)
		strong = strong || strongHidingFolders[strings.ToLower(rule.MoveTo)]
	}
	if rule.MarkAsRead {
		traits = append(traits, "marks it as read")
	}
	if rule.StopsOthers {
		traits = append(traits, "stops processing other rules")
	}
	if words := d.matchedKeywords(rule.Conditions); len(words) > 0 {
		traits, strong = append(traits, "matches "+strings.Join(words, ", ")), true
	}
	if hasControlCharacters(rule.Conditions) {
		traits, strong = append(traits, "matches invisible or control characters"), true
	}
	if rule.SizeMax > 0 && rule.SizeMax <= tinySizeBytes {
		traits = append(traits, fmt.Sprintf("only applies to messages up to %d bytes", rule.SizeMax))
	}
	if why := suspiciousRuleName(rule.Name); why != "" {
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
