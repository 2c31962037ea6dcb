package sigma

import (
	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/otelsec/emailcompromise/internal/auditrecord"
)

// evalCtx is the scratch state of evaluating one record, reused across
// records so that the hot path allocates nothing: each field's values are
// read once per record into a shared arena and found again through the
// field's slot, whichever rules ask.
type evalCtx struct {
	record *auditrecord.Record
	body   pcommon.Map
	attrs  pcommon.Map

	// gen numbers the current record; a slot whose gen differs is stale.
	gen        uint32
	slots      []fieldSlot
	arena      []scalar
	leafBudget int
	keywords   fieldSlot

	prefixes []prefixLookup

	keyBuf []byte
	cands  []int32
	seen   []uint32
	// litSeen stamps the prefilter's literals found in the record; lits
	// is scratch for them.
	litSeen []uint32
	lits    []int32
}

type prefixLookup struct {
	gen           uint32
	value         pcommon.Value
	found, dotted bool
}

type fieldSlot struct {
	gen        uint32
	start, end int32
}

// maxRetainedArena is the most values the arena keeps between records;
// typical records need a few hundred.
const maxRetainedArena = 1 << 14

// emptyMap stands in for a missing body or attribute map: a zero pcommon.Map
// cannot be read.
var emptyMap = pcommon.NewMap()

// emptyRecord stands in for a missing view.
var emptyRecord auditrecord.Record

func (c *evalCtx) reset(ev *Event) {
	c.record, c.body, c.attrs = ev.Record, ev.Body, ev.Attributes
	if c.record == nil {
		c.record = &emptyRecord
	}
	if c.body == (pcommon.Map{}) {
		c.body = emptyMap
	}
	if c.attrs == (pcommon.Map{}) {
		c.attrs = emptyMap
	}
	// One freak record (huge arrays in many fields) must not pin its
	// arena for the life of the collector.
	if cap(c.arena) > maxRetainedArena {
		c.arena = nil
	}
	c.arena = c.arena[:0]
	c.gen++
	if c.gen == 0 { // wrapped: stale slots could look current
		clear(c.slots)
		clear(c.seen)
		clear(c.litSeen)
		clear(c.prefixes)
		c.keywords = fieldSlot{}
		c.gen = 1
	}
}

// values returns every value of f in the current record.
func (c *evalCtx) values(f *field) []scalar {
	s := &c.slots[f.id]
	if s.gen != c.gen {
		start := len(c.arena)
		c.leafBudget = maxFieldLeaves
		c.collectField(f)
		*s = fieldSlot{gen: c.gen, start: int32(start), end: int32(len(c.arena))}
	}
	return c.arena[s.start:s.end]
}

// keywordValues returns every scalar of the body, which keywords search.
func (c *evalCtx) keywordValues() []scalar {
	s := &c.keywords
	if s.gen != c.gen {
		start := len(c.arena)
		c.leafBudget = maxFieldLeaves
		c.body.Range(func(_ string, v pcommon.Value) bool {
			c.collectLeaves(v, 0)
			return c.leafBudget > 0
		})
		*s = fieldSlot{gen: c.gen, start: int32(start), end: int32(len(c.arena))}
	}
	return c.arena[s.start:s.end]
}
