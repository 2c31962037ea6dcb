package loadgen

import (
	"bytes"
	"strings"
)

// MalformedFile is one file of the malformed-input corpus.
type MalformedFile struct {
	Name string
	Data []byte
	// What says what is wrong with it.
	What string
}

// MalformedCorpus returns files that an audit-log reader meets in the wild
// or from an attacker who can write to the export location: truncated
// JSON, wrong types, huge fields, deep nesting, invalid UTF-8, NUL bytes,
// plain text. Each also holds valid records around the bad ones, so a
// reader that gives up on the file loses them. hugeFieldBytes sizes the
// huge field (above the receiver's max_record_bytes to test the oversized
// path). The unreadable file has no bytes: callers create it themselves
// (a permission-less file, or a symbolic-link loop when running as root).
func MalformedCorpus(hugeFieldBytes int) []MalformedFile {
	g, err := New(Config{Seed: 99, Users: 3, Days: 1, Scenarios: []string{}})
	if err != nil {
		panic(err)
	}
	var good [][]byte
	_ = g.Each(func(r *Record) error {
		if len(good) < 6 && r.Shape == ShapeO365 {
			good = append(good, bytes.Clone(r.JSON))
		}
		return nil
	})
	lines := func(parts ...[]byte) []byte { return append(bytes.Join(parts, []byte("\n")), '\n') }
	o365 := func(fields string) []byte {
		return []byte(`{"CreationTime":"2026-11-02T09:00:00","Id":"bad-` + strings.ReplaceAll(fields[:min(len(fields), 8)], `"`, "") +
			`","Workload":"Exchange","RecordType":2,` + fields + `}`)
	}
	deepArray := strings.Repeat("[", 100_000) + strings.Repeat("]", 100_000)
	deepObject := strings.Repeat(`{"a":`, 1000) + "1" + strings.Repeat("}", 1000)
	huge := strings.Repeat("A", hugeFieldBytes)
	return []MalformedFile{
		{
			Name: "truncated.jsonl",
			What: "valid records, then one cut off in the middle at the end of the file",
			Data: append(lines(good[0], good[1], good[2]), good[3][:len(good[3])/2]...),
		},
		{
			Name: "wrong-types.jsonl",
			What: "fields of the wrong JSON type: Operation a number, CreationTime an object, UserId an array, RecordType a string, status a string",
			Data: lines(
				o365(`"Operation":42,"UserId":"a@contoso.com"`),
				o365(`"Operation":"Send","CreationTime":{"t":1},"UserId":"a@contoso.com"`),
				o365(`"Operation":"Send","UserId":["a@contoso.com"],"Item":"not a map"`),
				[]byte(`{"CreationTime":"2026-11-02T09:00:00","Id":"bad-rt","Operation":"Set-Mailbox","RecordType":"1","Workload":"Exchange","Parameters":{"Name":"x"}}`),
				[]byte(`{"id":"bad-graph","createdDateTime":12345,"userPrincipalName":{"a":1},"status":"failed","location":[1,2]}`),
				good[4],
			),
		},
		{
			Name: "huge-field.jsonl",
			What: "a record with a huge Subject, beyond the maximum record size, between valid records",
			Data: lines(good[0], o365(`"Operation":"Send","UserId":"a@contoso.com","Item":{"Subject":"`+huge+`"}`), good[5]),
		},
		{
			Name: "deep-nesting.jsonl",
			What: "an array nested 100,000 deep and an object nested 1,000 deep",
			Data: lines(o365(`"Operation":"Send","x":`+deepArray), o365(`"Operation":"Send","x":`+deepObject), good[1]),
		},
		{
			Name: "non-utf8.jsonl",
			What: "invalid UTF-8 inside strings and as raw bytes outside them",
			Data: lines(
				o365("\"Operation\":\"Send\",\"UserId\":\"\xff\xfe@contoso.com\",\"Item\":{\"Subject\":\"caf\xe9 \xc3\x28\"}"),
				[]byte("\xff\xfe\xfd not json at all \x80"),
				good[2],
			),
		},
		{
			Name: "nul-bytes.jsonl",
			What: "NUL bytes inside strings, and a line of NULs between records",
			Data: lines(
				o365("\"Operation\":\"Send\",\"UserId\":\"a\x00b@contoso.com\",\"Item\":{\"Subject\":\"\x00\x00\"}"),
				bytes.Repeat([]byte{0}, 4096),
				good[3],
			),
		},
		{
			Name: "not-json.jsonl",
			What: "plain-text log lines and a JSON value that is not an object",
			Data: lines([]byte("2026-11-02 09:00:00 INFO user logged in"), []byte(`[1,2,3]`), []byte(`"just a string"`), good[4]),
		},
	}
}
