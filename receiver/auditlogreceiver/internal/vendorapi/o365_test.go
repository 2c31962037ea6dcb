package vendorapi

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestWithPublisher(t *testing.T) {
	s := &o365Stream{publisher: publisherID}
	assert.Equal(t, "https://manage.office.com/api/v1.0/t/activity/feed/audit/1$2?PublisherIdentifier="+publisherID,
		s.withPublisher("https://manage.office.com/api/v1.0/t/activity/feed/audit/1$2"))
	assert.Equal(t, "https://x/c?contentType=a&nextPage=b&PublisherIdentifier="+publisherID, s.withPublisher("https://x/c?contentType=a&nextPage=b"))
	kept := "https://x/c?PublisherIdentifier=other"
	assert.Equal(t, kept, s.withPublisher(kept))
	assert.Equal(t, "https://x/c", (&o365Stream{}).withPublisher("https://x/c"))
}

func TestExpiredIsCertainOnly(t *testing.T) {
	now := time.Now()
	live := o365Content{ContentExpiration: now.Add(time.Hour)}
	gone := o365Content{ContentExpiration: now.Add(-time.Hour)}
	assert.True(t, expired(&statusError{status: 400, code: afContentExpired}, live, now))
	assert.False(t, expired(&statusError{status: 404, code: "AF20050"}, live, now), "may not be replicated yet")
	assert.True(t, expired(&statusError{status: 404, code: "AF20050"}, gone, now))
	assert.True(t, expired(&statusError{status: 403}, gone, now), "after contentExpiration nothing can fetch it")
	assert.False(t, expired(&statusError{status: 403, code: "AF10001"}, live, now))
	assert.False(t, expired(&statusError{status: 404}, o365Content{}, now), "no expiration listed: never certain")
}

// publisherID is a tenant GUID sent as PublisherIdentifier.
const publisherID = "46b472a7-c68e-4adf-8ade-3db49497518e"
