package bench

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/ottl"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/ottl/contexts/ottllog"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/ottl/ottlfuncs"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otelsec/emailcompromise/internal/testing/loadgen"
)

// The four stateless detectors (mailbox forwarding, inbox rules, legacy
// authentication, identity-provider risk) written as OTTL conditions over
// the same records: the map body the receiver decoded and the contract
// attributes it wrote. The conditions follow the detectors' Go code clause
// by clause (processor/emailcompromiseprocessor/internal/detection:
// forwarding.go, inboxrule.go, legacyauth.go, idprisk.go, policy.go), with
// the organisation policy of the load generator's tenant substituted in.
//
// A prelude of statements turns the O365 Name/Value arrays into maps in the
// transform context's cache once per record (what a transform processor
// user would do), so the conditions index them instead of converting the
// array for every parameter they read.
//
// What OTTL cannot express, and how the conditions approximate it:
//   - "any address in a recipient list is external": OTTL has no predicate
//     over list elements and RE2 no negative look-ahead, so a value is
//     external when it holds an address and no internal one. A list mixing
//     internal and external recipients is missed.
//   - A rule name of one repeated character ("aaaa") needs a regular
//     expression back-reference, which RE2 lacks: that hiding trait is left
//     out. So is the "only small messages" trait (parsing Exchange's
//     "10 KB (10,240 bytes)" needs a replace converter OTTL lacks).
//   - Parameter names are matched case-sensitively (SliceToMap keys);
//     PowerShell and the detector match them case-insensitively.
//   - O365 UserType written as a string ("2") does not compare equal to 2.
//   - Rule lengths are bytes (Len), not characters.
// On the load generator's records none of these cases occurs, which
// TestOTTLMatchesDetectors checks: both flag the same records.

// ottlPolicy holds the policy pieces the conditions embed.
type ottlPolicy struct {
	internalRE  string // an internal address at the end of a value
	internalAny string // an internal address anywhere in a text
	trusted     []string
	services    []string
	admins      []string
	windowStart string
	windowEnd   string
	windowActor string
	windowRE    string // targets of the change window
}

func newOTTLPolicy(p loadgen.Policy) ottlPolicy {
	var domains []string
	for _, d := range p.OrganizationDomains {
		domains = append(domains, regexp.QuoteMeta(d))
		label, _, _ := strings.Cut(d, ".")
		domains = append(domains, regexp.QuoteMeta(label+".onmicrosoft.com"))
	}
	w := p.ChangeWindows[0]
	return ottlPolicy{
		internalRE:  `(?i)@([a-z0-9-]+\.)*(` + strings.Join(domains, "|") + `)[>\]\s"']*$`,
		internalAny: `(?i)@([a-z0-9-]+\.)*(` + strings.Join(domains, "|") + `)\b`,
		trusted:     p.TrustedNetworks,
		services:    p.ServiceAccounts,
		admins:      p.Admins,
		windowStart: w.Start.UTC().Format("2006-01-02T15:04:05Z"),
		windowEnd:   w.End.UTC().Format("2006-01-02T15:04:05Z"),
		windowActor: w.Actors[0],
		windowRE:    "(?i)@" + regexp.QuoteMeta(strings.TrimPrefix(w.Targets[0], "*@")) + "$",
	}
}

// q quotes s as an OTTL string literal.
func q(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

func oneOf(path string, values []string) string {
	var parts []string
	for _, v := range values {
		parts = append(parts, path+" == "+q(v))
	}
	return "(" + strings.Join(parts, " or ") + ")"
}

// ottlPrelude converts the Name/Value arrays once per record.
var ottlPrelude = []string{
	`set(cache["p"], SliceToMap(body["Parameters"], ["Name"], ["Value"])) where body["Parameters"] != nil`,
	`set(cache["x"], SliceToMap(body["ExtendedProperties"], ["Name"], ["Value"])) where body["ExtendedProperties"] != nil`,
	`set(cache["o"], SliceToMap(body["OperationProperties"], ["Name"], ["Value"])) where body["OperationProperties"] != nil`,
}

// ottlGroups returns the conditions of each detector; a record is flagged
// by a detector when any of its conditions holds.
func ottlGroups(p ottlPolicy) map[string][]string {
	o365 := `attributes["audit.source"] == "o365" and attributes["audit.result"] != "failure"`
	op := `ConvertCase(attributes["audit.operation"], "lower")`
	param := func(name string) string { return `cache["p"][` + q(name) + `]` }
	prop := func(name string) string { return `cache["o"][` + q(name) + `]` }
	external := func(v string) string {
		return "(" + v + " != nil and IsMatch(" + v + `, "@") and not IsMatch(` + v + ", " + q(p.internalRE) + "))"
	}
	isTrue := func(v string) string { return "(" + v + " != nil and IsMatch(" + v + `, "(?i)^\\s*true\\s*$"))` }
	matches := func(v, re string) string { return "(" + v + " != nil and IsMatch(" + v + ", " + q(re) + "))" }

	// policy.ClassifyChange: Exchange itself, or an admin changing another
	// user's mailbox inside the change window, is expected.
	actor, target := `attributes["audit.actor"]`, `attributes["audit.target"]`
	system := `(HasPrefix(` + actor + `, "nt authority\\") or ` + actor + ` == "s-1-5-18" or body["UserType"] == 4)`
	admin := "(" + oneOf(actor, p.admins) + ` or body["UserType"] == 2 or body["UserType"] == 3)`
	inWindow := "(" + actor + " == " + q(p.windowActor) + " and IsMatch(" + target + ", " + q(p.windowRE) + `) and time >= Time(` +
		q(p.windowStart) + `, "%Y-%m-%dT%H:%M:%SZ") and time <= Time(` + q(p.windowEnd) + `, "%Y-%m-%dT%H:%M:%SZ"))`
	notExpected := "not (" + system + " or (" + actor + " != " + target + " and " + admin + " and " + inWindow + "))"

	const keywords = `(?i)invoice|payment|wire|bank|password|hacked|phish|security|alert`
	const control = `[\p{Cc}\p{Cf}]`
	const hiding = `(?i)(^|[\\/])\s*(rss subscriptions|rss feeds|conversation history|deleted items|archive|junk email)\s*$`
	const strongHiding = `(?i)(^|[\\/])\s*(rss subscriptions|rss feeds|conversation history|deleted items)\s*$`

	// New-InboxRule / Set-InboxRule (inboxrule.go ruleFromCmdlet, hidingTraits).
	var condParams []string
	for _, n := range []string{"SubjectContainsWords", "SubjectOrBodyContainsWords", "BodyContainsWords",
		"FromAddressContainsWords", "HeaderContainsWords", "RecipientAddressContainsWords"} {
		condParams = append(condParams, param(n))
	}
	anyCond := func(re string) string {
		var parts []string
		for _, c := range condParams {
			parts = append(parts, matches(c, re))
		}
		return "(" + strings.Join(parts, " or ") + ")"
	}
	name := param("Name")
	suspiciousName := "((" + name + ` != nil and (Len(Trim(` + name + `)) <= 2 or not IsMatch(` + name + `, "[\\p{L}\\p{N}]"))) or (` +
		name + ` == nil and ` + param("Identity") + ` != nil and (IsMatch(` + param("Identity") + `, "(^|\\\\)\\s*[^\\\\]{0,2}\\s*$") or IsMatch(` +
		param("Identity") + `, "(^|\\\\)[^\\\\\\p{L}\\p{N}]*$"))))`
	del := "(" + isTrue(param("DeleteMessage")) + " or " + isTrue(param("SoftDeleteMessage")) + ")"
	move, moveStrong := matches(param("MoveToFolder"), hiding), matches(param("MoveToFolder"), strongHiding)
	read, stop := isTrue(param("MarkAsRead")), isTrue(param("StopProcessingRules"))
	cmdletHiding := "(" + del + " or " + move + " or " + read + ") and (" + del + " or " + moveStrong + " or " + anyCond(keywords) +
		" or " + anyCond(control) + " or " + suspiciousName + " or (" + move + " and " + read + ") or (" + move + " and " + stop +
		") or (" + read + " and " + stop + "))"
	cmdlet := o365 + ` and cache["p"] != nil and (` + op + ` == "new-inboxrule" or ` + op + ` == "set-inboxrule")`

	// UpdateInboxRules (inboxrule.go ruleFromMailboxAudit, readRuleActions).
	actions := prop("RuleActions")
	ruleName := prop("RuleName")
	auditDel := matches(actions, `(?i)delete`)
	auditRead := matches(actions, `(?i)markasread|markread|mark as read`)
	auditMove := matches(actions, `(?i)"(FolderName|DestinationFolder|Folder)"\s*:\s*"(?:[^"]*[\\/])?\s*(rss subscriptions|rss feeds|conversation history|deleted items|archive|junk email)\s*"`)
	auditMoveStrong := matches(actions, `(?i)"(FolderName|DestinationFolder|Folder)"\s*:\s*"(?:[^"]*[\\/])?\s*(rss subscriptions|rss feeds|conversation history|deleted items)\s*"`)
	auditStop := matches(prop("RuleState"), `(?i)exitafterexecution`)
	auditName := "(" + ruleName + ` == nil or Len(Trim(` + ruleName + `)) <= 2 or not IsMatch(` + ruleName + `, "[\\p{L}\\p{N}]"))`
	auditHiding := "(" + auditDel + " or " + auditMove + " or " + auditRead + ") and (" + auditDel + " or " + auditMoveStrong + " or " +
		matches(prop("RuleCondition"), keywords) + " or " + matches(prop("RuleCondition"), control) + " or " + auditName +
		" or (" + auditMove + " and " + auditRead + ") or (" + auditMove + " and " + auditStop + ") or (" + auditRead + " and " + auditStop + "))"
	audit := o365 + ` and ` + op + ` == "updateinboxrules" and cache["o"] != nil and not ` + matches(prop("RuleOperation"), "(?i)remove")
	auditForward := matches(actions, `(?i)forward|redirect`) + " and IsMatch(" + actions + `, "@") and not IsMatch(` + actions +
		", " + q(p.internalAny) + ")"

	// Sign-ins (legacyauth.go, idprisk.go, signin.go successfulSignIn).
	entra := `attributes["audit.source"] == "entra_signin"`
	o365SignIn := `attributes["audit.source"] == "o365" and (` + op + ` == "userloggedin" or ` + op +
		` == "userloginfailed" or body["RecordType"] == 15 or body["RecordType"] == 9)`
	google := `attributes["audit.source"] == "google_workspace"`
	googleSignIn := google + ` and body["id"]["applicationName"] == "login"`
	success := `attributes["audit.result"] == "success"`
	legacyApps := `(?i)^(IMAP4|POP3|Authenticated SMTP|Exchange ActiveSync|Other clients|Exchange Web Services|MAPI Over HTTP|Outlook Anywhere \(RPC over HTTP\)|Offline Address Book|AutoDiscover|Exchange Online PowerShell|Reporting Web Services)$`
	notService := "not " + oneOf(`attributes["user.name"]`, p.services)
	ropc := matches(`attributes["user_agent.original"]`, `(?i)bav2ropc`)

	risk := func(base string) string { // base: body or body["properties"]
		during, aggregated, state := base+`["riskLevelDuringSignIn"]`, base+`["riskLevelAggregated"]`, base+`["riskState"]`
		events := "(" + matches(`String(`+base+`["riskEventTypes"])`, `"([^"n]|n[^"o]|no[^"n]|non[^"e]|none[^"])[^"]*"`) + " or " +
			matches(`String(`+base+`["riskEventTypes_v2"])`, `"([^"n]|n[^"o]|no[^"n]|non[^"e]|none[^"])[^"]*"`) + ")"
		highMed := "(" + matches(during, `(?i)^(medium|high)$`) + " or " + matches(aggregated, `(?i)^(medium|high)$`) + ")"
		low := "(" + matches(during, `(?i)^low$`) + " or " + matches(aggregated, `(?i)^low$`) + ")"
		trusted := `(attributes["client.address"] != nil and IsInCIDR(attributes["client.address"], [` + strings.Join(quoteAll(p.trusted), ", ") + `]))`
		return "not " + matches(state, `(?i)^(dismissed|remediated|confirmedsafe)$`) + " and (" + highMed + " or " + events +
			" or (" + low + " and not " + trusted + "))"
	}
	googleRisk := `IsMatch(String(body["events"]), "\"name\":\"(gov_attack_warning|account_disabled_password_leak|account_disabled_hijacked|account_disabled_spamming|account_disabled_spamming_through_relay|suspicious_login[^\"]*|suspicious_programmatic_login)\"") or IsMatch(String(body["events"]), "\\{[^{}]*(\"boolValue\":true|\"value\":\"(?i:true)\")[^{}]*\"name\":\"is_suspicious\"[^{}]*\\}|\\{[^{}]*\"name\":\"is_suspicious\"[^{}]*(\"boolValue\":true|\"value\":\"(?i:true)\")[^{}]*\\}")`

	return map[string][]string{
		"mailbox_forwarding": {
			o365 + ` and cache["p"] != nil and ` + op + ` == "set-mailbox" and (` + external(param("ForwardingSmtpAddress")) + " or " + external(param("ForwardingAddress")) + ")",
			google + ` and body["id"]["applicationName"] != "login" and body["events"] != nil and IsMatch(String(body["events"]), "\"name\":\"email_forwarding_out_of_domain\"")`,
			google + ` and body["id"]["applicationName"] != "login" and body["event"] != nil and IsMatch(String(body["event"]), "\"name\":\"email_forwarding_out_of_domain\"")`,
		},
		"inbox_rule": {
			cmdlet + " and (" + external(param("ForwardTo")) + " or " + external(param("ForwardAsAttachmentTo")) + " or " + external(param("RedirectTo")) + ")",
			cmdlet + " and " + notExpected + " and " + cmdletHiding,
			audit + " and " + auditForward,
			audit + " and " + notExpected + " and " + auditHiding,
		},
		"legacy_authentication": {
			success + " and " + entra + " and " + notService + ` and body["properties"] == nil and (` + matches(`body["clientAppUsed"]`, legacyApps) + " or " + ropc + ")",
			success + " and " + entra + " and " + notService + ` and body["properties"] != nil and (` + matches(`body["properties"]["clientAppUsed"]`, legacyApps) + " or " + ropc + ")",
			success + " and " + o365SignIn + " and " + notService + ` and (` + matches(`cache["x"]["RequestType"]`, legacyApps) + " or " + ropc + ")",
			success + " and " + googleSignIn + " and " + notService + " and " + ropc,
		},
		"identity_provider_risk": {
			entra + ` and body["properties"] == nil and ` + risk("body"),
			entra + ` and body["properties"] != nil and ` + risk(`body["properties"]`),
			googleSignIn + ` and body["events"] != nil and (` + googleRisk + ")",
		},
	}
}

func quoteAll(values []string) []string {
	out := make([]string, len(values))
	for i, v := range values {
		out[i] = q(v)
	}
	return out
}

// ottlDetectors holds the parsed prelude and condition groups.
type ottlDetectors struct {
	prelude ottl.StatementSequence[*ottllog.TransformContext]
	names   []string
	groups  []ottl.ConditionSequence[*ottllog.TransformContext]
}

func newOTTLDetectors(tb testing.TB, p loadgen.Policy) *ottlDetectors {
	tb.Helper()
	set := componenttest.NewNopTelemetrySettings()
	funcs := ottlfuncs.StandardFuncs[*ottllog.TransformContext]()
	parser, err := ottllog.NewParser(funcs, set)
	if err != nil {
		tb.Fatal(err)
	}
	statements, err := parser.ParseStatements(ottlPrelude)
	if err != nil {
		tb.Fatal(err)
	}
	d := &ottlDetectors{prelude: ottllog.NewStatementSequence(statements, set, ottllog.WithStatementSequenceErrorMode(ottl.IgnoreError))}
	groups := ottlGroups(newOTTLPolicy(p))
	for _, name := range []string{"mailbox_forwarding", "inbox_rule", "legacy_authentication", "identity_provider_risk"} {
		conds, err := parser.ParseConditions(groups[name])
		if err != nil {
			tb.Fatalf("%s: %v", name, err)
		}
		d.names = append(d.names, name)
		d.groups = append(d.groups, ottllog.NewConditionSequence(conds, set, ottllog.WithConditionSequenceErrorMode(ottl.IgnoreError)))
	}
	return d
}

// eval runs every group on every record of ld and calls hit for each match.
func (d *ottlDetectors) eval(ctx context.Context, ld plog.Logs, hit func(lr plog.LogRecord, group string)) error {
	for i := 0; i < ld.ResourceLogs().Len(); i++ {
		rl := ld.ResourceLogs().At(i)
		for j := 0; j < rl.ScopeLogs().Len(); j++ {
			sl := rl.ScopeLogs().At(j)
			lrs := sl.LogRecords()
			for k := 0; k < lrs.Len(); k++ {
				lr := lrs.At(k)
				tCtx := ottllog.NewTransformContext(rl, sl, lr)
				if err := d.prelude.Execute(ctx, tCtx); err != nil {
					return err
				}
				for g, seq := range d.groups {
					ok, err := seq.Eval(ctx, tCtx)
					if err != nil {
						return fmt.Errorf("%s: %w", d.names[g], err)
					}
					if ok && hit != nil {
						hit(lr, d.names[g])
					}
				}
				tCtx.Close()
			}
		}
	}
	return nil
}
