package apitest // import "github.com/otelsec/emailcompromise/internal/testing/apitest"

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Reports is the Admin SDK Reports API activities.list for
// userKey=all, as documented: startTime and endTime in RFC 3339, maxResults
// 1..1000, newest first, pages chained by nextPageToken (items left out
// when there are none), errors as {"error":{"code":N,"message","errors",
// "status"}}.
type Reports struct {
	*httptest.Server
	requestLog
	Faults FaultQueue
	tokens *TokenRegistry

	mu         sync.Mutex
	activities map[string][]activity
	// violations are startTimes further back than Google keeps log events
	// (6 months, "Data retention and lag times"): a correct client asks
	// for no such range.
	violations []string
}

// reportsRetention is how long Google keeps log events.
const reportsRetention = 180 * 24 * time.Hour

// Violations are the requests whose startTime was further back than Google
// keeps log events.
func (f *Reports) Violations() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.violations)
}

type activity struct {
	at     time.Time
	record string
}

// googleApplications are the applicationName values the API accepts.
var googleApplications = []string{"access_transparency", "admin", "calendar", "chat", "drive", "gcp", "groups", "groups_enterprise", "login", "meet", "mobile", "rules", "saml", "token", "user_accounts", "context_aware_access", "chrome", "data_studio", "keep", "vault", "gmail"}

// NewReports starts the API, taking the tokens of auth; it stops with the
// test.
func NewReports(t testing.TB, auth *GoogleAuth, opts ...ServerOption) *Reports {
	f := &Reports{tokens: auth.Tokens, activities: make(map[string][]activity)}
	f.Server = startServer(t, http.HandlerFunc(f.serve), opts)
	return f
}

// Add makes an activity of app listable; record is its JSON, at its id.time.
func (f *Reports) Add(app string, at time.Time, record string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.activities[app] = append(f.activities[app], activity{at.UTC(), record})
}

func googleError(w http.ResponseWriter, status int, reason, message, grpcStatus string) {
	writeJSON(w, status, map[string]any{"error": map[string]any{
		"code": status, "message": message, "status": grpcStatus,
		"errors": []map[string]string{{"message": message, "domain": "global", "reason": reason}},
	}})
}

func (f *Reports) serve(w http.ResponseWriter, r *http.Request) {
	f.add(r)
	if f.Faults.serve(w, r) {
		return
	}
	if !f.tokens.Valid(r, googleAPIAudience) {
		googleError(w, http.StatusUnauthorized, "authError", "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.", "UNAUTHENTICATED")
		return
	}
	app, ok := strings.CutPrefix(r.URL.Path, "/admin/reports/v1/activity/users/all/applications/")
	if !ok || r.Method != http.MethodGet || !slices.Contains(googleApplications, app) {
		googleError(w, http.StatusBadRequest, "badRequest", "Bad Request", "INVALID_ARGUMENT")
		return
	}
	q := r.URL.Query()
	start, err1 := time.Parse(time.RFC3339, q.Get("startTime"))
	end, err2 := time.Parse(time.RFC3339, q.Get("endTime"))
	if (q.Has("startTime") && err1 != nil) || (q.Has("endTime") && err2 != nil) || (err1 == nil && err2 == nil && end.Before(start)) {
		googleError(w, http.StatusBadRequest, "invalid", "Start time must be earlier than end time, both in RFC 3339 format.", "INVALID_ARGUMENT")
		return
	}
	maxResults := 1000
	if q.Has("maxResults") {
		var err error
		if maxResults, err = strconv.Atoi(q.Get("maxResults")); err != nil || maxResults < 1 || maxResults > 1000 {
			googleError(w, http.StatusBadRequest, "invalid", "Invalid value for maxResults.", "INVALID_ARGUMENT")
			return
		}
	}
	offset := 0
	if tok := q.Get("pageToken"); tok != "" {
		raw, _ := base64.RawURLEncoding.DecodeString(tok)
		var err error
		if offset, err = strconv.Atoi(string(raw)); err != nil {
			googleError(w, http.StatusBadRequest, "invalid", "Invalid page token.", "INVALID_ARGUMENT")
			return
		}
	}
	f.mu.Lock()
	if err1 == nil && start.Before(time.Now().Add(-reportsRetention)) {
		f.violations = append(f.violations, fmt.Sprintf("startTime %s: more than %s back", q.Get("startTime"), reportsRetention))
	}
	var matched []activity
	for _, a := range f.activities[app] {
		if (err1 != nil || !a.at.Before(start)) && (err2 != nil || !a.at.After(end)) {
			matched = append(matched, a)
		}
	}
	f.mu.Unlock()
	slices.SortStableFunc(matched, func(a, b activity) int { return b.at.Compare(a.at) })
	page := matched[min(offset, len(matched)):min(offset+maxResults, len(matched))]
	body := `{"kind":"admin#reports#activities","etag":"\"5G6xq3dRrJ0Lk7n9bq1jT4m2sYw/abc\""`
	if len(page) > 0 {
		records := make([]string, len(page))
		for i, a := range page {
			records[i] = a.record
		}
		body += `,"items":[` + strings.Join(records, ",") + `]`
	}
	if offset+maxResults < len(matched) {
		body += fmt.Sprintf(`,"nextPageToken":%q`, base64.RawURLEncoding.EncodeToString([]byte(strconv.Itoa(offset+maxResults))))
	}
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	_, _ = w.Write([]byte(body + "}"))
}
