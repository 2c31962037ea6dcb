// Package emailcompromiseprocessor recognises the behaviours of a compromised
// email account in audit log records and tags the record that reveals them.
//
//go:generate mdatagen metadata.yaml
package emailcompromiseprocessor // import "github.com/otelsec/emailcompromise/processor/emailcompromiseprocessor"
