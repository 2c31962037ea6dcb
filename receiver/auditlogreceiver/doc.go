// Package auditlogreceiver reads vendor audit logs (Office 365 Management
// Activity, Entra ID sign-ins, Google Workspace Reports) and emits one log
// record per vendor record, its body the original record.
//
//go:generate mdatagen metadata.yaml
package auditlogreceiver // import "github.com/otelsec/emailcompromise/receiver/auditlogreceiver"
