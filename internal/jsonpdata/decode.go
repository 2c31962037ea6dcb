package jsonpdata

import (
	"bytes"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/xpdata"
)

// decoder is a recursive-descent parser over one input. Recursion is safe
// because depth is checked against maxDepth before each descent.
type decoder struct {
	data []byte
	// text is data converted to a string once. Strings without escapes are
	// sliced from it rather than converted one by one: that saves an
	// allocation per key and per value, and costs nothing in retained memory
	// because a record body keeps almost all of its text anyway.
	text     string
	pos      int
	depth    int
	maxDepth int
	// scratch holds the decoded bytes of strings that cannot be sliced
	// straight out of data (escapes, invalid UTF-8); it is reused so that each
	// such string costs only its final string conversion.
	scratch []byte
	// levels[i] is the scratch space for containers at depth i+1.
	levels []*level
	// builder assembles each object's final Map; see level.moveToMap.
	builder xpdata.MapBuilder
}

// getDecoder returns a decoder for data (and text, its string form) from
// decoderPool; the caller must release it.
func getDecoder(data []byte, text string, lim Limits) (*decoder, error) {
	maxBytes := lim.MaxBytes
	if maxBytes <= 0 {
		maxBytes = defaultMaxBytes
	}
	if len(data) > maxBytes {
		return nil, syntaxError(maxBytes,
			"input of "+strconv.Itoa(len(data))+" bytes exceeds the limit of "+strconv.Itoa(maxBytes)+" bytes")
	}
	maxDepth := lim.MaxDepth
	if maxDepth <= 0 {
		maxDepth = defaultMaxDepth
	}
	d := decoderPool.Get().(*decoder)
	d.data, d.text, d.maxDepth = data, text, maxDepth
	return d, nil
}

// start moves to the first value, rejecting input that has none.
func (d *decoder) start() error {
	d.skipSpace()
	if d.pos == len(d.data) {
		return syntaxError(d.pos, "empty input")
	}
	return nil
}

// finish rejects anything but whitespace after the top-level value, so that
// two concatenated records are not silently read as the first one.
func (d *decoder) finish() error {
	d.skipSpace()
	if d.pos < len(d.data) {
		return d.invalidChar(d.pos, "after top-level value")
	}
	return nil
}

func (d *decoder) skipSpace() {
	for d.pos < len(d.data) {
		switch d.data[d.pos] {
		case ' ', '\t', '\n', '\r':
			d.pos++
		default:
			return
		}
	}
}

// value decodes the value at d.pos into v, which must be empty.
func (d *decoder) value(v pcommon.Value) error {
	d.skipSpace()
	if d.pos == len(d.data) {
		return d.unexpectedEnd()
	}
	switch c := d.data[d.pos]; c {
	case '{':
		return d.object(v.SetEmptyMap())
	case '[':
		return d.array(v.SetEmptySlice())
	case '"':
		s, err := d.str()
		if err != nil {
			return err
		}
		v.SetStr(s)
	case 't':
		if err := d.literal("true"); err != nil {
			return err
		}
		v.SetBool(true)
	case 'f':
		if err := d.literal("false"); err != nil {
			return err
		}
		v.SetBool(false)
	case 'n':
		// v is already empty, which is how pdata represents null.
		return d.literal("null")
	default:
		if c == '-' || isDigit(c) {
			return d.number(v)
		}
		return d.invalidChar(d.pos, "looking for beginning of value")
	}
	return nil
}

// enter steps into the '{' or '[' at d.pos, refusing to nest deeper than
// maxDepth.
func (d *decoder) enter() error {
	d.depth++
	if d.depth > d.maxDepth {
		return syntaxError(d.pos, "nesting depth exceeds the limit of "+strconv.Itoa(d.maxDepth))
	}
	d.pos++
	return nil
}

// object decodes the object at d.pos into m, which must be empty.
func (d *decoder) object(m pcommon.Map) error {
	if err := d.enter(); err != nil {
		return err
	}
	d.skipSpace()
	if d.pos < len(d.data) && d.data[d.pos] == '}' {
		d.pos++
		d.depth--
		return nil
	}
	lv := d.level()
	for {
		if d.pos == len(d.data) {
			return d.unexpectedEnd()
		}
		if d.data[d.pos] != '"' {
			return d.invalidChar(d.pos, "looking for beginning of object key string")
		}
		key, err := d.str()
		if err != nil {
			return err
		}
		d.skipSpace()
		if d.pos == len(d.data) {
			return d.unexpectedEnd()
		}
		if d.data[d.pos] != ':' {
			return d.invalidChar(d.pos, "after object key")
		}
		d.pos++

		if err := d.value(lv.put(key)); err != nil {
			return err
		}

		d.skipSpace()
		if d.pos == len(d.data) {
			return d.unexpectedEnd()
		}
		switch d.data[d.pos] {
		case ',':
			d.pos++
			d.skipSpace()
		case '}':
			d.pos++
			d.depth--
			lv.moveToMap(&d.builder, m)
			return nil
		default:
			return d.invalidChar(d.pos, "after object key:value pair")
		}
	}
}

// array decodes the array at d.pos into s, which must be empty.
func (d *decoder) array(s pcommon.Slice) error {
	if err := d.enter(); err != nil {
		return err
	}
	d.skipSpace()
	if d.pos < len(d.data) && d.data[d.pos] == ']' {
		d.pos++
		d.depth--
		return nil
	}
	lv := d.level()
	for {
		if err := d.value(lv.append()); err != nil {
			return err
		}
		d.skipSpace()
		if d.pos == len(d.data) {
			return d.unexpectedEnd()
		}
		switch d.data[d.pos] {
		case ',':
			d.pos++
		case ']':
			d.pos++
			d.depth--
			lv.moveToSlice(s)
			return nil
		default:
			return d.invalidChar(d.pos, "after array element")
		}
	}
}

// literal consumes word (true, false or null), whose first byte is at d.pos.
func (d *decoder) literal(word string) error {
	for i := 1; i < len(word); i++ {
		p := d.pos + i
		if p == len(d.data) {
			return d.unexpectedEnd()
		}
		if d.data[p] != word[i] {
			return d.invalidChar(p, "in literal "+word+" (expecting "+quoteByte(word[i])+")")
		}
	}
	d.pos += len(word)
	return nil
}

// number decodes the number at d.pos into v. The grammar is checked here, so
// strconv only ever sees well-formed literals.
func (d *decoder) number(v pcommon.Value) error {
	data := d.data
	start := d.pos
	i := start
	if data[i] == '-' {
		i++
	}
	intStart := i
	switch {
	case i == len(data):
		return d.unexpectedEnd()
	case data[i] == '0':
		i++
	case isDigit(data[i]):
		for i < len(data) && isDigit(data[i]) {
			i++
		}
	default:
		return d.invalidChar(i, "in numeric literal")
	}
	intEnd := i
	if i < len(data) && data[i] == '.' {
		i++
		if i == len(data) {
			return d.unexpectedEnd()
		}
		if !isDigit(data[i]) {
			return d.invalidChar(i, "after decimal point in numeric literal")
		}
		for i < len(data) && isDigit(data[i]) {
			i++
		}
	}
	if i < len(data) && (data[i] == 'e' || data[i] == 'E') {
		i++
		if i < len(data) && (data[i] == '+' || data[i] == '-') {
			i++
		}
		if i == len(data) {
			return d.unexpectedEnd()
		}
		if !isDigit(data[i]) {
			return d.invalidChar(i, "in exponent of numeric literal")
		}
		for i < len(data) && isDigit(data[i]) {
			i++
		}
	}
	d.pos = i

	if i == intEnd {
		// 18 decimal digits always fit int64, so most integers skip strconv;
		// 20 or more never do, so they skip a ParseInt bound to fail.
		switch digits := data[intStart:intEnd]; {
		case len(digits) <= 18:
			var n int64
			for _, c := range digits {
				n = n*10 + int64(c-'0')
			}
			if intStart != start {
				n = -n
			}
			v.SetInt(n)
			return nil
		case len(digits) == 19:
			if n, err := strconv.ParseInt(string(data[start:i]), 10, 64); err == nil {
				v.SetInt(n)
				return nil
			}
		}
	}
	// The literal is well-formed, so the only possible error is ErrRange, for
	// which ParseFloat returns the ±Inf that we keep.
	f, _ := strconv.ParseFloat(string(data[start:i]), 64)
	v.SetDouble(f)
	return nil
}

// str decodes the string whose opening quote is at d.pos and leaves d.pos
// after its closing quote.
func (d *decoder) str() (string, error) {
	start := d.pos + 1
	// Most strings have no escapes and are valid UTF-8; bytes.IndexByte and
	// utf8.Valid check that much faster than a byte-at-a-time loop.
	end := bytes.IndexByte(d.data[start:], '"')
	if end >= 0 {
		raw := d.data[start : start+end]
		if bytes.IndexByte(raw, '\\') < 0 && utf8.Valid(raw) {
			d.pos = start + end + 1
			return d.text[start : start+end], nil
		}
	}
	return d.strSlow(start)
}

// strSlow decodes a string starting at start, just after its opening quote,
// resolving escapes and replacing invalid UTF-8 the way encoding/json does.
func (d *decoder) strSlow(start int) (string, error) {
	data := d.data
	buf := d.scratch[:0]
	i := start
	for {
		if i == len(data) {
			return "", d.unexpectedEnd()
		}
		c := data[i]
		switch {
		case c == '"':
			d.pos = i + 1
			d.scratch = buf
			return string(buf), nil
		case c == '\\':
			i++
			if i == len(data) {
				return "", d.unexpectedEnd()
			}
			switch esc := data[i]; esc {
			case '"', '\\', '/':
				buf = append(buf, esc)
				i++
			case 'b':
				buf = append(buf, '\b')
				i++
			case 'f':
				buf = append(buf, '\f')
				i++
			case 'n':
				buf = append(buf, '\n')
				i++
			case 'r':
				buf = append(buf, '\r')
				i++
			case 't':
				buf = append(buf, '\t')
				i++
			case 'u':
				r, err := d.hex4(i + 1)
				if err != nil {
					return "", err
				}
				i += 5
				if utf16.IsSurrogate(r) {
					// Only a high surrogate directly followed by an escaped low
					// surrogate is a character; anything else is replaced and
					// the following escape is decoded on its own.
					high := r
					r = utf8.RuneError
					if i+1 < len(data) && data[i] == '\\' && data[i+1] == 'u' {
						if low, err := d.hex4(i + 2); err == nil {
							if pair := utf16.DecodeRune(high, low); pair != utf8.RuneError {
								r = pair
								i += 6
							}
						}
					}
				}
				buf = utf8.AppendRune(buf, r)
			default:
				return "", d.invalidChar(i, "in string escape code")
			}
		case c < utf8.RuneSelf:
			// Bytes below 0x20 land here too: accepted literally, see the
			// package comment.
			buf = append(buf, c)
			i++
		default:
			r, size := utf8.DecodeRune(data[i:])
			if r == utf8.RuneError && size == 1 {
				buf = utf8.AppendRune(buf, utf8.RuneError)
			} else {
				buf = append(buf, data[i:i+size]...)
			}
			i += size
		}
	}
}

// hex4 decodes the four hex digits of a \u escape starting at i.
func (d *decoder) hex4(i int) (rune, error) {
	var r rune
	for j := i; j < i+4; j++ {
		if j == len(d.data) {
			return 0, d.unexpectedEnd()
		}
		c := d.data[j]
		switch {
		case isDigit(c):
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, d.invalidChar(j, "in \\u hexadecimal character escape")
		}
		r = r<<4 | rune(c)
	}
	return r, nil
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func syntaxError(offset int, msg string) error {
	return &SyntaxError{Offset: int64(offset), Msg: msg}
}

func (d *decoder) unexpectedEnd() error {
	return syntaxError(len(d.data), "unexpected end of JSON input")
}

func (d *decoder) invalidChar(offset int, context string) error {
	return syntaxError(offset, "invalid character "+quoteByte(d.data[offset])+" "+context)
}

// quoteByte renders c for an error message. Bytes outside printable ASCII
// are shown as hex escapes so the message stays one clean line of ASCII.
func quoteByte(c byte) string {
	switch {
	case c == '\'':
		return `'\''`
	case c >= 0x20 && c < 0x7f:
		return "'" + string(c) + "'"
	default:
		return `'\x` + strconv.FormatUint(uint64(c)>>4, 16) + strconv.FormatUint(uint64(c)&0xf, 16) + "'"
	}
}

// valueKind names the kind of JSON value that starts with c, or returns ""
// if no value starts with c.
func valueKind(c byte) string {
	switch {
	case c == '[':
		return "an array"
	case c == '"':
		return "a string"
	case c == 't' || c == 'f':
		return "a boolean"
	case c == 'n':
		return "null"
	case c == '-' || isDigit(c):
		return "a number"
	}
	return ""
}
