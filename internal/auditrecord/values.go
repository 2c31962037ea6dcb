package auditrecord

import (
	"strconv"
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// fieldTable maps the lowercased names of the vendor keys a parser reads to
// small ids, so one pass over a body's keys dispatches each key with one map
// lookup whatever its casing (exports differ: ClientIP, ClientIp, clientip).
type fieldTable map[string]uint8

// lookup returns the id of key, or 0 when the parser does not read it.
func (t fieldTable) lookup(key string) uint8 {
	var buf [40]byte
	if len(key) > len(buf) {
		return 0
	}
	b := buf[:len(key)]
	for i := 0; i < len(key); i++ {
		c := key[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		b[i] = c
	}
	return t[string(b)] // the compiler does not allocate for this conversion
}

func newFieldTable(names ...string) fieldTable {
	t := make(fieldTable, len(names))
	for i, n := range names {
		t[strings.ToLower(n)] = uint8(i + 1)
	}
	return t
}

// getFold returns the value under key, matching the key's case loosely.
func getFold(m pcommon.Map, key string) (pcommon.Value, bool) {
	if v, ok := m.Get(key); ok {
		return v, true
	}
	var found pcommon.Value
	ok := false
	m.Range(func(k string, v pcommon.Value) bool {
		if equalFoldASCII(k, key) {
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
		return equalFoldASCII(s, "true") || s == "1"
	case pcommon.ValueTypeInt:
		return v.Int() != 0
	}
	return false
}

// appendNameValues appends the {Name, Value} pairs of an O365 array such as
// Parameters or ExtendedProperties. Entries that are not maps are skipped;
// non-string values are kept as text.
func appendNameValues(dst []Parameter, v pcommon.Value) []Parameter {
	if v.Type() != pcommon.ValueTypeSlice {
		return dst
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
			case equalFoldASCII(k, "Name"):
				p.Name = str(ev)
			case equalFoldASCII(k, "Value"):
				p.Value = valueText(ev)
			}
			return true
		})
		if p.Name != "" {
			dst = append(dst, p)
		}
	}
	return dst
}

// valueText is str that also renders an array of scalars, as PowerShell
// array parameters sometimes arrive, joined with ";" the way Exchange lists
// multi-valued recipients.
func valueText(v pcommon.Value) string {
	if v.Type() != pcommon.ValueTypeSlice {
		return str(v)
	}
	s := v.Slice()
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
