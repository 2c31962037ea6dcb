package detection

import (
	"fmt"
	"hash/fnv"
	"strings"
	"time"

	"github.com/otelsec/emailcompromise/processor/emailcompromiseprocessor/internal/state"
)

// RuleChain is Chain's detection: an account takeover, the three stages of
// a compromise of one mailbox in order.
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

// ChainOptions set how close the stages must be.
type ChainOptions struct {
	// StageTwoWindow: the set-up within this long after the access.
	StageTwoWindow time.Duration
	// Window: the abuse within this long after the access.
	Window time.Duration
}

// stageOf maps a rule to the stage of a compromise its detections are:
// access (a risky sign-in, impossible travel, a session replay), set-up
// (mailbox rules, forwarding, delegation, persistence), abuse (send bursts,
// thread hijacking, mail collection). Failed attempts are none.
func stageOf(rule *Rule) state.StageKind {
	if rule.Attempt {
		return 0
	}
	switch rule.Category {
	case CategoryRiskySignIn, CategoryImpossibleTravel, CategorySessionHijack:
		return state.StageAccess
	case CategoryMailboxRule, CategoryPersistence:
		return state.StageSetup
	case CategoryBulkSend, CategoryThreadHijack, CategoryMailCollection:
		return state.StageAbuse
	}
	return 0
}

// Chain correlates one user's detections across sources: access (a risky
// sign-in, impossible travel, a session replay), then set-up (an inbox rule,
// forwarding, delegation, persistence) within StageTwoWindow, then abuse (a
// send burst, a thread hijack, a send-then-delete, mail collection) within
// Window of the access. Every such
// triple of stage records is a detection (evidence: the three records),
// critical, found by whichever of the three is judged last — the abuse in
// event order, the access when the sign-in feed lags. All chains that start
// at one access record share its chain id. The suite makes findings stages
// (see Suite); the chain runs last and reads the stages added by the
// record being judged.
type Chain struct {
	opts ChainOptions
}

// NewChain returns the detector; it must run after every detector whose
// findings are stages.
func NewChain(opts ChainOptions) *Chain { return &Chain{opts: opts} }

// Rules returns RuleChain.
func (d *Chain) Rules() []*Rule { return []*Rule{RuleChain} }

// Detect fires, critical, on every access, set-up, abuse triple within
// the windows that one of the stages new on this record (Event.NewStages)
// completes.
func (d *Chain) Detect(ev *Event, out []Finding) []Finding {
	for _, ns := range ev.NewStages {
		stages := ns.State.Found.Stages.List
		n := &ns.Stage
		for i := range stages {
			a := &stages[i]
			if a.Kind != state.StageAccess || (n.Kind == state.StageAccess && a.ID != n.ID) {
				continue
			}
			for j := range stages {
				b := &stages[j]
				if b.Kind != state.StageSetup || (n.Kind == state.StageSetup && b.ID != n.ID) || !d.within(a, b, d.opts.StageTwoWindow) {
					continue
				}
				for k := range stages {
					c := &stages[k]
					if c.Kind != state.StageAbuse || (n.Kind == state.StageAbuse && c.ID != n.ID) || c.At < b.At || !d.within(a, c, d.opts.Window) {
						continue
					}
					out = d.add(ev, out, d.finding(ns.User, a, b, c))
				}
			}
		}
	}
	return out
}

// add appends a chain finding; when the record judged is one of its
// stages, its other findings carry the chain id too.
func (d *Chain) add(ev *Event, out []Finding, f Finding) []Finding {
	if hasEvidence(&f, ev.RecordID()) {
		for i := range out {
			if out[i].ChainID == "" && stageOf(out[i].Rule) != 0 {
				out[i].ChainID = f.ChainID
			}
		}
	}
	return append(out, f)
}

// within reports whether later is no earlier than first and at most window after it.
func (d *Chain) within(first, later *state.Stage, window time.Duration) bool {
	return later.At >= first.At && later.At-first.At <= state.Instant(window)
}

func (d *Chain) finding(user string, a, b, c *state.Stage) Finding {
	id := chainID(user, a.ID.String())
	return Finding{
		Rule:     RuleChain,
		Severity: SeverityCritical,
		User:     user,
		ChainID:  id,
		Reason: fmt.Sprintf("Account takeover of %s: %s %s (%s); %s %s (%s); %s %s (%s).", user,
			stamp(a.At.Time()), a.Rule, strings.TrimSuffix(a.Reason, "."),
			stamp(b.At.Time()), b.Rule, strings.TrimSuffix(b.Reason, "."),
			stamp(c.At.Time()), c.Rule, strings.TrimSuffix(c.Reason, ".")),
		Evidence: []Evidence{{ID: a.ID, At: a.At.Time()}, {ID: b.ID, At: b.At.Time()}, {ID: c.ID, At: c.At.Time()}},
	}
}

// chainID names a chain by its user and its access record, so that every
// arrival order and a replay of the same records yield the same id.
func chainID(user, access string) string {
	h := fnv.New64a()
	h.Write([]byte(user))
	h.Write([]byte{0})
	h.Write([]byte(access))
	return fmt.Sprintf("chain-%016x", h.Sum64())
}
