package vendorapi // import "github.com/otelsec/emailcompromise/receiver/auditlogreceiver/internal/vendorapi"

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// GraphEventTypes are the values of signInEventTypes the beta API filters
// on.
var GraphEventTypes = []string{"interactiveUser", "nonInteractiveUser", "servicePrincipal", "managedIdentity"}

// MaxGraphPageSize is the largest $top the sign-in list takes.
const MaxGraphPageSize = 1000

// NewGraphSource returns the source of Graph's sign-in log: one stream,
// whose checkpoint belongs to the tenant and the API version (v1.0 and beta
// list different sign-ins).
func NewGraphSource(ctx context.Context, set GraphSettings, env Env) (*Source, error) {
	hint := fmt.Sprintf("%[1]s.tenant_id, %[1]s.client_id and %[1]s.client_secret (or certificate_file), and that the app has the Microsoft Graph application permissions AuditLog.Read.All and Directory.Read.All with admin consent (sign-in logs also need an Entra ID P1 or P2 licence)", SourceGraph)
	api, baseURL, err := newMicrosoftClient(SourceGraph, set.Auth, func(h cloudHosts) string { return h.graph }, set.BaseURL, set.Poll, env, hint)
	if err != nil {
		return nil, err
	}
	stream := &graphStream{
		api:        api,
		endpoint:   strings.TrimSuffix(baseURL, "/") + "/" + set.APIVersion + "/auditLogs/signIns",
		eventTypes: set.SignInEventTypes,
		pageSize:   set.PageSize,
	}
	prefix := SourceGraph + "/" + set.Auth.TenantID + "/" + set.APIVersion
	return newSource(ctx, SourceGraph, set.Poll, env, api, []apiStream{stream}, prefix, vendorID)
}

// graphStream reads /auditLogs/signIns filtered on createdDateTime, following
// @odata.nextLink.
type graphStream struct {
	api        *apiClient
	endpoint   string // {base}/{version}/auditLogs/signIns
	eventTypes []string
	pageSize   int
}

func (s *graphStream) name() string { return "signIns" }

func (s *graphStream) list(ctx context.Context, w timeWindow, sink *pageSink) error {
	q := url.Values{
		"$filter": {s.filter(w)},
		"$top":    {strconv.Itoa(s.pageSize)},
	}
	next := s.endpoint + "?" + q.Encode()
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
		next = page.NextLink
	}
	return nil
}

// filter is the OData $filter of one window, e.g.
// createdDateTime ge 2024-03-01T10:00:00Z and createdDateTime lt
// 2024-03-01T11:00:00Z and signInEventTypes/any(t: t eq 'nonInteractiveUser').
func (s *graphStream) filter(w timeWindow) string {
	f := "createdDateTime ge " + w.start.UTC().Format(time.RFC3339) + " and createdDateTime lt " + w.end.UTC().Format(time.RFC3339)
	if len(s.eventTypes) > 0 {
		terms := make([]string, len(s.eventTypes))
		for i, t := range s.eventTypes {
			terms[i] = "t eq '" + t + "'"
		}
		f += " and signInEventTypes/any(t: " + strings.Join(terms, " or ") + ")"
	}
	return f
}
