package filesource // import "github.com/otelsec/emailcompromise/receiver/auditlogreceiver/internal/filesource"

import (
	"bytes"
	"fmt"
	"io"

	"github.com/otelsec/emailcompromise/receiver/auditlogreceiver/internal/logrecord"
)

// csvReader reads the AuditData column of a Purview / Search-UnifiedAuditLog
// CSV export (RFC 4180: quoted cells, "" escapes, line breaks inside quotes)
// and returns each cell, unescaped, as a record. It streams like the JSON
// scanner: encoding/csv would hold whole rows with no bound on their size.
// The other columns repeat what AuditData holds and are not kept.
type csvReader struct {
	w           *window
	auditColumn int
	cell        recordBuffer
	// row keeps the first bytes of the raw row, the body of a row that has
	// no AuditData cell.
	row      []byte
	rowStart int64
	inRow    bool
	field    int
	// fieldStart: no byte of the current field read yet.
	fieldStart bool
	quoted     bool
	// quotePending: in a quoted field, a '"' was read that either closes the
	// field or starts a "" escape, depending on the next byte.
	quotePending bool
}

var doubleQuote = []byte{'"'}

func newCSVReader(w *window, auditColumn, maxRecordBytes int) *csvReader {
	return &csvReader{
		w:           w,
		auditColumn: auditColumn,
		cell:        recordBuffer{limit: maxRecordBytes},
	}
}

func (c *csvReader) resumePoint() resumePoint { return c.w.resumePoint() }

// currentLayout is the header's, known from the start.
func (c *csvReader) currentLayout() Layout { return c.w.resumeLayout }

func (c *csvReader) next() (logrecord.Raw, error) {
	for {
		if c.w.pos == c.w.end && !c.w.fill() {
			return c.atEnd()
		}
		if rec, ok := c.scan(); ok {
			return rec, nil
		}
	}
}

func (c *csvReader) scan() (logrecord.Raw, bool) {
	w := c.w
	buf := w.buf[:w.end]
	if !c.inRow {
		c.beginRow()
	}
	i := w.pos
	for i < len(buf) {
		b := buf[i]
		inAudit := c.field == c.auditColumn
		if c.quoted {
			if !c.quotePending {
				j := bytes.IndexByte(buf[i:], '"')
				if j < 0 {
					j = len(buf) - i
				}
				if inAudit {
					c.cell.write(buf[i : i+j])
				}
				i += j
				if i < len(buf) {
					c.quotePending = true
					i++
				}
				continue
			}
			c.quotePending = false
			if b == '"' {
				if inAudit {
					c.cell.write(doubleQuote)
				}
				i++
				continue
			}
			// The pending quote closed the field; b is read unquoted.
			c.quoted = false
		}
		if c.fieldStart && b == '"' {
			c.quoted, c.fieldStart = true, false
			i++
			continue
		}
		c.fieldStart = false
		switch b {
		case ',':
			c.field++
			c.fieldStart = true
			if c.field == c.auditColumn {
				c.cell.begin(w.base + int64(i) + 1)
			}
		case '\n':
			i++
			c.row = appendCapped(c.row, buf[w.pos:i], PreviewBytes)
			w.pos = i
			return c.endRow()
		case '\r':
			// Only ever the end of a CRLF line outside quotes.
		default:
			if inAudit {
				c.cell.write(buf[i : i+1])
			}
		}
		i++
	}
	c.row = appendCapped(c.row, buf[w.pos:i], PreviewBytes)
	w.pos = i
	return logrecord.Raw{}, false
}

func (c *csvReader) beginRow() {
	c.inRow = true
	c.rowStart = c.w.offset()
	c.row = c.row[:0]
	c.field, c.fieldStart, c.quoted, c.quotePending = 0, true, false, false
	if c.auditColumn == 0 {
		c.cell.begin(c.rowStart)
	}
}

// endRow returns the row's AuditData cell, a problem record for a row too
// short to have one, and nothing for a blank line.
func (c *csvReader) endRow() (logrecord.Raw, bool) {
	c.inRow = false
	c.w.commit(containerNone)
	if c.field == 0 && isLineEnd(c.row) {
		c.cell.active = false
		return logrecord.Raw{}, false
	}
	if c.field < c.auditColumn {
		return logrecord.Raw{
			Data:   trimPartialRune(c.row),
			Offset: c.rowStart,
			Problem: fmt.Sprintf("CSV row at offset %d has %d fields but AuditData is field %d of the header",
				c.rowStart, c.field+1, c.auditColumn+1),
		}, true
	}
	return c.takeCell(), true
}

func (c *csvReader) takeCell() logrecord.Raw {
	r := c.cell.take()
	r.CSVCell = true
	return r
}

// atEnd ends the stream. A last row without a line break is complete once
// its AuditData cell is closed; before that the writer may still be at it.
func (c *csvReader) atEnd() (logrecord.Raw, error) {
	// A row that is so far only the start of a CRLF is no row yet.
	pending := c.inRow && !(c.field == 0 && isLineEnd(append(c.row, '\n')))
	if !pending || c.w.err != io.EOF {
		err := c.w.endError()
		if err == io.EOF {
			c.w.commit(containerNone)
		}
		return logrecord.Raw{}, err
	}
	closed := c.field > c.auditColumn || (c.field == c.auditColumn && c.quotePending)
	if !closed || c.w.truncated {
		return logrecord.Raw{}, errIncomplete
	}
	if rec, ok := c.endRow(); ok {
		return rec, nil
	}
	return logrecord.Raw{}, io.EOF
}

// isLineEnd reports whether a row is nothing but its line break: an empty
// line, which is no row. A line of spaces is a row of one field.
func isLineEnd(row []byte) bool {
	return string(row) == "\n" || string(row) == "\r\n"
}

func (c *csvReader) abandon() logrecord.Raw {
	r := logrecord.Raw{Offset: c.w.offset()}
	switch {
	case c.inRow && c.field >= c.auditColumn:
		r = c.takeCell()
	case c.inRow:
		r = logrecord.Raw{Data: trimPartialRune(c.row), Offset: c.rowStart}
	}
	c.inRow = false
	c.w.commit(containerNone)
	return r
}
