// Package apitest runs, on 127.0.0.1, servers that behave as the vendor
// APIs the audit_log receiver reads are documented to: Microsoft's identity
// platform token endpoint, the Office 365 Management Activity API, Microsoft
// Graph sign-ins, Google's OAuth 2.0 token endpoint and the Admin SDK
// Reports API. Tests of the receiver and of the built distribution point the
// receiver's base_url and token_url at them.
//
// The servers follow the vendors' documentation, not the receiver's code:
// their own constants, their own error bodies and codes, their own limits.
// They record what a correct client never sends (a listing window over 24
// hours, a request without PublisherIdentifier), so that tests can assert
// there was none, and take canned faults (5xx bursts, 429 with Retry-After,
// cut connections) through a FaultQueue.
package apitest // import "github.com/otelsec/emailcompromise/internal/testing/apitest"
