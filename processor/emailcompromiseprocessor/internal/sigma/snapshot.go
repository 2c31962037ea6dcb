package sigma

import (
	"bytes"
	"encoding/binary"
	"encoding/gob"
	"fmt"
	"iter"
	"slices"
	"strings"
	"time"

	"github.com/otelsec/emailcompromise/processor/emailcompromiseprocessor/internal/state"
)

// Correlation state survives restarts through the processor's snapshot:
// Correlations yields it for snapshot.Save, a CorrelationRestorer puts it
// back into an engine compiled from the configured rules. Each correlation's
// state is kept under its rule key with its definition, so that a rule
// changed (or removed) between the two runs starts afresh instead of
// reading groups built for another condition; restored state goes through
// the same caps as live state.

// GroupsPerChunk bounds a snapshot's chunk: a storage value stays a few
// megabytes at most, whatever the number of groups.
const GroupsPerChunk = 2048

// groupsPerLock is how many groups Correlations copies at a time under
// the caller's lock.
const groupsPerLock = 256

type snapshotChunk struct {
	Watermark int64
	Rules     []snapshotRule
}

type snapshotRule struct {
	Key, Definition string
	Latest          int64
	Groups          []snapshotGroup
}

type snapshotGroup struct {
	Key              string
	LastSeen, Newest int64
	Events           []snapshotEvent
}

type snapshotEvent struct {
	T        int64
	Ref      int
	Value    string
	Num      float64
	HasNum   bool
	ID, User string
}

// RestoreReport says what restoring correlation state did.
type RestoreReport struct {
	// Groups counts the groups restored.
	Groups int
	// Changed lists the rules whose state was dropped because the rule is no
	// longer loaded, or its correlation changed.
	Changed []string
}

// definition is what a correlation's state was built for.
func (c *correlationRule) definition() string {
	return fmt.Sprintf("%s|%s|%s|%s|%s|%s|%v:%v|%s", c.typ, strings.Join(c.refNames, ","), strings.Join(c.groupBy, ","), c.aliases,
		c.span, c.cond, c.hasPercentile, c.percentile, strings.Join(c.valueFields, ","))
}

// A snapshot of the correlation state (internal/snapshot) is made of
// CorrelationGroups, encoded by CorrelationCodec, with the engine's
// watermark as its metadata (CorrelationWatermark). Correlations yields
// each group as it stood when copied; the watermark and each correlation's
// latest time are those from before its groups were copied (a restored
// engine is then behind by at most the snapshot's own duration, and judges
// late records more leniently, not less).

// CorrelationGroup is one correlation group with the rule it belongs to:
// an item of the snapshot.
type CorrelationGroup struct {
	rule  snapshotRule // its Groups unused: the group is apart
	group snapshotGroup
	// watermark is the watermark of the chunk the group was read from
	// (layouts that kept it in every chunk), zero otherwise.
	watermark int64
}

// CorrelationWatermark returns the engine's watermark, read under locked,
// encoded as a snapshot's metadata.
func (e *Engine) CorrelationWatermark(locked func(func())) []byte {
	var w int64
	locked(func() { w = e.watermark })
	return binary.BigEndian.AppendUint64(nil, uint64(w))
}

// Correlations yields every correlation group, copied groupsPerLock at a
// time in a function run by locked (under the lock that guards the
// engine), so that a snapshot never holds the lock while it encodes or
// writes, and records are evaluated meanwhile.
func (e *Engine) Correlations(locked func(func())) iter.Seq[CorrelationGroup] {
	return func(yield func(CorrelationGroup) bool) {
		for _, c := range e.correlations {
			var rule snapshotRule
			locked(func() { rule = snapshotRule{Key: c.info.Key, Definition: c.definition(), Latest: c.state.latest} })
			groups := state.Copies(c.state.groups, locked, groupsPerLock, func(key string, lastSeen time.Time, g *corrGroup) CorrelationGroup {
				sg := snapshotGroup{Key: key, LastSeen: lastSeen.UnixNano(), Newest: g.newest, Events: make([]snapshotEvent, len(g.events))}
				for i, ev := range g.events {
					sg.Events[i] = snapshotEvent{T: ev.t, Ref: ev.ref, Value: ev.value, Num: ev.num, HasNum: ev.hasNum, ID: ev.id, User: ev.user}
				}
				return CorrelationGroup{rule: rule, group: sg}
			})
			for g := range groups {
				if !yield(g) {
					return
				}
			}
		}
	}
}

// CorrelationCodec encodes a chunk of groups as one gob-encoded
// snapshotChunk, the groups of each rule under it: the layout every
// release has written (the watermark, once in every chunk, is now the
// snapshot's metadata).
type CorrelationCodec struct{}

// Encode writes a chunk of groups, those of one rule together, in the
// order Correlations yields them.
func (CorrelationCodec) Encode(groups []CorrelationGroup) ([]byte, error) {
	var chunk snapshotChunk
	for _, g := range groups {
		if n := len(chunk.Rules); n == 0 || chunk.Rules[n-1].Key != g.rule.Key {
			rule := g.rule
			rule.Groups = nil
			chunk.Rules = append(chunk.Rules, rule)
		}
		last := &chunk.Rules[len(chunk.Rules)-1]
		last.Groups = append(last.Groups, g.group)
	}
	var buf bytes.Buffer
	err := gob.NewEncoder(&buf).Encode(&chunk)
	return buf.Bytes(), err
}

// Decode calls restore for every group of a chunk, in order.
func (CorrelationCodec) Decode(data []byte, restore func(CorrelationGroup)) error {
	var chunk snapshotChunk
	if err := gob.NewDecoder(bytes.NewReader(data)).Decode(&chunk); err != nil {
		return err
	}
	for _, r := range chunk.Rules {
		for _, g := range r.Groups {
			restore(CorrelationGroup{rule: snapshotRule{Key: r.Key, Definition: r.Definition, Latest: r.Latest}, group: g, watermark: chunk.Watermark})
		}
	}
	return nil
}

// CorrelationRestorer puts a snapshot's groups back into an engine that
// holds no correlation state yet. Groups go in as least recently used
// first, as they were, through the configured caps.
type CorrelationRestorer struct {
	e      *Engine
	byKey  map[string]*correlationRule
	report RestoreReport
}

// RestoreCorrelations starts restoring a snapshot into the engine.
func (e *Engine) RestoreCorrelations() *CorrelationRestorer {
	r := &CorrelationRestorer{e: e, byKey: map[string]*correlationRule{}}
	for _, c := range e.correlations {
		r.byKey[c.info.Key] = c
	}
	return r
}

// Restore puts one group back, unless its rule is gone or its correlation
// changed: then the group was built for another condition, and the rule is
// reported instead.
func (r *CorrelationRestorer) Restore(g CorrelationGroup) {
	if g.watermark != 0 {
		r.e.watermark = max(r.e.watermark, g.watermark)
	}
	c := r.byKey[g.rule.Key]
	if c == nil || c.definition() != g.rule.Definition {
		if !slices.Contains(r.report.Changed, g.rule.Key) {
			r.report.Changed = append(r.report.Changed, g.rule.Key)
		}
		return
	}
	c.state.latest = max(c.state.latest, g.rule.Latest)
	c.restoreGroup(g.group)
	r.report.Groups++
}

// Finish takes the snapshot's metadata, the watermark (nil for a layout
// that kept it in every chunk), schedules the restored windows and says
// what was restored.
func (r *CorrelationRestorer) Finish(meta []byte) (RestoreReport, error) {
	e := r.e
	if meta != nil {
		if len(meta) != 8 {
			return r.report, fmt.Errorf("the Sigma correlation state's watermark is %d bytes, want 8", len(meta))
		}
		e.watermark = max(e.watermark, int64(binary.BigEndian.Uint64(meta)))
	}
	e.nextDue = noWindow
	for _, c := range e.windowed {
		e.nextDue = min(e.nextDue, c.state.due.next())
	}
	return r.report, nil
}

func (c *correlationRule) restoreGroup(sg snapshotGroup) {
	s := c.state
	g := corrGroup{key: sg.Key, newest: sg.Newest, pending: noWindow}
	events := sg.Events
	if n := len(events) - s.maxEvents; n > 0 {
		events = events[n:] // the newest, as the live cap keeps
		s.stats.EventsDropped += uint64(n)
	}
	for _, ev := range events {
		if ev.Ref < 0 || ev.Ref >= len(c.refs) {
			continue // a corrupt snapshot must not index past the rule's references
		}
		g.events = append(g.events, corrEvent{t: ev.T, ref: ev.Ref, value: ev.Value, num: ev.Num, hasNum: ev.HasNum, id: ev.ID, user: ev.User})
	}
	evictions := s.groups.Evictions()
	s.groups.Restore(sg.Key, time.Unix(0, sg.LastSeen), g)
	s.stats.GroupsEvicted += s.groups.Evictions() - evictions
	if c.windowEnd {
		c.reschedule(s.groups.Get(sg.Key))
	}
}
