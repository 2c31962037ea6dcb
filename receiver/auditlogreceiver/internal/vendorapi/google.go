package vendorapi // import "github.com/otelsec/emailcompromise/receiver/auditlogreceiver/internal/vendorapi"

import (
	"context"
	"encoding/json"
	"net/url"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/otelsec/emailcompromise/internal/auditrecord"
)

const (
	// googleAPIBase is the Admin SDK host.
	googleAPIBase = "https://admin.googleapis.com"
	// MaxGooglePageSize is the largest maxResults activities.list takes.
	MaxGooglePageSize = 1000
)

// googleRetention: Google Workspace keeps log events 6 months ("Data
// retention and lag times", support.google.com/a/answer/7061566), the Admin
// console and the Reports API alike.
var googleRetention = apiRetention{180 * 24 * time.Hour, "Google Workspace keeps log events 6 months (Data retention and lag times)"}

// NewGoogleSource returns the source of the Reports API: one stream per
// application, whose checkpoints belong to the subject.
//
// The Reports API is read with plain net/http rather than
// google.golang.org/api/admin/reports/v1: its typed Activity structs would
// drop the fields they do not know and reorder the rest, so the body would
// no longer be the vendor's record as the file source passes it on; it has
// no hook for Retry-After; and it would pull gRPC-era auth libraries into
// the distribution for one GET.
func NewGoogleSource(ctx context.Context, set GoogleSettings, env Env) (*Source, error) {
	baseURL := set.BaseURL
	if baseURL == "" {
		baseURL = googleAPIBase
	}
	fetch, err := newGoogleTokenFetch(&set, env.configKey(SourceGoogle), env.HTTP)
	if err != nil {
		return nil, err
	}
	key := env.configKey(SourceGoogle)
	hint := key + ".credentials_file and " + key + ".subject: the service account needs domain-wide delegation for " +
		googleReportsScope + " (Admin console, Security, API controls), and the subject must be an administrator allowed to read reports"
	api, err := newClient(SourceGoogle, set.Poll, env, baseURL, hint, fetch)
	if err != nil {
		return nil, err
	}
	streams := make([]apiStream, 0, len(set.Applications))
	for _, app := range set.Applications {
		streams = append(streams, &googleStream{
			api:        api,
			endpoint:   strings.TrimSuffix(baseURL, "/") + "/admin/reports/v1/activity/users/all/applications/" + url.PathEscape(app),
			app:        app,
			customerID: set.CustomerID,
			pageSize:   set.PageSize,
		})
	}
	return newSource(ctx, SourceGoogle, set.Poll, env, api, streams, SourceGoogle+"/"+set.Subject, googleIdentity, googleRetention)
}

// googleIdentity names an activity by id.uniqueQualifier with id.time:
// Google documents the qualifier as unique only together with the time.
var googleIdentity = recordIdentity{key: func(view *auditrecord.Record, _ pcommon.Map) string {
	return view.ID + "@" + view.Time.UTC().Format(time.RFC3339Nano)
}}

// googleStream reads one application's activities between startTime and
// endTime, following nextPageToken.
type googleStream struct {
	api        *apiClient
	endpoint   string
	app        string
	customerID string
	pageSize   int
}

func (s *googleStream) name() string { return s.app }

func (s *googleStream) list(ctx context.Context, w timeWindow, sink *pageSink) error {
	q := url.Values{
		"startTime":  {w.start.UTC().Format(time.RFC3339)},
		"endTime":    {w.end.UTC().Format(time.RFC3339)},
		"maxResults": {strconv.Itoa(s.pageSize)},
	}
	if s.customerID != "" {
		q.Set("customerId", s.customerID)
	}
	trail := pageTrail{}
	for {
		var page struct {
			Items         []json.RawMessage `json:"items"`
			NextPageToken string            `json:"nextPageToken"`
		}
		if _, err := s.api.get(ctx, s.endpoint+"?"+q.Encode(), func(body []byte) error {
			page.Items, page.NextPageToken = nil, ""
			return json.Unmarshal(body, &page)
		}); err != nil {
			return err
		}
		if err := sink.page(ctx, apiPage{records: page.Items}); err != nil {
			return err
		}
		if page.NextPageToken == "" {
			return nil
		}
		if err := trail.follow(page.NextPageToken, "nextPageToken"); err != nil {
			return err
		}
		q.Set("pageToken", page.NextPageToken)
	}
}
