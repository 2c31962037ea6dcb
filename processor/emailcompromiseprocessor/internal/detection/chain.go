package detection

import (
	"fmt"
	"hash/fnv"
	"strings"
	"time"

	"github.com/otelsec/emailcompromise/processor/emailcompromiseprocessor/internal/state"
)

var RuleChain = &Rule{
	ID:         CategoryChain + "/account_takeover",
	Category:   CategoryChain,
	Title:      "Compromised mailbox: risky sign-in, then mailbox manipulation, then abuse of the mailbox",
	Techniques: []string{TechniqueEmailAccounts, TechniqueValidCloudAccounts, TechniqueEmailForwarding, TechniqueEmailHidingRules, "T1534"},
	Reference:  "https://attack.mitre.org/techniques/T1586/002/",
	// Its stages are history: a replica that just took the user over has
	// not seen them.
	NeedsHistory: true,
}

// ChainOptions set how close the stages must be (the set-up's window after
// the access is applied when stages are remembered: see RememberStages).
type ChainOptions struct {
	// Window: the whole chain within this long.
	Window time.Duration
}

// stage of a compromise, by detection category.
type stage uint8

const (
	stageNone   stage = iota
	stageAccess       // risky sign-in or impossible travel
	stageSetup        // inbox rule, forwarding, delegation
	stageAbuse        // bulk sending, thread hijacking, send-then-delete
)

func stageOf(category string) stage {
	switch category {
	case CategoryRiskySignIn, CategoryImpossibleTravel:
		return stageAccess
	case CategoryMailboxRule:
		return stageSetup
	case CategoryBulkSend, CategoryThreadHijack:
		return stageAbuse
	}
	return stageNone
}

// Chain correlates one user's detections across sources: access (a risky
// sign-in or impossible travel), then set-up (an inbox rule, forwarding or
// delegation) within StageTwoWindow, then abuse (a send burst, thread
// hijack or send-then-delete) within Window of the access. It tags the
// completing record critical and gives every later stage record the same
// chain id. It must run after every other detector: its input is their
// findings on the record (out) and, for earlier records, the user's chain
// state, which the processor keeps with RememberStages whether or not this
// detector is enabled.
type Chain struct {
	opts ChainOptions
}

func NewChain(opts ChainOptions) *Chain { return &Chain{opts: opts} }

func (d *Chain) Rules() []*Rule { return []*Rule{RuleChain} }

func (d *Chain) Detect(ev *Event, out []Finding) []Finding {
	if ev.User == nil || ev.User.Chain == nil {
		return out
	}
	c, t := ev.User.Chain, ev.Record.Time
	top, worst := stageNone, -1
	for i := range out {
		if s := stageOf(out[i].Rule.Category); s > top {
			top, worst = s, i
		}
	}
	if top == stageNone {
		return out
	}
	if c.ID != "" && t.Sub(c.CompletedAt) >= 0 && t.Sub(c.CompletedAt) <= d.opts.Window {
		for i := range out {
			out[i].ChainID = c.ID // a later stage of a chain already detected
		}
		return out
	}
	if top != stageAbuse || c.ChangeAt.IsZero() || c.RiskAt.IsZero() ||
		t.Before(c.ChangeAt) || t.Sub(c.RiskAt) > d.opts.Window {
		return out
	}
	c.ID = chainID(ev.Record.User, c.RiskAt)
	c.CompletedAt = t
	for i := range out {
		out[i].ChainID = c.ID
	}
	abuse := out[worst]
	return append(out, Finding{
		Rule:     RuleChain,
		Severity: SeverityCritical,
		ChainID:  c.ID,
		Reason: fmt.Sprintf("Account takeover of %s: %s %s (%s); %s %s (%s); %s %s (%s).", ev.Record.User,
			stamp(c.RiskAt), c.RiskRule, strings.TrimSuffix(c.RiskReason, "."),
			stamp(c.ChangeAt), c.ChangeRule, strings.TrimSuffix(c.ChangeReason, "."),
			stamp(t), abuse.Rule.ID, strings.TrimSuffix(abuse.Reason, ".")),
	})
}

// RememberStages records a record's access and set-up findings in the
// user's chain state; the processor calls it after all detectors ran (thread
// hijacking reads the remembered risky sign-in too). A set-up counts only
// within stageTwoWindow after the access.
func RememberStages(u *state.User, t time.Time, findings []Finding, stageTwoWindow time.Duration) {
	for _, f := range findings {
		switch stageOf(f.Rule.Category) {
		case stageAccess:
			if u.Chain == nil {
				u.Chain = &state.ChainState{}
			}
			if c := u.Chain; t.After(c.RiskAt) {
				c.RiskAt, c.RiskRule, c.RiskReason = t, f.Rule.ID, shorten(f.Reason, 300)
				c.ChangeAt, c.ChangeRule, c.ChangeReason = time.Time{}, "", ""
			}
		case stageSetup:
			c := u.Chain
			if c != nil && !c.RiskAt.IsZero() && t.Sub(c.RiskAt) >= 0 && t.Sub(c.RiskAt) <= stageTwoWindow && c.ChangeAt.IsZero() {
				c.ChangeAt, c.ChangeRule, c.ChangeReason = t, f.Rule.ID, shorten(f.Reason, 300)
			}
		}
	}
}

func stamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }

// chainID names a chain by its user and first stage, so a replay of the
// same records yields the same id.
func chainID(user string, start time.Time) string {
	h := fnv.New64a()
	h.Write([]byte(user))
	h.Write([]byte(start.UTC().Format(time.RFC3339Nano)))
	return fmt.Sprintf("chain-%016x", h.Sum64())
}
