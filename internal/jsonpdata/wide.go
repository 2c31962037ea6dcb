package jsonpdata

import (
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/xpdata"
)

// wideObjectKeys is the key count past which an object leaves
// pcommon.Map.PutEmpty, whose duplicate check scans every key on each insert.
// That is the fastest option for the 10–60 keys of real audit records, but
// quadratic: a hostile 16 MiB object of a million short keys would take
// hours. See BenchmarkWideObject for the measurement behind the number.
const wideObjectKeys = 64

// wideObject collects the rest of an object that has outgrown PutEmpty. New
// keys are appended to a builder without any scan (xpdata.MapBuilder exists
// for exactly this; pcommon.Map has no unchecked append), and a Go map finds
// duplicates in constant time.
type wideObject struct {
	builder xpdata.MapBuilder
	seen    map[string]struct{}
	// laterValues holds, for each repeated key, its latest value, to be
	// moved into the key's first position once the object is complete:
	// builder entries cannot be reached by index after being appended.
	laterValues map[string]pcommon.Value
}

// newWideObject takes over the entries decoded into m so far.
func newWideObject(m pcommon.Map) *wideObject {
	w := &wideObject{seen: make(map[string]struct{}, 2*m.Len())}
	w.builder.EnsureCapacity(2 * m.Len())
	for k, v := range m.All() {
		w.seen[k] = struct{}{}
		v.MoveTo(w.builder.AppendEmpty(k))
	}
	return w
}

// put returns the empty value that the value for key is decoded into.
func (w *wideObject) put(key string) pcommon.Value {
	if _, repeated := w.seen[key]; !repeated {
		w.seen[key] = struct{}{}
		return w.builder.AppendEmpty(key)
	}
	if w.laterValues == nil {
		w.laterValues = make(map[string]pcommon.Value)
	}
	v := pcommon.NewValueEmpty()
	w.laterValues[key] = v
	return v
}

// moveTo replaces m's entries with the completed object.
func (w *wideObject) moveTo(m pcommon.Map) {
	// The builder never holds a key twice, which is what UnsafeIntoMap
	// requires.
	w.builder.UnsafeIntoMap(m)
	if len(w.laterValues) == 0 {
		return
	}
	for k, v := range m.All() {
		if later, ok := w.laterValues[k]; ok {
			later.MoveTo(v)
		}
	}
}
