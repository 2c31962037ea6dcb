package sigma

import (
	"strconv"
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

type scalarKind uint8

const (
	scalarNull scalarKind = iota
	scalarString
	scalarInt
	scalarFloat
	scalarBool
)

// scalar is one leaf value of a record as the matchers see it. It is small
// and copied by value so that reading a field allocates nothing; numbers keep
// their binary form and are rendered as text only when a text comparison
// needs them.
type scalar struct {
	kind scalarKind
	// str holds strings, and the text of booleans and of empty containers.
	str string
	num float64
	i   int64
}

func stringScalar(s string) scalar { return scalar{kind: scalarString, str: s} }

func boolScalar(b bool) scalar {
	if b {
		return scalar{kind: scalarBool, str: "true"}
	}
	return scalar{kind: scalarBool, str: "false"}
}

func fromValue(v pcommon.Value) scalar {
	switch v.Type() {
	case pcommon.ValueTypeStr:
		return stringScalar(v.Str())
	case pcommon.ValueTypeInt:
		return scalar{kind: scalarInt, i: v.Int(), num: float64(v.Int())}
	case pcommon.ValueTypeDouble:
		return scalar{kind: scalarFloat, num: v.Double()}
	case pcommon.ValueTypeBool:
		return boolScalar(v.Bool())
	case pcommon.ValueTypeBytes:
		return stringScalar(string(v.Bytes().AsRaw()))
	}
	return scalar{}
}

// isNumber reports whether v is a number in the record (not a numeric string).
func (v scalar) isNumber() bool { return v.kind == scalarInt || v.kind == scalarFloat }

// text renders v as Sigma compares it: every value is a string.
func (v scalar) text() string {
	switch v.kind {
	case scalarInt:
		return strconv.FormatInt(v.i, 10)
	case scalarFloat:
		return strconv.FormatFloat(v.num, 'f', -1, 64)
	}
	return v.str
}

// appendText is text without the allocation, for index lookups.
func (v scalar) appendText(dst []byte) []byte {
	switch v.kind {
	case scalarInt:
		return strconv.AppendInt(dst, v.i, 10)
	case scalarFloat:
		return strconv.AppendFloat(dst, v.num, 'f', -1, 64)
	}
	return append(dst, v.str...)
}

// number reads v as a number: a number, or a string holding one.
func (v scalar) number() (float64, bool) {
	switch v.kind {
	case scalarInt, scalarFloat:
		return v.num, true
	case scalarString:
		f, err := strconv.ParseFloat(strings.TrimSpace(v.str), 64)
		return f, err == nil
	}
	return 0, false
}

// canonicalNumber reports whether s is a number written the way text renders
// one, so that comparing numerically and comparing as text agree.
func canonicalNumber(s string) (float64, bool) {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, false
	}
	if i, err := strconv.ParseInt(s, 10, 64); err == nil {
		return f, strconv.FormatInt(i, 10) == s
	}
	return f, strconv.FormatFloat(f, 'f', -1, 64) == s
}
