package auditrecord

import (
	"github.com/otelsec/emailcompromise/internal/asciifold"
	"strconv"
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// fieldTable maps the names of the vendor keys a parser reads to small ids,
// so one pass over a body's keys dispatches each key whatever its casing
// (exports differ: ClientIP, ClientIp, clientip). Names are bucketed by
// length: most keys of a record are ones the parser does not read, and
// their length alone usually rules them out without hashing or comparing.
type fieldTable [maxFieldName + 1][]fieldName

const maxFieldName = 40

type fieldName struct {
	name string
	// first is the name's first byte with the ASCII case bit set, a filter
	// that rejects most same-length names before comparing them whole.
	first byte
	id    uint8
}

// lookup returns the id of key, or 0 when the parser does not read it.
func (t *fieldTable) lookup(key string) uint8 {
	if len(key) == 0 || len(key) > maxFieldName {
		return 0
	}
	// Setting bit 0x20 folds ASCII letters to lower case; two bytes equal
	// up to ASCII case are equal after it, so the filter never rejects a
	// match (it lets some non-letters through, which the full comparison
	// then rejects).
	first := key[0] | 0x20
	for i := range t[len(key)] {
		f := &t[len(key)][i]
		// Vendors write their keys in one case: the exact comparison
		// (vectorised) settles nearly every match without the byte loop.
		if f.first == first && (key == f.name || asciifold.Equal(key, f.name)) {
			return f.id
		}
	}
	return 0
}

func newFieldTable(names ...string) *fieldTable {
	var t fieldTable
	for i, n := range names {
		if len(n) == 0 || len(n) > maxFieldName {
			panic("auditrecord: field name empty or longer than maxFieldName: " + n)
		}
		t[len(n)] = append(t[len(n)], fieldName{name: n, first: n[0] | 0x20, id: uint8(i + 1)})
	}
	return &t
}

// getFold returns the value under key, matching the key's case loosely.
func getFold(m pcommon.Map, key string) (pcommon.Value, bool) {
	if v, ok := m.Get(key); ok {
		return v, true
	}
	var found pcommon.Value
	ok := false
	m.Range(func(k string, v pcommon.Value) bool {
		if asciifold.Equal(k, key) {
			found, ok = v, true
			return false
		}
		return true
	})
	return found, ok
}

// str returns a scalar as text: vendors write numbers as strings and strings
// as numbers, so every scalar reads as text. Maps, slices and empty give "".
func str(v pcommon.Value) string {
	switch v.Type() {
	case pcommon.ValueTypeStr:
		return v.Str()
	case pcommon.ValueTypeInt, pcommon.ValueTypeDouble, pcommon.ValueTypeBool:
		return v.AsString()
	}
	return ""
}

// integer reads an int from a number or a numeric string ("2", "2.0").
func integer(v pcommon.Value) (int64, bool) {
	switch v.Type() {
	case pcommon.ValueTypeInt:
		return v.Int(), true
	case pcommon.ValueTypeDouble:
		f := v.Double()
		return int64(f), f == float64(int64(f))
	case pcommon.ValueTypeStr:
		s := strings.TrimSpace(v.Str())
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			return n, true
		}
		if f, err := strconv.ParseFloat(s, 64); err == nil && f == float64(int64(f)) {
			return int64(f), true
		}
	}
	return 0, false
}

// float reads a number or numeric string.
func float(v pcommon.Value) (float64, bool) {
	switch v.Type() {
	case pcommon.ValueTypeInt:
		return float64(v.Int()), true
	case pcommon.ValueTypeDouble:
		return v.Double(), true
	case pcommon.ValueTypeStr:
		f, err := strconv.ParseFloat(strings.TrimSpace(v.Str()), 64)
		return f, err == nil
	}
	return 0, false
}

// boolean reads true/false from a bool or the strings "true"/"True"/"1".
func boolean(v pcommon.Value) bool {
	switch v.Type() {
	case pcommon.ValueTypeBool:
		return v.Bool()
	case pcommon.ValueTypeStr:
		s := strings.TrimSpace(v.Str())
		return asciifold.Equal(s, "true") || s == "1"
	case pcommon.ValueTypeInt:
		return v.Int() != 0
	}
	return false
}

// appendNameValues appends the {Name, Value} pairs of an O365 array such as
// Parameters or ExtendedProperties. Entries that are not maps are skipped;
// non-string values are kept as text.
func appendNameValues(dst []Parameter, v pcommon.Value) []Parameter {
	eachNameValue(v, func(name, value string) { dst = append(dst, Parameter{Name: name, Value: value}) })
	return dst
}

// eachNameValue calls fn with each {Name, Value} pair of an O365 array
// (entries that are not maps, or have no name, skipped).
func eachNameValue(v pcommon.Value, fn func(name, value string)) {
	if v.Type() != pcommon.ValueTypeSlice {
		return
	}
	s := v.Slice()
	for i := 0; i < s.Len(); i++ {
		e := s.At(i)
		if e.Type() != pcommon.ValueTypeMap {
			continue
		}
		var p Parameter
		e.Map().Range(func(k string, ev pcommon.Value) bool {
			switch {
			case asciifold.Equal(k, "Name"):
				p.Name = str(ev)
			case asciifold.Equal(k, "Value"):
				p.Value = valueText(ev)
			}
			return true
		})
		if p.Name != "" {
			fn(p.Name, p.Value)
		}
	}
}

// valueText is str that also renders an array of scalars, as PowerShell
// array parameters sometimes arrive, joined with ";" the way Exchange lists
// multi-valued recipients.
func valueText(v pcommon.Value) string {
	if v.Type() != pcommon.ValueTypeSlice {
		return str(v)
	}
	s := v.Slice()
	if s.Len() == 1 { // the usual multiValue: ["password"]
		return str(s.At(0))
	}
	parts := make([]string, 0, s.Len())
	for i := 0; i < s.Len(); i++ {
		if t := str(s.At(i)); t != "" {
			parts = append(parts, t)
		}
	}
	return strings.Join(parts, ";")
}

// mapField returns the nested map under key (case-loose) if it is one.
func mapField(m pcommon.Map, key string) (pcommon.Map, bool) {
	v, ok := getFold(m, key)
	if !ok || v.Type() != pcommon.ValueTypeMap {
		return pcommon.Map{}, false
	}
	return v.Map(), true
}

// strField returns the scalar under key (case-loose) as text.
func strField(m pcommon.Map, key string) string {
	v, ok := getFold(m, key)
	if !ok {
		return ""
	}
	return str(v)
}
