// Package filesource reads exported audit files: it finds them by glob,
// tells each file from the others whatever its name, cuts records out of it
// in whatever layout it has, hands them on in batches and remembers, per
// file, how far the next consumer accepted them.
//
// # What it owns
//
//   - source.go: the poll. Match the globs, identify every file (by its
//     checkpoint at the same path, a renamed file's checkpoint, or as a copy
//     of a file read in the same poll), read what is new in each, save.
//   - checkpoint.go: a file's checkpoint and the store of all of them under
//     one storage key. A file is found again by the fingerprint of its first
//     KiB; a saved position carries an anchor (the hash of the KiB before it)
//     and a fully read file the hash of its last raw KiB, so a file that only
//     starts alike is read anew rather than resumed.
//   - stream.go: format detection from the first bytes (gzip by magic, a CSV
//     header with an AuditData column, else JSON), the read window the
//     readers scan in place, and resume points: an offset of the
//     decompressed stream plus the container the scanner was in there.
//   - scanner.go: the JSON scanner. It finds record boundaries without
//     decoding (JSON lines, concatenated objects, arrays, and the envelopes
//     Graph, Azure Monitor and the Reports API page their records in).
//   - csv.go: the AuditData column of Purview / Search-UnifiedAuditLog CSV
//     exports, streamed.
//   - layout.go: the names of the layouts the readers find (json_lines,
//     graph_page, purview_csv_recordid_header, ...). The layout travels with
//     the resume point, so it is kept in the checkpoint, and is logged once
//     per new file.
//   - batch.go: a batch of records, one ResourceLogs per file, its raw
//     records kept to build it again as read (logrecord.AsRead), and the
//     checkpoint changes that take effect once it is accepted.
//
// # Design notes
//
// A position is saved after the batch that reached it was accepted, never
// before: a crash repeats at most the batch in flight. Decoding is left to
// internal/logrecord, once per record; the readers hold one record at a
// time, whatever the file or envelope size. A record that cannot be cut out
// whole (too large, cut short, corrupt gzip) is passed on with a problem, not
// dropped. The receiver's README ("Which file is which", "Why not
// pkg/stanza/fileconsumer") says what this guarantees for rotated, copied and
// replaced files, and why contrib's fileconsumer, whose internal/{checkpoint,
// reader,scanner,fingerprint} this package mirrors, was not used as is.
//
// The package is constructed from explicit arguments (New: settings, logger,
// a Metrics it reports to, the loaded checkpoints) and imports nothing of
// the receiver.
package filesource // import "github.com/otelsec/emailcompromise/receiver/auditlogreceiver/internal/filesource"
