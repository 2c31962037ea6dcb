package vendorapi // import "github.com/otelsec/emailcompromise/receiver/auditlogreceiver/internal/vendorapi"

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"go.uber.org/zap"
)

// maxBlobRetryInterval caps the backoff of a blob the API refuses before
// its listed expiration: asked for at least hourly until then.
const maxBlobRetryInterval = time.Hour

// list delivers every blob of the window not delivered before. A blob the
// API refuses with a 4xx before the contentExpiration it was listed with is
// asked for again, with backoff, on later polls, the window staying
// unfinished meanwhile; only a refusal after that time is a loss. A blob
// that fails otherwise (retries used up, connection lost) ends the poll,
// since the API is then failing for the others too.
func (s *o365Stream) list(ctx context.Context, w timeWindow, sink *pageSink) error {
	contents, err := s.listContent(ctx, w, sink.state.Cursor.After(sink.state.Origin))
	if err != nil {
		return err
	}
	now := s.now()
	s.refused.forgetExpired(now)
	missing := 0
	for _, c := range contents {
		if sink.fetched(c.ContentID) {
			continue
		}
		if !s.refused.due(c, now) {
			missing++
			continue
		}
		var records []json.RawMessage
		_, err := s.api.get(ctx, s.withPublisher(c.ContentURI), func(body []byte) error {
			return json.Unmarshal(body, &records)
		})
		var status *statusError
		var authErr *authError
		var exhausted *exhaustedError
		switch {
		case err == nil:
			if err := sink.page(ctx, apiPage{records: records, horizon: c.ContentCreated, contentID: c.ContentID}); err != nil {
				return err
			}
			if refusals := s.refused.fetched(c.ContentID); refusals > 0 {
				s.logger.Info("content blob fetched after the API had refused it", zap.String("content_id", c.ContentID), zap.Int("refusals", refusals))
			}
		case ctx.Err() != nil:
			return ctx.Err()
		case errors.As(err, &authErr) || errors.As(err, &exhausted):
			return err
		case errors.As(err, &status) && expired(status, c, s.now()):
			s.logger.Warn("content blob expired before it could be fetched; its records cannot be read any more",
				zap.String("content_id", c.ContentID), zap.Time("content_created", c.ContentCreated),
				zap.Time("content_expiration", c.ContentExpiration), zap.Int("refusals_before", s.refused.fetched(c.ContentID)), zap.Error(err))
			s.metrics.ExpiredContent(ctx)
			sink.skipContent(ctx, c.ContentID, c.ContentCreated)
		case errors.As(err, &status):
			s.refusedEarly(c, status)
			missing++
		default:
			return err
		}
	}
	if missing > 0 {
		return &incompleteWindowError{missing: missing}
	}
	return nil
}

// refusedEarly schedules a blob refused before its expiration for another
// try, and says so on its first refusal.
func (s *o365Stream) refusedEarly(c o365Content, status *statusError) {
	refusals, next := s.refused.refuse(c, s.now())
	if refusals > 1 {
		s.logger.Debug("content blob refused again before its contentExpiration; asked for again with backoff",
			zap.String("content_id", c.ContentID), zap.Int("refusals", refusals), zap.Time("next_try", next), zap.Error(status))
		return
	}
	msg := "content blob not fetched; it is asked for again, with backoff, until it is fetched or its contentExpiration passes"
	if status.code == afContentExpired {
		// Clocks differ and Microsoft purges unevenly: a blob said to be
		// expired days before the expiration it was listed with has been
		// fetched on a later try.
		msg = "the API says the content blob expired (AF20051) before the contentExpiration it listed; it is asked for again, with backoff, until that time, and counted as lost only then"
	}
	s.logger.Warn(msg, zap.String("content_id", c.ContentID), zap.Time("content_expiration", c.ContentExpiration), zap.Error(status))
}

// expired tells a blob that can never be fetched from one that failed for
// now. The listing's contentExpiration is "the datetime after which the
// content will no longer be available for retrieval": a refusal after it is
// final, whatever its code. A refusal before it, AF20051 ("has already
// expired") included, may not be: the blob is asked for again until then.
// Only a blob listed without an expiration is taken at AF20051's word.
func expired(err *statusError, c o365Content, now time.Time) bool {
	if c.ContentExpiration.IsZero() {
		return err.code == afContentExpired
	}
	return now.After(c.ContentExpiration)
}

// blobRetries are the blobs of a stream the API refused before their listed
// expiration, with when to ask again. An entry leaves when its blob is
// fetched or its expiration has passed, so the map holds at most the blobs
// of the last 7 days that failed.
type blobRetries struct {
	initial time.Duration
	blobs   map[string]*blobRetry
}

type blobRetry struct {
	refusals   int
	next       time.Time
	expiration time.Time
}

func newBlobRetries(initial time.Duration) blobRetries {
	return blobRetries{initial: max(initial, time.Millisecond), blobs: make(map[string]*blobRetry)}
}

// due reports whether blob c may be asked for at now: it was never
// refused, its backoff is over, or its expiration has passed (one more
// refusal then makes the loss certain).
func (b blobRetries) due(c o365Content, now time.Time) bool {
	r, ok := b.blobs[c.ContentID]
	return !ok || !now.Before(r.next) || (!c.ContentExpiration.IsZero() && now.After(c.ContentExpiration))
}

// refuse counts a refusal of c at now and sets when to ask again: the
// initial interval, doubled with each refusal, at most maxBlobRetryInterval.
func (b blobRetries) refuse(c o365Content, now time.Time) (refusals int, next time.Time) {
	r, ok := b.blobs[c.ContentID]
	if !ok {
		r = &blobRetry{expiration: c.ContentExpiration}
		if r.expiration.IsZero() {
			// Listed without an expiration: content stays available for
			// o365ContentLifetime, after which no listing names the blob
			// again and its entry is forgotten, not kept for ever.
			r.expiration = now.Add(o365ContentLifetime)
		}
		b.blobs[c.ContentID] = r
	}
	wait := b.initial << min(r.refusals, 30)
	if wait <= 0 || wait > maxBlobRetryInterval {
		wait = maxBlobRetryInterval
	}
	r.refusals++
	r.next = now.Add(wait)
	return r.refusals, r.next
}

// fetched forgets a blob that was fetched or given up, and returns how often
// it had been refused.
func (b blobRetries) fetched(contentID string) int {
	r, ok := b.blobs[contentID]
	if !ok {
		return 0
	}
	delete(b.blobs, contentID)
	return r.refusals
}

// forgetExpired drops the blobs whose expiration has passed and that no
// listing named since: they are not asked for any more.
func (b blobRetries) forgetExpired(now time.Time) {
	for id, r := range b.blobs {
		if !r.expiration.IsZero() && now.After(r.expiration.Add(maxBlobRetryInterval)) {
			delete(b.blobs, id)
		}
	}
}
