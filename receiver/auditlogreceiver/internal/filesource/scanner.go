package filesource // import "github.com/otelsec/emailcompromise/receiver/auditlogreceiver/internal/filesource"

import (
	"bytes"
	"fmt"
	"io"

	"github.com/otelsec/emailcompromise/receiver/auditlogreceiver/internal/logrecord"
)

// The JSON scanner finds record boundaries without decoding: it tracks
// strings, escapes and nesting depth only, so it runs near memory speed and
// needs no memory beyond the record it is cutting out. Decoding is left to
// jsonpdata, once per record.
//
// Accepted layouts, mixed freely in one stream:
//   - top-level objects, one per line or concatenated: each is a record;
//   - a top-level array: each element is a record;
//   - a top-level envelope object, i.e. one whose "value", "records" or
//     "items" key holds an array (Graph pages, Azure Monitor exports, Reports
//     API pages): each element of that array is a record, the rest of the
//     envelope is skipped.
//
// Every element slot yields exactly one record, so bad input is passed on,
// never dropped: a scalar element or a junk line becomes a record that fails
// to decode, and an empty slot (",," or ",]") becomes a problem record.

// container is what the scanner is inside of between two records. With the
// offset it is all that is needed to resume there.
type container uint8

const (
	containerNone     container = iota // between top-level values
	containerArray                     // in a top-level array
	containerEnvelope                  // in the record array of an envelope object
)

type scanState uint8

const (
	stateTopLevel     scanState = iota // between top-level values
	stateElementStart                  // in a record array, after '[' or ','
	stateElementEnd                    // in a record array, after an element
	stateValue                         // in an object, array or string
	stateScalar                        // in a scalar element, or a junk line at top level
)

// keyPhase follows the members of a top-level object, at its own depth only,
// to notice an envelope key followed by an array.
type keyPhase uint8

const (
	phaseKeyExpected keyPhase = iota
	phaseInKey
	phaseColonExpected
	phaseValueExpected
	phaseInValue
)

// maxEnvelopeKey is the longest envelope key ("records").
const maxEnvelopeKey = 7

type jsonScanner struct {
	w         *window
	state     scanState
	container container
	rec       recordBuffer
	// layout is what the scanner has found of the stream's layout so far;
	// the window keeps the layout at the resume point.
	layout Layout
	// valueIsRecord: the value in progress is an object or array, not a
	// scalar (a junk line at top level).
	valueIsRecord bool

	// The value in progress.
	depth    int
	inString bool
	escaped  bool
	// lastSignificant is the last byte outside strings; it tells a newline
	// that ends a cut-short record from a newline between valid tokens.
	lastSignificant byte
	// newlineSeen: the previous byte was a newline inside a top-level value.
	newlineSeen bool
	// topObject: the value is a top-level object, whose keys are watched.
	topObject bool
	// envelopeTail: the value is an envelope object after its record array,
	// skipped to its end and not a record.
	envelopeTail bool
	phase        keyPhase
	key          [maxEnvelopeKey]byte
	keyLen       int // may exceed len(key): then the key is no envelope key

	// The record array in progress.
	afterComma  bool
	commaOffset int64
}

// newJSONScanner scans from the window's resume point, in its container.
func newJSONScanner(w *window, maxRecordBytes int) *jsonScanner {
	s := &jsonScanner{w: w, container: w.resumeIn, rec: recordBuffer{limit: maxRecordBytes}, layout: w.resumeLayout}
	if s.container != containerNone {
		s.state = stateElementEnd
	}
	return s
}

func (s *jsonScanner) resumePoint() resumePoint { return s.w.resumePoint() }

func (s *jsonScanner) currentLayout() Layout { return s.layout }

// commit moves the resume point to the current offset, inside container c,
// with the layout found so far.
func (s *jsonScanner) commit(c container) {
	s.w.commit(c)
	s.w.resumeLayout = s.layout
}

// topLevelValue notes a top-level value of the given layout: the first
// names the stream's layout, and a second one after a single object makes
// it JSON lines.
func (s *jsonScanner) topLevelValue(l Layout) {
	switch s.layout {
	case "":
		s.layout = l
	case LayoutSingleObject:
		s.layout = LayoutJSONLines
	}
}

func (s *jsonScanner) next() (logrecord.Raw, error) {
	for {
		if s.w.pos == s.w.end && !s.w.fill() {
			return logrecord.Raw{}, s.atEnd()
		}
		var rec logrecord.Raw
		var ok bool
		switch s.state {
		case stateTopLevel:
			s.scanTopLevel()
		case stateElementStart, stateElementEnd:
			rec, ok = s.scanBetweenElements()
		case stateValue:
			rec, ok = s.scanValue()
		case stateScalar:
			rec, ok = s.scanScalar()
		}
		if ok {
			return rec, nil
		}
	}
}

func (s *jsonScanner) atEnd() error {
	if s.rec.active && s.w.err == io.EOF {
		return errIncomplete
	}
	err := s.w.endError()
	if err == io.EOF && s.state == stateTopLevel {
		s.commit(containerNone)
	}
	return err
}

func (s *jsonScanner) abandon() logrecord.Raw {
	r := logrecord.Raw{Offset: s.w.offset()}
	if s.rec.active {
		r = s.rec.take()
	}
	s.state, s.container = stateTopLevel, containerNone
	s.commit(containerNone)
	return r
}

func (s *jsonScanner) scanTopLevel() {
	w := s.w
	for i := w.pos; i < w.end; i++ {
		switch c := w.buf[i]; {
		case isSpace(c):
		case c == '{':
			w.pos = i
			s.beginValue(true)
			return
		case c == '[':
			w.pos = i + 1
			s.container, s.state, s.afterComma = containerArray, stateElementStart, false
			s.topLevelValue(LayoutJSONArray)
			return
		default:
			w.pos = i
			s.beginScalar()
			return
		}
	}
	w.pos = w.end
	s.commit(containerNone)
}

func (s *jsonScanner) beginValue(topObject bool) {
	s.rec.begin(s.w.offset())
	s.state, s.valueIsRecord = stateValue, true
	s.depth, s.inString, s.escaped, s.newlineSeen = 0, false, false, false
	s.lastSignificant = 0
	s.topObject, s.envelopeTail, s.phase = topObject, false, phaseKeyExpected
}

func (s *jsonScanner) beginScalar() {
	s.rec.begin(s.w.offset())
	s.state, s.valueIsRecord = stateScalar, false
}

// scanBetweenElements reads the separators of a record array up to the next
// element or the array's end; an empty slot is returned as a problem record.
func (s *jsonScanner) scanBetweenElements() (logrecord.Raw, bool) {
	w := s.w
	for i := w.pos; i < w.end; i++ {
		c := w.buf[i]
		switch {
		case isSpace(c):
		case c == ',' && s.state == stateElementEnd:
			s.state, s.afterComma, s.commaOffset = stateElementStart, true, w.base+int64(i)
		case c == ',':
			w.pos = i + 1
			s.afterComma, s.commaOffset = true, w.base+int64(i)
			return s.problem(fmt.Sprintf("empty array element: stray ',' at offset %d", w.base+int64(i))), true
		case c == ']' && s.state == stateElementStart && s.afterComma:
			// Report the slot, then close the array on the next call.
			w.pos, s.state = i, stateElementEnd
			return s.problem(fmt.Sprintf("trailing ',' at offset %d before ']'", s.commaOffset)), true
		case c == ']':
			w.pos = i + 1
			s.closeArray()
			return logrecord.Raw{}, false
		default:
			// A missing comma loses nothing, so the next element is read
			// as if it were there.
			w.pos = i
			if c == '{' || c == '[' || c == '"' {
				s.beginValue(false)
			} else {
				s.beginScalar()
			}
			return logrecord.Raw{}, false
		}
	}
	w.pos = w.end
	return logrecord.Raw{}, false
}

func (s *jsonScanner) problem(msg string) logrecord.Raw {
	s.commit(s.container)
	return logrecord.Raw{Offset: s.w.offset(), Problem: msg}
}

func (s *jsonScanner) closeArray() {
	if s.container == containerArray {
		s.state, s.container = stateTopLevel, containerNone
		s.commit(containerNone)
		return
	}
	// The envelope object goes on after its record array: skip the rest.
	s.state, s.container = stateValue, containerNone
	s.depth, s.inString, s.escaped, s.newlineSeen = 1, false, false, false
	s.lastSignificant = ']'
	s.topObject, s.envelopeTail, s.phase = true, true, phaseInValue
}

// scanValue follows an object, array or string to its end.
func (s *jsonScanner) scanValue() (logrecord.Raw, bool) {
	w := s.w
	buf := w.buf[:w.end]
	segment := w.pos
	topLevel := s.container == containerNone
	for i := w.pos; i < len(buf); {
		if s.newlineSeen {
			s.newlineSeen = false
			if buf[i] == '{' && (s.inString || !valueMayFollow(s.lastSignificant)) {
				return s.cutAt(buf[segment:i], i)
			}
		}
		if s.inString {
			if s.escaped {
				s.escaped = false
				i++
				continue
			}
			n, closed, escaped := stringContent(buf[i:])
			content := buf[i : i+n]
			if s.phase == phaseInKey {
				s.keepKey(content)
			}
			if topLevel {
				if cut, ok := s.newlineInString(buf, i, content); ok {
					return s.cutAt(buf[segment:cut], cut)
				}
			}
			i += n
			if !closed {
				s.escaped = escaped
				continue
			}
			s.inString, s.lastSignificant = false, '"'
			if s.phase == phaseInKey {
				s.phase = phaseColonExpected
			}
			i++
			if s.depth == 0 { // a string element
				s.write(buf[segment:i])
				w.pos = i
				return s.endValue()
			}
			continue
		}
		c := buf[i]
		i++
		watchKeys := s.topObject && s.depth == 1
		switch c {
		case ' ', '\t', '\r':
			continue
		case '\n':
			s.newlineSeen = topLevel
			continue
		case '"':
			s.inString = true
			if watchKeys {
				switch s.phase {
				case phaseKeyExpected:
					s.phase, s.keyLen = phaseInKey, 0
				case phaseValueExpected:
					s.phase = phaseInValue
				}
			}
		case '{', '[':
			if watchKeys && s.phase == phaseValueExpected {
				if c == '[' && s.isEnvelopeKey() {
					w.pos = i
					s.enterEnvelope()
					return logrecord.Raw{}, false
				}
				s.phase = phaseInValue
			}
			s.depth++
			if s.topObject && s.depth == 1 {
				s.phase = phaseKeyExpected
			}
		case '}', ']':
			s.depth--
			if s.depth <= 0 {
				s.write(buf[segment:i])
				w.pos = i
				return s.endValue()
			}
		case ',':
			if watchKeys {
				s.phase = phaseKeyExpected
			}
		case ':':
			if watchKeys && s.phase == phaseColonExpected {
				s.phase = phaseValueExpected
			}
		default:
			if watchKeys && s.phase == phaseValueExpected {
				s.phase = phaseInValue
			}
		}
		s.lastSignificant = c
	}
	s.write(buf[segment:])
	w.pos = w.end
	return logrecord.Raw{}, false
}

// stringContent measures the string content at the start of p: up to the
// closing quote (closed), or all of p, which then may end in the first half
// of an escape. It jumps from quote to quote, as most record bytes are
// string content.
func stringContent(p []byte) (n int, closed, escaped bool) {
	for from := 0; ; {
		q := bytes.IndexByte(p[from:], '"')
		if q < 0 {
			return len(p), false, backslashesBefore(p, len(p))%2 == 1
		}
		q += from
		if backslashesBefore(p, q)%2 == 0 {
			return q, true, false
		}
		from = q + 1
	}
}

func backslashesBefore(p []byte, end int) int {
	n := 0
	for end-n > 0 && p[end-n-1] == '\\' {
		n++
	}
	return n
}

// newlineInString looks for a line that starts with '{' inside the string
// content at buf[at:]: a raw newline cannot be in a JSON string, so the
// record was cut short there. It returns where the new record starts.
func (s *jsonScanner) newlineInString(buf []byte, at int, content []byte) (int, bool) {
	for from := 0; ; {
		nl := bytes.IndexByte(content[from:], '\n')
		if nl < 0 {
			return 0, false
		}
		next := at + from + nl + 1
		if next == len(buf) {
			s.newlineSeen = true
			return 0, false
		}
		if buf[next] == '{' {
			return next, true
		}
		from += nl + 1
	}
}

// cutAt ends the value in progress with the bytes in tail, where a new line
// starts a new object where none can start: the record before was cut short
// (a JSON line that lost its end). Ending it there keeps the next one whole.
func (s *jsonScanner) cutAt(tail []byte, next int) (logrecord.Raw, bool) {
	s.write(tail)
	s.w.pos = next
	s.inString, s.escaped = false, false
	return s.endValue()
}

// valueMayFollow reports whether a JSON value may come after c, the last
// byte outside strings.
func valueMayFollow(c byte) bool {
	return c == '[' || c == ',' || c == ':'
}

// keepKey collects the key being read. A key with an escape is never taken
// for an envelope key: keys are compared as written.
func (s *jsonScanner) keepKey(p []byte) {
	if s.keyLen+len(p) <= maxEnvelopeKey && bytes.IndexByte(p, '\\') < 0 {
		copy(s.key[s.keyLen:], p)
		s.keyLen += len(p)
		return
	}
	s.keyLen = maxEnvelopeKey + 1
}

func (s *jsonScanner) isEnvelopeKey() bool {
	if s.keyLen > maxEnvelopeKey {
		return false
	}
	switch string(s.key[:s.keyLen]) {
	case "value", "records", "items":
		return true
	}
	return false
}

// enterEnvelope drops what was collected of the envelope object, which is no
// record, and reads its array's elements as records.
func (s *jsonScanner) enterEnvelope() {
	s.topLevelValue(envelopeLayout(string(s.key[:s.keyLen])))
	s.rec.active = false
	s.state, s.container, s.afterComma = stateElementStart, containerEnvelope, false
}

func (s *jsonScanner) write(p []byte) {
	if s.rec.active {
		s.rec.write(p)
	}
}

// endValue finishes the value in progress: a record, or the end of an
// envelope object.
func (s *jsonScanner) endValue() (logrecord.Raw, bool) {
	if s.container == containerNone {
		s.state = stateTopLevel
	} else {
		s.state = stateElementEnd
	}
	if s.envelopeTail {
		s.envelopeTail = false
		s.commit(containerNone)
		return logrecord.Raw{}, false
	}
	if s.container == containerNone {
		if s.valueIsRecord {
			s.topLevelValue(LayoutSingleObject)
		} else {
			s.topLevelValue(LayoutJSONLines)
		}
	}
	s.commit(s.container)
	return s.rec.take(), true
}

// scanScalar reads a scalar element up to its separator, or a junk line at
// top level up to its end.
func (s *jsonScanner) scanScalar() (logrecord.Raw, bool) {
	w := s.w
	buf := w.buf[:w.end]
	var end int
	if s.container == containerNone {
		i := bytes.IndexByte(buf[w.pos:], '\n')
		if i < 0 {
			s.write(buf[w.pos:])
			w.pos = w.end
			return logrecord.Raw{}, false
		}
		end = w.pos + i + 1
	} else {
		end = w.pos
		for end < len(buf) && buf[end] != ',' && buf[end] != ']' && !isSpace(buf[end]) {
			end++
		}
		if end == len(buf) {
			s.write(buf[w.pos:])
			w.pos = w.end
			return logrecord.Raw{}, false
		}
	}
	s.write(buf[w.pos:end])
	w.pos = end
	return s.endValue()
}
