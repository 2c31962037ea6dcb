package jsonpdata

import (
	"sync"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/xpdata"
)

// wideObjectKeys is the key count past which an object's duplicate check
// switches from scanning the keys so far to a Go map. Scanning is fastest for
// small objects but quadratic: a hostile 16 MiB object of a million short
// keys would take hours. BenchmarkWideObject put the crossover between 32 and
// 64 keys (same-length keys, the scan's worst case); with 32, every object
// size from 16 to 1024 keys was as fast as with 8, 64, 128 or no map at all.
const wideObjectKeys = 32

// maxPooledEntries and maxPooledScratchBytes bound the scratch a pooled
// decoder keeps (per level, and for strings), so that one huge record does
// not pin its scratch memory for good.
const (
	maxPooledEntries      = 4096
	maxPooledScratchBytes = 64 << 10
)

// decoderPool keeps decoders, and so their levels, across calls: most of the
// speed of decoding through levels comes from reusing their scratch.
var decoderPool = sync.Pool{New: func() any { return new(decoder) }}

// level is the scratch space of the container being decoded at one nesting
// depth. Entries are decoded into it and moved out once the container is
// complete and its size known, so that the destination is allocated once at
// its exact size instead of growing by doubling along the way (that growth
// took a fifth of the decoding time). Each depth has one level because only
// one container per depth is open at a time.
type level struct {
	keys   []string      // object keys in first-occurrence order; unused for arrays
	values pcommon.Slice // entry values, in step with keys for objects
	// index maps keys to positions once an object has more than
	// wideObjectKeys keys.
	index map[string]int
	// oversized marks scratch too big to keep in the pool.
	oversized bool
}

func newLevel() *level {
	return &level{values: pcommon.NewSlice()}
}

// put returns the empty value that the value for key is decoded into. For a
// repeated key that is the first occurrence's value, emptied: the last value
// wins and the first position stays, as with encoding/json.
func (l *level) put(key string) pcommon.Value {
	if i, repeated := l.find(key); repeated {
		v := l.values.At(i)
		// FromRaw(nil) is the public way to empty a Value; it cannot fail.
		_ = v.FromRaw(nil)
		return v
	}
	if l.index != nil {
		l.index[key] = len(l.keys)
	}
	l.keys = append(l.keys, key)
	return l.values.AppendEmpty()
}

// find returns the position of key among the keys so far.
func (l *level) find(key string) (int, bool) {
	if l.index == nil {
		if len(l.keys) <= wideObjectKeys {
			for i, k := range l.keys {
				if k == key {
					return i, true
				}
			}
			return 0, false
		}
		l.index = make(map[string]int, 2*len(l.keys))
		for i, k := range l.keys {
			l.index[k] = i
		}
	}
	i, ok := l.index[key]
	return i, ok
}

// append returns the empty value that the next array element is decoded into.
func (l *level) append() pcommon.Value {
	return l.values.AppendEmpty()
}

// moveToMap moves the completed object into m, which must be empty. b is
// only borrowed: pcommon.Map has no way to add a key without scanning the
// others, which put has already done.
func (l *level) moveToMap(b *xpdata.MapBuilder, m pcommon.Map) {
	b.EnsureCapacity(len(l.keys))
	for i, k := range l.keys {
		l.values.At(i).MoveTo(b.AppendEmpty(k))
	}
	// put never stores a key twice, which is what UnsafeIntoMap requires.
	b.UnsafeIntoMap(m)
	l.reset()
}

// moveToSlice moves the completed array into s, which must be empty.
func (l *level) moveToSlice(s pcommon.Slice) {
	n := l.values.Len()
	s.EnsureCapacity(n)
	for i := range n {
		l.values.At(i).MoveTo(s.AppendEmpty())
	}
	l.reset()
}

// reset empties the level for the next container, keeping its capacity.
func (l *level) reset() {
	l.oversized = l.oversized || l.values.Len() > maxPooledEntries
	// Clearing drops the references into the input, which a pooled decoder
	// must not keep alive.
	clear(l.keys)
	l.keys = l.keys[:0]
	l.values.RemoveIf(func(pcommon.Value) bool { return true })
	l.index = nil
}

// level returns the level for the container at the current depth.
func (d *decoder) level() *level {
	for len(d.levels) < d.depth {
		d.levels = append(d.levels, nil)
	}
	if d.levels[d.depth-1] == nil {
		d.levels[d.depth-1] = newLevel()
	}
	return d.levels[d.depth-1]
}

// release returns d to decoderPool, dropping everything that refers to the
// input and any scratch too big to keep.
func (d *decoder) release() {
	for i, l := range d.levels {
		if l == nil {
			continue
		}
		// After an error, levels still hold entries.
		l.reset()
		if l.oversized {
			d.levels[i] = nil
		}
	}
	scratch := d.scratch[:0]
	if cap(scratch) > maxPooledScratchBytes {
		scratch = nil
	}
	*d = decoder{levels: d.levels, scratch: scratch}
	decoderPool.Put(d)
}
