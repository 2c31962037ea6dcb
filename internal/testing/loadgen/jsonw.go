package loadgen

import (
	"strconv"
	"time"
	"unicode/utf8"
)

// jw appends one JSON document. Records are written by hand, key by key in
// the order the vendor writes them, because encoding/json would sort map
// keys and cost ten times as much; the generator writes millions of records.
type jw struct {
	b     []byte
	comma bool
}

func (w *jw) sep() {
	if w.comma {
		w.b = append(w.b, ',')
	}
	w.comma = true
}

func (w *jw) key(k string) {
	w.sep()
	w.b = appendJSONString(w.b, k)
	w.b = append(w.b, ':')
	w.comma = false
}

func (w *jw) open() { w.sep(); w.b = append(w.b, '{'); w.comma = false }

func (w *jw) close() { w.b = append(w.b, '}'); w.comma = true }

func (w *jw) openArr() { w.sep(); w.b = append(w.b, '['); w.comma = false }

func (w *jw) closeArr() { w.b = append(w.b, ']'); w.comma = true }

// obj starts the object under key.
func (w *jw) obj(k string) { w.key(k); w.open() }

// arr starts the array under key.
func (w *jw) arr(k string) { w.key(k); w.openArr() }

func (w *jw) str(k, v string) { w.key(k); w.sep(); w.b = appendJSONString(w.b, v) }

func (w *jw) strVal(v string) { w.sep(); w.b = appendJSONString(w.b, v) }

func (w *jw) int(k string, v int64) { w.key(k); w.sep(); w.b = strconv.AppendInt(w.b, v, 10) }

func (w *jw) float(k string, v float64) {
	w.key(k)
	w.sep()
	w.b = strconv.AppendFloat(w.b, v, 'f', -1, 64)
}

func (w *jw) bool(k string, v bool) { w.key(k); w.sep(); w.b = strconv.AppendBool(w.b, v) }

func (w *jw) null(k string) { w.key(k); w.sep(); w.b = append(w.b, "null"...) }

// nameValue writes {"Name":n,"Value":v}, the pair of every O365 array.
func (w *jw) nameValue(n, v string) {
	w.open()
	w.str("Name", n)
	w.str("Value", v)
	w.close()
}

// idType writes {"ID":id,"Type":t}, an O365 Actor or Target entry.
func (w *jw) idType(id string, t int64) {
	w.open()
	w.str("ID", id)
	w.int("Type", t)
	w.close()
}

// appendJSONString quotes s as JSON does (RFC 8259), passing UTF-8 through.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		_, size := utf8.DecodeRuneInString(s[i:])
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// Vendor timestamp layouts.
const (
	// o365Time is the Management Activity API's CreationTime: UTC, no zone.
	o365Time = "2006-01-02T15:04:05"
	// graphTime is Graph's createdDateTime.
	graphTime = "2006-01-02T15:04:05Z"
	// azureTime is Azure Monitor's time: seven fraction digits.
	azureTime = "2006-01-02T15:04:05.0000000Z"
	// googleTime is the Reports API's id.time: milliseconds.
	googleTime = "2006-01-02T15:04:05.000Z"
)

func ts(t time.Time, layout string) string { return t.UTC().Format(layout) }
