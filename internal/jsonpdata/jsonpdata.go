// Package jsonpdata decodes JSON bytes straight into OpenTelemetry pdata
// values.
//
// Vendor audit records (Microsoft 365, Entra ID, Google Workspace) become log
// bodies as pcommon.Map. Going through encoding/json and map[string]any first
// costs an intermediate tree of interfaces and loses the key order, which
// pcommon.Map.FromRaw cannot restore; decoding in one pass into pdata avoids
// both. Input is untrusted, so every record is bounded by Limits, and no input
// makes the decoder panic.
//
// The decoding follows RFC 8259 with these choices, all made so that a vendor
// record survives intact where encoding/json would also accept it:
//   - Object keys keep their input order. A repeated key keeps its first
//     position and takes its last value, as encoding/json's "last wins".
//   - Integer literals that fit int64 become Int; every other number becomes
//     Double. A number beyond float64's range becomes ±Inf rather than an
//     error, so that one absurd field cannot cost the whole record.
//   - null becomes an empty Value (pcommon.ValueTypeEmpty).
//   - Invalid UTF-8 and unpaired surrogate escapes become U+FFFD, because
//     OTLP string fields must be valid UTF-8; encoding/json does the same.
//   - Raw control characters (bytes below 0x20) inside strings are kept
//     literally although RFC 8259 forbids them: real vendor exports contain
//     them, and rejecting such a record would lose audit evidence.
package jsonpdata

import (
	"strconv"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// Limits bound what one record may cost; zero fields take defaults.
type Limits struct {
	// MaxDepth is the deepest nesting of objects and arrays allowed, the
	// outermost counting as 1; default 64. It stops deep-nesting attacks,
	// which would otherwise cost stack in the decoder and in every later
	// consumer that walks the value recursively.
	MaxDepth int
	// MaxBytes is the largest input accepted; default 16 MiB. A larger input
	// is rejected before anything is decoded, so memory stays bounded by it.
	MaxBytes int
}

// Defaults for Limits fields that are zero (or negative).
const (
	defaultMaxDepth = 64
	defaultMaxBytes = 16 << 20
)

// SyntaxError reports why an input was rejected and where. Its text is meant
// to be stored with the record (for example as audit.parse_error), so it names
// the offending byte but never quotes input beyond that byte.
type SyntaxError struct {
	// Offset is the index in the input of the byte that made it invalid, or
	// the input length when the input ended too early.
	Offset int64
	Msg    string
}

func (e *SyntaxError) Error() string {
	return "jsonpdata: " + e.Msg + " at offset " + strconv.FormatInt(e.Offset, 10)
}

// DecodeMap decodes one JSON object into dest (dest is cleared first). On
// error dest may hold a partial result; the caller discards it. An input over
// Limits.MaxBytes leaves dest untouched.
func DecodeMap(data []byte, dest pcommon.Map, lim Limits) error {
	return decodeMap(data, string(data), dest, lim)
}

// DecodeMapString is DecodeMap for JSON that is already a string (a log
// body from filelog or kafka): decoded strings share it, where DecodeMap
// must first copy its bytes into one.
func DecodeMapString(text string, dest pcommon.Map, lim Limits) error {
	return decodeMap([]byte(text), text, dest, lim)
}

func decodeMap(data []byte, text string, dest pcommon.Map, lim Limits) error {
	d, err := getDecoder(data, text, lim)
	if err != nil {
		return err
	}
	defer d.release()
	dest.Clear()
	if err := d.start(); err != nil {
		return err
	}
	if c := d.data[d.pos]; c != '{' {
		if kind := valueKind(c); kind != "" {
			return syntaxError(d.pos, "top-level value is "+kind+", not an object")
		}
		return d.invalidChar(d.pos, "looking for beginning of object")
	}
	if err := d.object(dest); err != nil {
		return err
	}
	return d.finish()
}

// DecodeValue decodes any JSON value (object, array, string, number, bool,
// null) into dest, replacing what dest held. On error dest may hold a partial
// result; the caller discards it. An input over Limits.MaxBytes leaves dest
// untouched.
func DecodeValue(data []byte, dest pcommon.Value, lim Limits) error {
	d, err := getDecoder(data, string(data), lim)
	if err != nil {
		return err
	}
	defer d.release()
	// The decoder only ever writes into empty values, so that null needs no
	// work; FromRaw(nil) is the public way to empty a Value and cannot fail.
	_ = dest.FromRaw(nil)
	if err := d.start(); err != nil {
		return err
	}
	if err := d.value(dest); err != nil {
		return err
	}
	return d.finish()
}
