package auditlogreceiver // import "github.com/otelsec/emailcompromise/receiver/auditlogreceiver"

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/extension/xextension/storage"

	"github.com/otelsec/emailcompromise/internal/auditrecord"
)

// googleAPIBase is the Admin SDK host.
const googleAPIBase = "https://admin.googleapis.com"

// The Reports API is read with plain net/http rather than
// google.golang.org/api/admin/reports/v1: its typed Activity structs would
// drop the fields they do not know and reorder the rest, so the body would
// no longer be the vendor's record as the file source passes it on; it has
// no hook for Retry-After; and it would pull gRPC-era auth libraries into
// the distribution for one GET.
func (r *auditLogReceiver) newGoogleSource(ctx context.Context, cfg *GoogleConfig, host component.Host, client storage.Client) (*apiSource, error) {
	baseURL := cfg.BaseURL
	if baseURL == "" {
		baseURL = googleAPIBase
	}
	hint := "google_workspace_reports.credentials_file and google_workspace_reports.subject: the service account needs domain-wide delegation for " +
		googleReportsScope + " (Admin console, Security, API controls), and the subject must be an administrator allowed to read reports"
	api, err := r.newAPIClient(ctx, host, sourceGoogle, &cfg.APIPollConfig, baseURL, hint, func(hc *http.Client) (tokenFetch, error) {
		return newGoogleTokenFetch(cfg, sourceGoogle, hc)
	})
	if err != nil {
		return nil, err
	}
	streams := make([]apiStream, 0, len(cfg.Applications))
	for _, app := range cfg.Applications {
		streams = append(streams, &googleStream{
			api:        api,
			endpoint:   strings.TrimSuffix(baseURL, "/") + "/admin/reports/v1/activity/users/all/applications/" + url.PathEscape(app),
			app:        app,
			customerID: cfg.CustomerID,
			pageSize:   cfg.PageSize,
		})
	}
	return newAPISource(ctx, sourceGoogle, cfg.APIPollConfig, api, streams, apiCheckpoints{client, sourceGoogle + "/" + cfg.Subject}, googleDedupKey, r)
}

// googleDedupKey is id.uniqueQualifier with id.time: Google documents the
// qualifier as unique only together with the time.
func googleDedupKey(r *auditrecord.Record) string {
	return r.ID + "@" + r.Time.UTC().Format(time.RFC3339Nano)
}

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
		q.Set("pageToken", page.NextPageToken)
	}
}
