package detection

import (
	"strings"

	"github.com/otelsec/emailcompromise/processor/emailcompromiseprocessor/internal/sigma"
	"github.com/otelsec/emailcompromise/processor/emailcompromiseprocessor/internal/state"
)

// RulesetSigma is the ruleset name of every Sigma rule's detections.
const RulesetSigma = "sigma"

// Sigma reports the matches of loaded Sigma rules (detection rules and
// correlations) as findings, with each rule's own level, title and ATT&CK
// tags. Like the engine, it is not safe for concurrent use.
type Sigma struct {
	engine *sigma.Engine
	rules  map[*sigma.RuleInfo]*Rule
	list   []*Rule
	// event and matches are reused across records.
	event   sigma.Event
	matches []sigma.Match
}

// NewSigma wraps a loaded engine.
func NewSigma(engine *sigma.Engine) *Sigma {
	d := &Sigma{engine: engine, rules: map[*sigma.RuleInfo]*Rule{}}
	for _, info := range engine.Rules() {
		r := &Rule{
			ID:         CategorySigma + "/" + info.Key,
			Category:   CategorySigma,
			Title:      info.Title,
			Techniques: sigmaTechniques(info.Tags),
			Ruleset:    RulesetSigma,
		}
		if r.Title == "" {
			r.Title = info.Key
		}
		if len(info.References) > 0 {
			r.Reference = info.References[0]
		}
		d.rules[info] = r
		d.list = append(d.list, r)
	}
	return d
}

// Rules returns one rule per loaded Sigma rule, "sigma/<rule key>".
func (d *Sigma) Rules() []*Rule { return d.list }

// Detect fires on each Sigma rule or correlation ev matches, at the rule's
// level; a correlation's detection is the window it completes, whichever
// record completed it.
func (d *Sigma) Detect(ev *Event, out []Finding) []Finding {
	d.event = sigma.Event{Record: ev.Record, Body: ev.Body, Attributes: ev.Attributes, Now: ev.Now, Lateness: ev.Lateness}
	d.matches = d.engine.Evaluate(&d.event, d.matches[:0])
	for _, m := range d.matches {
		f := Finding{Rule: d.rules[m.Rule], Severity: sigmaSeverity(m.Rule.Level), Reason: m.Reason}
		if m.End != nil {
			// A correlation's detection is the window ending at m.End,
			// whichever record completed it.
			f.User = m.End.User
			f.Evidence = []Evidence{{ID: state.IDOf(m.End.ID), At: m.End.At}}
		}
		out = append(out, f)
	}
	return out
}

// sigmaSeverity maps a Sigma level to a severity; informational becomes
// low, the lowest we have, and a rule without a level counts as medium.
func sigmaSeverity(level string) Severity {
	switch level {
	case "informational", "low":
		return SeverityLow
	case "high":
		return SeverityHigh
	case "critical":
		return SeverityCritical
	}
	return SeverityMedium
}

// sigmaTechniques turns ATT&CK technique tags (attack.t1114.003) into
// technique ids (T1114.003); tactic and other tags are left out.
func sigmaTechniques(tags []string) []string {
	var out []string
	for _, t := range tags {
		id, ok := strings.CutPrefix(strings.ToLower(t), "attack.t")
		if !ok || id == "" || id[0] < '0' || id[0] > '9' {
			continue
		}
		out = append(out, "T"+strings.ToUpper(id))
	}
	return out
}
