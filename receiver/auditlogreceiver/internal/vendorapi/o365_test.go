package vendorapi

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
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
	assert.False(t, expired(&statusError{status: 400, code: afContentExpired}, live, now), "AF20051 before the listed expiration: asked for again")
	assert.True(t, expired(&statusError{status: 400, code: afContentExpired}, gone, now))
	assert.True(t, expired(&statusError{status: 400, code: afContentExpired}, o365Content{}, now), "no expiration listed: AF20051 is all there is")
	assert.False(t, expired(&statusError{status: 404, code: "AF20050"}, live, now), "may not be replicated yet")
	assert.True(t, expired(&statusError{status: 404, code: "AF20050"}, gone, now))
	assert.True(t, expired(&statusError{status: 403}, gone, now), "after contentExpiration nothing can fetch it")
	assert.False(t, expired(&statusError{status: 403, code: "AF10001"}, live, now))
	assert.False(t, expired(&statusError{status: 404}, o365Content{}, now), "no expiration listed: never certain")
}

func TestBlobRetriesBackOffUntilTheExpiration(t *testing.T) {
	now := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	b := newBlobRetries(time.Second)
	c := o365Content{ContentID: "blob", ContentExpiration: now.Add(72 * time.Hour)}
	assert.True(t, b.due(c, now), "never refused")
	var waits []time.Duration
	at := now
	for range 14 {
		_, next := b.refuse(c, at)
		assert.False(t, b.due(c, next.Add(-time.Millisecond)))
		assert.True(t, b.due(c, next))
		waits = append(waits, next.Sub(at))
		at = next
	}
	assert.Equal(t, []time.Duration{time.Second, 2 * time.Second, 4 * time.Second}, waits[:3])
	assert.Equal(t, maxBlobRetryInterval, waits[13], "at most hourly")
	refusals, _ := b.refuse(c, at)
	assert.True(t, b.due(c, c.ContentExpiration.Add(time.Second)), "once expired, asked for once more: that refusal is final")
	assert.Equal(t, refusals, b.fetched("blob"))
	assert.Zero(t, b.fetched("blob"), "forgotten once fetched")

	b.refuse(c, now)
	b.forgetExpired(c.ContentExpiration)
	assert.Len(t, b.blobs, 1)
	b.forgetExpired(c.ContentExpiration.Add(2 * maxBlobRetryInterval))
	assert.Empty(t, b.blobs, "a blob no listing names any more is not kept")

	// A blob listed without an expiration is forgotten once the content's
	// lifetime from its first refusal has passed.
	undated := o365Content{ContentID: "undated"}
	b.refuse(undated, now)
	b.refuse(undated, now.Add(time.Hour))
	b.forgetExpired(now.Add(o365ContentLifetime))
	assert.Len(t, b.blobs, 1)
	b.forgetExpired(now.Add(o365ContentLifetime + 2*maxBlobRetryInterval))
	assert.Empty(t, b.blobs, "an undated blob's retries are not kept for ever")
}

// publisherID is a tenant GUID sent as PublisherIdentifier.
const publisherID = "46b472a7-c68e-4adf-8ade-3db49497518e"

func TestPageTrailRefusesAPageFollowedBefore(t *testing.T) {
	trail := pageTrail{}
	require.NoError(t, trail.follow("a", "nextPageToken"))
	require.NoError(t, trail.follow("b", "nextPageToken"))
	require.ErrorContains(t, trail.follow("a", "nextPageToken"), "nextPageToken leads back to a page already read (a)")
}
