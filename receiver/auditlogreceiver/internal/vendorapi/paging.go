package vendorapi // import "github.com/otelsec/emailcompromise/receiver/auditlogreceiver/internal/vendorapi"

import "fmt"

// pageTrail is the pages one listing has followed: a next-page link or
// token leading back to a page already read would page for ever (each time
// round re-reading the same records, or, for O365, gathering the same
// content).
type pageTrail map[string]bool

// follow records next, or refuses it if the listing followed it before;
// what names the link for the error.
func (t pageTrail) follow(next, what string) error {
	if t[next] {
		return fmt.Errorf("the listing's %s leads back to a page already read (%s): the API is going round in circles; the window is listed again at the next poll", what, next)
	}
	t[next] = true
	return nil
}
