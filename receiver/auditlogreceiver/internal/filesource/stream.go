package filesource // import "github.com/otelsec/emailcompromise/receiver/auditlogreceiver/internal/filesource"

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/otelsec/emailcompromise/receiver/auditlogreceiver/internal/logrecord"
)

// A file is read as a stream of raw records: the format is detected from the
// stream's first bytes, then a JSON scanner or a CSV reader cuts records out
// of it without ever holding more than one record.

const (
	// readBufferSize is the read window, also the most the format detection
	// looks at (a CSV header must fit in it).
	readBufferSize = 64 << 10
	// PreviewBytes is how much of an oversized record is kept as its body;
	// max_record_bytes is never less, so that a preview is no larger than a
	// record may be.
	PreviewBytes = 64 << 10
	// anchorSize is how many bytes before a resume point are hashed into its
	// anchor: enough to hold the end of a record, whose id and time tell
	// one file's content from another's.
	anchorSize = 1024
)

var (
	// errIncomplete: the stream ends inside a record, which the writer may
	// still be completing.
	errIncomplete = errors.New("stream ends inside a record")
	// errTruncated: a compressed stream ends early, between records.
	errTruncated = errors.New("compressed stream ends early")
	// errBeyondEnd: the stream is shorter than the saved position, so the
	// file was rewritten in place.
	errBeyondEnd = errors.New("stream is shorter than the saved read position")
	// errContentChanged: the bytes before the saved position are not those
	// that were read there, so the file was replaced by other content that
	// starts alike.
	errContentChanged = errors.New("stream differs from what was read before the saved read position")
)

// fileReadError is an I/O error of the file itself, as opposed to bad data
// in it: the read is retried on a later poll.
type fileReadError struct{ err error }

func (e *fileReadError) Error() string { return e.err.Error() }
func (e *fileReadError) Unwrap() error { return e.err }

// corruptStreamError is compressed data that cannot be decompressed: nothing
// after it can be read, now or later.
type corruptStreamError struct{ err error }

func (e *corruptStreamError) Error() string { return "corrupt gzip stream: " + e.err.Error() }

// resumePoint is where reading continues: an offset in the decompressed
// stream, just after a record, and the JSON container the scanner was in
// there (CSV has none).
type resumePoint struct {
	Offset    int64     `json:"offset"`
	Container container `json:"container,omitempty"`
	// Anchor is the hash of the anchorSize bytes before Offset (all of them
	// when Offset is smaller). Reading resumes at Offset only where the
	// stream still holds those bytes: a file that starts like the one read
	// but goes on differently is read anew. Checkpoints saved before anchors
	// existed have none and are trusted as they were.
	Anchor string `json:"anchor,omitempty"`
	// Layout is the file's layout as found up to Offset: a resumed JSON
	// scanner goes on finding it from there (a single object followed by
	// another value becomes JSON lines).
	Layout Layout `json:"layout,omitempty"`
}

// recordReader cuts records out of a stream.
type recordReader interface {
	// next returns the next record. At the end it returns io.EOF,
	// errIncomplete, errTruncated, a *corruptStreamError or a
	// *fileReadError.
	next() (logrecord.Raw, error)
	// resumePoint is the position just after the last record next returned.
	resumePoint() resumePoint
	// currentLayout is the stream's layout as found so far.
	currentLayout() Layout
	// abandon returns what is pending after next failed (the partial record,
	// possibly empty) and moves the resume point to the end of what was read,
	// so that the failure is reported once.
	abandon() logrecord.Raw
}

// openRecords detects the format of the first size bytes of f and returns a
// reader positioned at pos. It returns errBeyondEnd or errContentChanged
// when the stream no longer holds what was read up to pos.
func openRecords(f *os.File, size int64, pos resumePoint, maxRecordBytes int) (recordReader, error) {
	var magic [2]byte
	if _, err := f.ReadAt(magic[:], 0); err != nil && !errors.Is(err, io.EOF) {
		return nil, &fileReadError{err}
	}
	compressed := magic == [2]byte{0x1f, 0x8b}
	var plain io.Reader = fileErrors{io.NewSectionReader(f, 0, size)}
	if compressed {
		plain = &lazyGzip{src: plain}
	}
	head := bufio.NewReaderSize(plain, readBufferSize)
	// A short or failed peek still shows what could be read; the error comes
	// back from the window once the records before it are out.
	prefix, _ := head.Peek(readBufferSize)
	start, auditColumn, csvLayout := detectFormat(prefix)
	target := max(pos.Offset, start)
	switch {
	case target == start:
		pos.Container, pos.Layout = containerNone, ""
	case pos.Layout == "":
		// Saved before layouts were kept: what came before is not known.
		pos.Layout = layoutUnknown
	}
	if auditColumn >= 0 {
		pos.Layout = csvLayout
	}

	var stream io.Reader
	before := make([]byte, min(target, anchorSize))
	if !compressed && target > int64(head.Buffered()) {
		// Seek past what was peeked rather than read it.
		if target > size {
			return nil, errBeyondEnd
		}
		if _, err := f.ReadAt(before, target-int64(len(before))); err != nil {
			if errors.Is(err, io.EOF) {
				return nil, errBeyondEnd // the file shrank since it was looked at
			}
			return nil, &fileReadError{err}
		}
		stream = fileErrors{io.NewSectionReader(f, target, size-target)}
	} else {
		// A gzip stream cannot seek: it is decompressed again up to target.
		skip := target - int64(len(before))
		if n, err := head.Discard(int(skip)); int64(n) < skip {
			return nil, shortStream(err)
		}
		if n, err := io.ReadFull(head, before); n < len(before) {
			return nil, shortStream(err)
		}
		stream = head
	}
	if pos.Anchor != "" && pos.Offset == target && fingerprint(before) != pos.Anchor {
		return nil, errContentChanged
	}
	w := newWindow(stream, compressed, resumePoint{Offset: target, Container: pos.Container, Layout: pos.Layout}, before)
	if auditColumn >= 0 {
		return newCSVReader(w, auditColumn, maxRecordBytes), nil
	}
	return newJSONScanner(w, maxRecordBytes), nil
}

// shortStream is the error of a stream that ended before the resume point:
// the file's own read error if there was one, else errBeyondEnd.
func shortStream(err error) error {
	var fileErr *fileReadError
	if errors.As(err, &fileErr) {
		return fileErr
	}
	return errBeyondEnd
}

var utf8BOM = []byte{0xef, 0xbb, 0xbf}

// detectFormat returns where records start (after a BOM, and after the
// header of a CSV export), the AuditData column of a Purview CSV export, or
// -1 for JSON, and the CSV export's layout (JSON's is the scanner's to find).
func detectFormat(prefix []byte) (start int64, auditColumn int, csvLayout Layout) {
	if bytes.HasPrefix(prefix, utf8BOM) {
		start = int64(len(utf8BOM))
	}
	body := prefix[start:]
	if first := bytes.TrimLeft(body, " \t\r\n"); len(first) == 0 || first[0] == '{' || first[0] == '[' {
		return start, -1, ""
	}
	// The header is one CSV record, which a quoted field may stretch over
	// several lines: encoding/csv reads it and says where it ended.
	r := csv.NewReader(bytes.NewReader(body))
	r.LazyQuotes = true
	r.FieldsPerRecord = -1
	header, err := r.Read()
	if err != nil {
		return start, -1, ""
	}
	end := r.InputOffset()
	if end == int64(len(body)) && len(prefix) == readBufferSize {
		return start, -1, "" // no end of the header in sight: not a CSV header
	}
	auditColumn = slices.IndexFunc(header, func(name string) bool { return columnIs(name, "AuditData") })
	switch {
	case auditColumn < 0:
		return start, -1, ""
	case slices.ContainsFunc(header, func(name string) bool { return columnIs(name, "RecordId") }):
		csvLayout = LayoutPurviewCSVRecordID
	case slices.ContainsFunc(header, func(name string) bool { return columnIs(name, "UserIds") }):
		csvLayout = LayoutPurviewCSVCreationDate
	default:
		csvLayout = LayoutPurviewCSV
	}
	return start + end, auditColumn, csvLayout
}

// columnIs reports whether a CSV header cell names column, as exports spell
// it in any case and with spaces around.
func columnIs(name, column string) bool {
	return strings.EqualFold(strings.TrimSpace(name), column)
}

// lazyGzip opens the gzip stream on first read, so that a broken header is
// reported by the window like any later corruption.
type lazyGzip struct {
	src io.Reader
	z   *gzip.Reader
	err error
}

func (l *lazyGzip) Read(p []byte) (int, error) {
	if l.z == nil {
		if l.err == nil {
			l.z, l.err = gzip.NewReader(l.src)
		}
		if l.err != nil {
			return 0, l.err
		}
	}
	return l.z.Read(p)
}

// fileErrors marks the errors of reading the file itself.
type fileErrors struct{ r io.Reader }

func (f fileErrors) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	if err != nil && err != io.EOF {
		err = &fileReadError{err}
	}
	return n, err
}

// window is the read buffer that the record readers scan in place. It also
// keeps the resume point, with the bytes before it that make its anchor.
type window struct {
	r        io.Reader
	buf      []byte
	pos, end int   // buf[pos:end] is not yet consumed
	base     int64 // stream offset of buf[0]
	// err ends the stream: io.EOF, *fileReadError or *corruptStreamError.
	err        error
	compressed bool
	// truncated: the compressed stream ended early (err is io.EOF then).
	truncated bool

	// history is the last anchorSize bytes before buf[0]; spare is the
	// buffer the next history is built in.
	history, spare []byte
	// resumeAt and resumeIn are the resume point: just after the last record
	// handed out. resumeTail holds the bytes before it once they have left
	// buf (resumeTailKept). resumeLayout is the stream's layout as found
	// up to there.
	resumeAt       int64
	resumeIn       container
	resumeLayout   Layout
	resumeTail     []byte
	resumeTailKept bool
}

// newWindow reads r from the resume point at, which before precedes.
func newWindow(r io.Reader, compressed bool, at resumePoint, before []byte) *window {
	w := &window{
		r: r, buf: make([]byte, readBufferSize), base: at.Offset, compressed: compressed,
		history:  append(make([]byte, 0, anchorSize), before...),
		spare:    make([]byte, 0, anchorSize),
		resumeIn: at.Container, resumeLayout: at.Layout,
	}
	w.commit(at.Container)
	return w
}

// offset is the stream offset of the next unconsumed byte.
func (w *window) offset() int64 { return w.base + int64(w.pos) }

// commit moves the resume point to the current offset, inside container c.
func (w *window) commit(c container) {
	w.resumeAt, w.resumeIn, w.resumeTailKept = w.offset(), c, false
}

func (w *window) resumePoint() resumePoint {
	tail := w.resumeTail
	if !w.resumeTailKept {
		tail = w.appendBytesBefore(w.spare[:0], w.resumeAt)
	}
	return resumePoint{Offset: w.resumeAt, Container: w.resumeIn, Anchor: fingerprint(tail), Layout: w.resumeLayout}
}

// appendBytesBefore appends the anchorSize bytes before offset, which must
// lie within buf[:end], to dst.
func (w *window) appendBytesBefore(dst []byte, offset int64) []byte {
	inBuf := w.buf[:offset-w.base]
	if len(inBuf) >= anchorSize {
		return append(dst, inBuf[len(inBuf)-anchorSize:]...)
	}
	dst = append(dst, w.history[max(len(w.history)+len(inBuf)-anchorSize, 0):]...)
	return append(dst, inBuf...)
}

// fill replaces the consumed window with the next bytes of the stream and
// reports whether there are any.
func (w *window) fill() bool {
	if w.err != nil {
		return false
	}
	// Keep what the anchors need of the bytes about to be overwritten.
	if !w.resumeTailKept {
		w.resumeTail = w.appendBytesBefore(w.resumeTail[:0], w.resumeAt)
		w.resumeTailKept = true
	}
	w.history, w.spare = w.appendBytesBefore(w.spare[:0], w.base+int64(w.end)), w.history
	w.base += int64(w.end)
	w.pos, w.end = 0, 0
	for empty := 0; w.end == 0; empty++ {
		n, err := w.r.Read(w.buf)
		w.end = n
		if err != nil {
			w.setErr(err)
			break
		}
		if empty == 100 {
			w.err = &fileReadError{io.ErrNoProgress}
			break
		}
	}
	return w.end > 0
}

func (w *window) setErr(err error) {
	var fileErr *fileReadError
	switch {
	case err == io.EOF || errors.As(err, &fileErr):
		w.err = err
	case w.compressed && errors.Is(err, io.ErrUnexpectedEOF):
		w.err, w.truncated = io.EOF, true
	case w.compressed:
		w.err = &corruptStreamError{err}
	default:
		w.err = &fileReadError{err}
	}
}

// endError is what a reader returns when the window is exhausted and no
// record is in progress.
func (w *window) endError() error {
	switch {
	case w.err != io.EOF:
		return w.err
	case w.truncated:
		return errTruncated
	}
	return io.EOF
}

// recordBuffer collects one record's bytes up to limit; past it, only the
// first PreviewBytes are kept and the rest is only counted, so an oversized
// record costs no more memory than a normal one.
type recordBuffer struct {
	data   []byte
	size   int64 // bytes written, kept or not
	start  int64 // stream offset of the first byte
	limit  int
	active bool
}

func (b *recordBuffer) begin(offset int64) {
	b.data, b.size, b.start, b.active = b.data[:0], 0, offset, true
}

func (b *recordBuffer) write(p []byte) {
	b.size += int64(len(p))
	if b.size <= int64(b.limit) {
		b.data = append(b.data, p...)
		return
	}
	if len(b.data) > PreviewBytes {
		b.data = b.data[:PreviewBytes]
	}
	b.data = appendCapped(b.data, p, PreviewBytes)
}

// take ends the record and returns it.
func (b *recordBuffer) take() logrecord.Raw {
	b.active = false
	r := logrecord.Raw{Data: b.data, Offset: b.start}
	if b.size > int64(b.limit) {
		r.Data = trimPartialRune(r.Data)
		r.Problem = fmt.Sprintf("record of %d bytes at offset %d exceeds max_record_bytes (%d); the body holds its first %d bytes",
			b.size, b.start, b.limit, len(r.Data))
	}
	return r
}

// appendCapped appends as much of src as keeps dst within limit bytes.
func appendCapped(dst, src []byte, limit int) []byte {
	if room := limit - len(dst); room < len(src) {
		src = src[:max(room, 0)]
	}
	return append(dst, src...)
}

// trimPartialRune drops a UTF-8 sequence cut off at the end of p, so that a
// preview of valid text stays valid text.
func trimPartialRune(p []byte) []byte {
	for i := len(p) - 1; i >= 0 && i >= len(p)-utf8.UTFMax; i-- {
		if utf8.RuneStart(p[i]) {
			if !utf8.FullRune(p[i:]) {
				return p[:i]
			}
			break
		}
	}
	return p
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\r' || c == '\n'
}
