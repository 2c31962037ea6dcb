// Package logrecord turns one raw vendor record into one log record, the
// same way whatever source read it: a record cut out of an exported file
// and the same record listed by a vendor API give the same body, timestamp,
// event name and attributes.
//
// # What it owns
//
//   - Raw, a record as a source cut it out of its stream: its bytes, where it
//     started, and, when the source already knows it is not a whole record,
//     why (an oversized record, a file that ends inside one, a corrupt gzip
//     stream).
//   - Builder, which decodes the bytes into the body once (internal/jsonpdata),
//     builds the normalised view once (internal/auditrecord) and writes the
//     contract attributes from it; a record that cannot be decoded or parsed
//     keeps its raw text as body and gets audit.parse_error. Nothing is
//     dropped here.
//   - Counts, what the builder counted since the caller last took them: the
//     caller reports them once per batch, which keeps metric calls off the
//     per-record path.
//   - AsRead, the raw records of a batch kept until it is done with, to build
//     the batch again as read, uncounted, when the pipeline changed it in
//     place and refused it for good.
//
// The package knows no source, no configuration and no telemetry: the file
// source and the vendor API sources each hold a Builder of their own.
package logrecord // import "github.com/otelsec/emailcompromise/receiver/auditlogreceiver/internal/logrecord"
