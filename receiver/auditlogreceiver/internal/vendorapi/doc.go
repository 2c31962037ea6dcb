// Package vendorapi reads audit records from the vendors' APIs: the Office
// 365 Management Activity API, Microsoft Graph sign-ins and Entra ID
// Protection risk detections, and the Google Admin SDK Reports API. Each API
// is a Source of one or more streams (an O365 content type, the sign-in log,
// the risk detections, a Reports application), read window by window with a
// checkpoint of its own.
//
// # What it owns
//
//   - settings.go: what a source is built from (O365Settings, GraphSettings,
//     GraphRiskSettings, GoogleSettings with their PollSettings), what it runs with (Env: a
//     logger, a Metrics the receiver implements, the HTTP client of the
//     block's http settings, the storage client) and the source names.
//   - source.go: the poll loop. Plan the windows of a stream, list each,
//     move the cursor past a window only once all of its records were
//     accepted, report the lag.
//   - window.go: the windows from cursor - overlap to now, within the API's
//     limits (O365: 24 h per request, 7 days back).
//   - pagesink.go: pages into batches, with the same record builder as the
//     file source (internal/logrecord), dedup against what was accepted
//     before (each source's recordIdentity: what names a record, and by
//     which time the API lists it), the raw records of the batch in flight
//     kept to build it again as read (logrecord.AsRead), and the state
//     saved after each accepted batch.
//   - checkpoint.go and seenset.go: a stream's saved state (cursor, origin,
//     newest event, the ids accepted within the overlap and the O365 blobs
//     already fetched) under api/<source>/<tenant, version or subject>/<stream>.
//   - client.go: apiClient, the HTTP client all streams of a source share:
//     it signs requests, keeps the token on the configured host, and retries
//     what a retry can fix (429/503 with Retry-After, 5xx, timeouts, a 401
//     once with a fresh token) within retry.max_attempts.
//   - oauth.go: tokens (cached, renewed early), the Microsoft client
//     credentials grant by secret or certificate assertion, Google's JWT
//     bearer grant with domain-wide delegation.
//   - credentials.go: what a source does while its credentials are
//     refused: one line when that begins and one when it ends, the
//     auth_failing metric, and a pause between polls doubling to minutes.
//   - clouds.go: the hosts of each Microsoft cloud.
//   - o365.go, graph.go, google.go: one file per vendor: its constructors,
//     its streams (listing, paging, the vendor's error codes) and its
//     record identity. graph.go reads sign-ins and risk detections, two
//     collections paged alike.
//
// # Design notes
//
// Nothing is lost by construction: a window's end becomes the cursor only
// when every record of the window was accepted downstream, and every poll
// lists again from cursor - overlap, where records already accepted are
// recognised by id and skipped. Dedup state is bounded per stream
// (max_seen_ids); ids forgotten for the bound can only come back as
// duplicates, never be lost. Records are built as from a file, so an API
// record and the same record exported give the same log record. Each source
// is built from explicit arguments (its settings and an Env) and imports
// nothing of the receiver.
package vendorapi // import "github.com/otelsec/emailcompromise/receiver/auditlogreceiver/internal/vendorapi"
