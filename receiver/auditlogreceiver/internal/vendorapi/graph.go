package vendorapi // import "github.com/otelsec/emailcompromise/receiver/auditlogreceiver/internal/vendorapi"

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/otelsec/emailcompromise/internal/auditrecord"
)

// GraphEventTypes are the values of signInEventTypes the beta API filters
// on.
var GraphEventTypes = []string{"interactiveUser", "nonInteractiveUser", "servicePrincipal", "managedIdentity"}

const (
	// MaxGraphPageSize is the largest $top the sign-in list takes.
	MaxGraphPageSize = 1000
	// MaxGraphRiskPageSize is the largest $top the risk detection list
	// takes ("the maximum with $top is 500").
	MaxGraphRiskPageSize = 500
)

// How long Entra ID keeps what Graph lists ("Microsoft Entra data
// retention", learn.microsoft.com/entra/identity/monitoring-health/
// reference-reports-data-retention): sign-ins 30 days with P1 or P2 (which
// the sign-in API needs), risk detections 90 days with P2 (30 with P1,
// whose windows further back are merely empty).
var (
	signInRetention        = apiRetention{30 * 24 * time.Hour, "Entra ID keeps sign-ins 30 days (Microsoft Entra data retention, P1 and P2)"}
	riskDetectionRetention = apiRetention{90 * 24 * time.Hour, "Entra ID keeps risk detections 90 days with P2, 30 with P1 (Microsoft Entra data retention)"}
)

// NewGraphSource returns the source of Graph's sign-in log: one stream,
// whose checkpoint belongs to the tenant and the API version (v1.0 and beta
// list different sign-ins).
func NewGraphSource(ctx context.Context, set GraphSettings, env Env) (*Source, error) {
	key := env.configKey(SourceGraph)
	hint := fmt.Sprintf("%[1]s.tenant_id, %[1]s.client_id and %[1]s.client_secret (or certificate_file), and that the app has the Microsoft Graph application permissions AuditLog.Read.All and Directory.Read.All with admin consent (sign-in logs also need an Entra ID P1 or P2 licence)", key)
	api, baseURL, err := newMicrosoftClient(SourceGraph, set.Auth, func(h cloudHosts) string { return h.graph }, set.BaseURL, set.Poll, env, hint)
	if err != nil {
		return nil, err
	}
	stream := &graphStream{
		api:          api,
		endpoint:     strings.TrimSuffix(baseURL, "/") + "/" + set.APIVersion + "/auditLogs/signIns",
		stream:       "signIns",
		dateProperty: "createdDateTime",
		eventTypes:   set.SignInEventTypes,
		pageSize:     set.PageSize,
	}
	prefix := SourceGraph + "/" + set.Auth.TenantID + "/" + set.APIVersion
	return newSource(ctx, SourceGraph, set.Poll, env, api, []apiStream{stream}, prefix, byVendorID, signInRetention)
}

// NewGraphRiskSource returns the source of Entra ID Protection's risk
// detections (/identityProtection/riskDetections): one stream, listed by
// detectedDateTime, whose checkpoint belongs to the tenant and the API
// version.
//
// A detection is listed by detectedDateTime rather than lastUpdatedDateTime:
// the reference documents $filter for the list without naming which
// properties it takes, and detectedDateTime is the one in use (Microsoft's
// examples, Microsoft Graph PowerShell scripts, SIEM collectors), while a
// filter on lastUpdatedDateTime is nowhere shown. detectedDateTime is also
// set once, so windows over it partition the feed as the other sources'
// windows do. Identity Protection updates a detection later (riskState
// dismissed, remediated, confirmedCompromised) under the same id; a poll
// whose window still covers its detectedDateTime (within overlap) lists
// the updated version, which riskDetectionIdentity tells from the one
// delivered before by its lastUpdatedDateTime.
func NewGraphRiskSource(ctx context.Context, set GraphRiskSettings, env Env) (*Source, error) {
	key := env.configKey(SourceGraphRisk)
	hint := fmt.Sprintf("%[1]s.tenant_id, %[1]s.client_id and %[1]s.client_secret (or certificate_file), and that the app has the Microsoft Graph application permission IdentityRiskEvent.Read.All with admin consent (risk detections also need an Entra ID P1 or P2 licence)", key)
	api, baseURL, err := newMicrosoftClient(SourceGraphRisk, set.Auth, func(h cloudHosts) string { return h.graph }, set.BaseURL, set.Poll, env, hint)
	if err != nil {
		return nil, err
	}
	stream := &graphStream{
		api:          api,
		endpoint:     strings.TrimSuffix(baseURL, "/") + "/" + set.APIVersion + "/identityProtection/riskDetections",
		stream:       "riskDetections",
		dateProperty: "detectedDateTime",
		pageSize:     set.PageSize,
	}
	prefix := SourceGraphRisk + "/" + set.Auth.TenantID + "/" + set.APIVersion
	return newSource(ctx, SourceGraphRisk, set.Poll, env, api, []apiStream{stream}, prefix, riskDetectionIdentity, riskDetectionRetention)
}

// riskDetectionIdentity names a risk detection by its id and
// lastUpdatedDateTime, and knows that the listing filters on
// detectedDateTime. The same detection listed again unchanged is a
// duplicate; listed again after Identity Protection updated it (a new
// riskState, a new lastUpdatedDateTime) it is a new record, with the same
// audit.record.id: its new state is news the processor acts on (a dismissed
// detection is no risk, a confirmed compromise is critical).
var riskDetectionIdentity = recordIdentity{
	key: func(view *auditrecord.Record, body pcommon.Map) string {
		updated, _ := body.Get("lastUpdatedDateTime")
		return view.ID + "@" + updated.AsString()
	},
	listedBy: "detectedDateTime",
}

// graphStream reads a Graph collection filtered on one of its date
// properties, following @odata.nextLink.
type graphStream struct {
	api      *apiClient
	endpoint string // {base}/{version}/{collection}
	// stream names the collection in checkpoints, logs and metrics.
	stream string
	// dateProperty is what each window filters on.
	dateProperty string
	eventTypes   []string
	pageSize     int
}

func (s *graphStream) name() string { return s.stream }

func (s *graphStream) list(ctx context.Context, w timeWindow, sink *pageSink) error {
	q := url.Values{
		"$filter": {s.filter(w)},
		"$top":    {strconv.Itoa(s.pageSize)},
	}
	next := s.endpoint + "?" + q.Encode()
	trail := pageTrail{}
	for next != "" {
		var page struct {
			Value    []json.RawMessage `json:"value"`
			NextLink string            `json:"@odata.nextLink"`
		}
		if _, err := s.api.get(ctx, next, func(body []byte) error {
			page.Value, page.NextLink = nil, ""
			return json.Unmarshal(body, &page)
		}); err != nil {
			return err
		}
		if err := sink.page(ctx, apiPage{records: page.Value}); err != nil {
			return err
		}
		if page.NextLink != "" {
			if err := trail.follow(page.NextLink, "@odata.nextLink"); err != nil {
				return err
			}
		}
		next = page.NextLink
	}
	return nil
}

// filter is the OData $filter of one window, e.g.
// createdDateTime ge 2024-03-01T10:00:00Z and createdDateTime lt
// 2024-03-01T11:00:00Z and signInEventTypes/any(t: t eq 'nonInteractiveUser').
func (s *graphStream) filter(w timeWindow) string {
	f := s.dateProperty + " ge " + w.start.UTC().Format(time.RFC3339) + " and " + s.dateProperty + " lt " + w.end.UTC().Format(time.RFC3339)
	if len(s.eventTypes) > 0 {
		terms := make([]string, len(s.eventTypes))
		for i, t := range s.eventTypes {
			terms[i] = "t eq '" + t + "'"
		}
		f += " and signInEventTypes/any(t: " + strings.Join(terms, " or ") + ")"
	}
	return f
}
