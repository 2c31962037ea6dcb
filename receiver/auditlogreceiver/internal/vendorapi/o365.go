package vendorapi // import "github.com/otelsec/emailcompromise/receiver/auditlogreceiver/internal/vendorapi"

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"go.uber.org/zap"
)

// Office 365 Management Activity API error codes the receiver acts on.
const (
	afNoSubscription       = "AF20022" // no subscription for the content type
	afSubscriptionDisabled = "AF20023" // disabled by a tenant or service admin
	afContentExpired       = "AF20051" // content older than its expiry
)

// O365ContentTypes are the content types the API serves, as Microsoft spells
// them.
var O365ContentTypes = []string{"Audit.AzureActiveDirectory", "Audit.Exchange", "Audit.General", "Audit.SharePoint", "DLP.All"}

// o365Retention: the reference, "List available content": startTime "no
// more than 7 days in the past"; older startTimes are refused (AF20030 in the
// reference, AF20055 as the service answers).
var o365Retention = apiRetention{o365ContentLifetime, "the Management Activity API lists content made available in the last 7 days"}

const (
	// o365ContentLifetime is how far back the Management Activity API lists
	// content.
	o365ContentLifetime = 7 * 24 * time.Hour
	// O365MaxWindow is the longest startTime-endTime range the API accepts.
	O365MaxWindow = 24 * time.Hour
	// O365MaxLookback keeps the first window clear of the 7-day edge, which
	// moves while the first poll runs.
	O365MaxLookback = o365ContentLifetime - time.Hour
)

// o365TimeLayout is the finest of the datetime forms the API documents.
const o365TimeLayout = "2006-01-02T15:04:05"

// NewO365Source returns the source of the Management Activity API: one
// stream per content type.
func NewO365Source(ctx context.Context, set O365Settings, env Env) (*Source, error) {
	hint := fmt.Sprintf("%[1]s.tenant_id, %[1]s.client_id and %[1]s.client_secret (or certificate_file), and that the app has the Office 365 Management APIs application permission ActivityFeed.Read (ActivityFeed.ReadDlp for DLP.All) with admin consent", env.configKey(SourceO365))
	api, baseURL, err := newMicrosoftClient(SourceO365, set.Auth, func(h cloudHosts) string { return h.manage }, set.BaseURL, set.Poll, env, hint)
	if err != nil {
		return nil, err
	}
	feed := strings.TrimSuffix(baseURL, "/") + "/api/v1.0/" + url.PathEscape(set.Auth.TenantID) + "/activity/feed"
	streams := make([]apiStream, 0, len(set.ContentTypes))
	for _, ct := range set.ContentTypes {
		streams = append(streams, &o365Stream{
			api:                api,
			feed:               feed,
			contentType:        ct,
			publisher:          set.PublisherIdentifier,
			configKey:          env.configKey(SourceO365),
			startSubscriptions: set.StartSubscriptions,
			logger:             env.Logger.With(zap.String("source", SourceO365), zap.String("stream", ct)),
			metrics:            env.Metrics,
			refused:            newBlobRetries(set.Poll.Retry.InitialInterval),
			now:                time.Now,
		})
	}
	return newSource(ctx, SourceO365, set.Poll, env, api, streams, SourceO365+"/"+set.Auth.TenantID, byVendorID, o365Retention)
}

// o365Stream reads one content type: list the content blobs made available
// in a window (by contentCreated, NextPageUri paging), then fetch each blob,
// a JSON array of audit records.
type o365Stream struct {
	api         *apiClient
	feed        string // {base}/api/v1.0/{tenant}/activity/feed
	contentType string
	publisher   string
	// configKey is the source's block, for messages naming its keys.
	configKey string
	// startSubscriptions starts the subscription when the API says there
	// is none (start_subscriptions).
	startSubscriptions bool
	// listed is whether a listing succeeded since the start: AF20022 after
	// that means someone stopped the subscription.
	listed bool
	// inactive is the code (AF20022, AF20023) of the missing or disabled
	// subscription last logged, "" while listings succeed: each change is
	// logged once, not every poll.
	inactive string
	logger   *zap.Logger
	metrics  Metrics
	// refused are the blobs the API refused before their listed
	// expiration, each asked for again with backoff (o365blobs.go).
	refused blobRetries
	now     func() time.Time
}

type o365Content struct {
	ContentID         string    `json:"contentId"`
	ContentURI        string    `json:"contentUri"`
	ContentCreated    time.Time `json:"contentCreated"`
	ContentExpiration time.Time `json:"contentExpiration"`
}

func (s *o365Stream) name() string { return s.contentType }

// listContent lists the window's blobs, following NextPageUri. A content
// type without a subscription gets one started, once, when
// start_subscriptions is on; subscribedBefore says whether it had one (the
// checkpoint shows a listing), for the message.
func (s *o365Stream) listContent(ctx context.Context, w timeWindow, subscribedBefore bool) ([]o365Content, error) {
	q := url.Values{
		"contentType": {s.contentType},
		"startTime":   {w.start.UTC().Format(o365TimeLayout)},
		"endTime":     {w.end.UTC().Format(o365TimeLayout)},
	}
	next := s.withPublisher(s.feed + "/subscriptions/content?" + q.Encode())
	var all []o365Content
	started := false
	trail := pageTrail{}
	for next != "" {
		var page []o365Content
		header, err := s.api.get(ctx, next, func(body []byte) error {
			page = page[:0]
			return json.Unmarshal(body, &page)
		})
		var status *statusError
		switch {
		case errors.As(err, &status) && status.code == afNoSubscription && s.startSubscriptions && !started:
			if err := s.startSubscription(ctx, subscribedBefore || s.listed); err != nil {
				return nil, err
			}
			started = true
			continue
		case errors.As(err, &status) && ((status.code == afNoSubscription && !s.startSubscriptions) || status.code == afSubscriptionDisabled):
			return nil, s.subscriptionInactive(status)
		case err != nil:
			return nil, err
		}
		s.subscriptionActive()
		all = append(all, page...)
		next = header.Get("NextPageUri")
		if next != "" {
			if err := trail.follow(next, "NextPageUri"); err != nil {
				return nil, err
			}
			next = s.withPublisher(next)
		}
	}
	return all, nil
}

// startSubscription starts the content type's subscription. Microsoft's
// reference, "Working with the Office 365 Management Activity API": "To
// begin retrieving content blobs for a tenant, you first create a
// subscription to the desired content types". After a stop ("Stop a
// subscription"), "you will not be able to retrieve content that was
// available between the time the subscription was stopped and restarted":
// starting again at once loses the least, and is said loudly, since an
// unexpected stop of audit collection may be someone covering their tracks.
// The receiver never overrides an administrator's disable (AF20023).
func (s *o365Stream) startSubscription(ctx context.Context, subscribedBefore bool) error {
	q := url.Values{"contentType": {s.contentType}}
	if err := s.api.post(ctx, s.withPublisher(s.feed+"/subscriptions/start?"+q.Encode())); err != nil {
		return fmt.Errorf("starting the %s subscription: %w", s.contentType, err)
	}
	if subscribedBefore {
		s.logger.Warn("the subscription to the content type was stopped (AF20022 where it had been listed) and is started again, as " + s.configKey +
			".start_subscriptions is true: content made available between the stop and now cannot be retrieved. If the stop was not yours, find out who stopped it; to leave stopped subscriptions stopped, set start_subscriptions: false")
		return nil
	}
	s.logger.Info("started the subscription to the content type; content is listed from now on (Microsoft: the first content can take up to 12 hours)")
	return nil
}

// subscriptionInactive is a listing refused because the content type has no
// subscription and the receiver is not to start one, or because an
// administrator disabled it: logged once, when it begins; the stream is
// asked again every poll, the other content types are read meanwhile.
func (s *o365Stream) subscriptionInactive(status *statusError) error {
	var err error
	if status.code == afSubscriptionDisabled {
		err = fmt.Errorf("%w; an administrator disabled the %s subscription, and the receiver does not override that: enable it again or remove %s from %s.content_types",
			status, s.contentType, s.contentType, s.configKey)
	} else {
		q := url.Values{"contentType": {s.contentType}}
		err = fmt.Errorf("%w; the %s subscription is not started and %s.start_subscriptions is false: start it (POST %s with the app's token), set start_subscriptions: true, or remove %s from content_types",
			status, s.contentType, s.configKey, s.withPublisher(s.feed+"/subscriptions/start?"+q.Encode()), s.contentType)
	}
	if s.inactive != status.code {
		s.inactive = status.code
		s.logger.Warn("nothing of this content type is read until its subscription is active; the others are read meanwhile", zap.Error(err))
	}
	return &reportedError{err: err}
}

// subscriptionActive records a listing that succeeded, with one line when
// it ends a missing or disabled subscription.
func (s *o365Stream) subscriptionActive() {
	if s.inactive != "" {
		s.logger.Info("the subscription to the content type is active again; content is listed from now on (what was made available while it was stopped cannot be retrieved)",
			zap.String("was", s.inactive))
		s.inactive = ""
	}
	s.listed = true
}

// withPublisher adds PublisherIdentifier to a request URL that lacks it:
// Microsoft asks for it on every request, paging and content URLs included,
// to give them the publisher's own throttling quota.
func (s *o365Stream) withPublisher(rawURL string) string {
	if s.publisher == "" {
		return rawURL
	}
	u, err := url.Parse(rawURL)
	if err != nil || u.Query().Has("PublisherIdentifier") {
		return rawURL
	}
	sep := "?"
	if strings.Contains(rawURL, "?") {
		sep = "&"
	}
	return rawURL + sep + "PublisherIdentifier=" + url.QueryEscape(s.publisher)
}
