package apitest // import "github.com/otelsec/emailcompromise/internal/testing/apitest"

import (
	"encoding/base64"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// O365 is the Office 365 Management Activity API of one tenant, as
// Microsoft's reference documents it: subscriptions per content type
// (AF20022 until started, AF20023 when an admin disabled one), content
// listed by contentCreated in [startTime, endTime), at most 24 hours apart
// and no more than 7 days back (AF20055 otherwise), pages of limited size
// chained by the NextPageUri header, blobs fetched by contentUri that
// expire (AF20051) or do not exist (AF20050), PublisherIdentifier on every
// request, errors as {"error":{"code","message"}}.
type O365 struct {
	*httptest.Server
	requestLog
	Faults    FaultQueue
	tokens    *TokenRegistry
	tenant    string
	publisher string

	mu sync.Mutex
	// pageSize is how many content items one listing page holds.
	pageSize      int
	subscriptions map[string]string // content type -> enabled / disabled
	blobs         map[string][]*Blob
	// violations are requests the real API would have refused for their
	// time range or a missing PublisherIdentifier: a correct client sends
	// none.
	violations []string
	blobGets   map[string]int
}

// Blob is one content blob. Change its fields inside O365.Update.
type Blob struct {
	ID         string
	Created    time.Time
	Expiration time.Time
	Records    []string
	// Expired makes the API answer AF20051 although contentExpiration has
	// not passed (clocks differ, Microsoft purges early).
	Expired bool
	// Missing makes the API answer 404 AF20050 (not yet replicated).
	Missing bool
}

// NewO365 starts the API for the tenant of entra, whose tokens it takes,
// expecting publisher as PublisherIdentifier ("" expects none). It lists 3
// content items per page until SetPageSize; it stops with the test.
func NewO365(t testing.TB, entra *Entra, publisher string, opts ...ServerOption) *O365 {
	f := &O365{
		tokens:        entra.Tokens,
		tenant:        entra.Tenant,
		publisher:     publisher,
		pageSize:      3,
		subscriptions: make(map[string]string),
		blobs:         make(map[string][]*Blob),
		blobGets:      make(map[string]int),
	}
	f.Server = startServer(t, http.HandlerFunc(f.serve), opts)
	return f
}

// AddBlob makes a blob of records available, created (made available) at
// created, expiring 7 days later.
func (f *O365) AddBlob(contentType string, created time.Time, records ...string) *Blob {
	f.mu.Lock()
	defer f.mu.Unlock()
	b := &Blob{
		ID:         fmt.Sprintf("%d$%s$%d", created.UnixNano(), strings.ReplaceAll(contentType, ".", ""), len(f.blobs[contentType])),
		Created:    created.UTC().Truncate(time.Millisecond),
		Expiration: created.UTC().Add(7 * 24 * time.Hour),
		Records:    records,
	}
	f.blobs[contentType] = append(f.blobs[contentType], b)
	return b
}

// Update runs fn with the server's state locked, to change blobs.
func (f *O365) Update(fn func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn()
}

func (f *O365) feedPath() string { return "/api/v1.0/" + f.tenant + "/activity/feed" }

// contentTypes are the content types the API knows.
var contentTypes = []string{"Audit.AzureActiveDirectory", "Audit.Exchange", "Audit.General", "Audit.SharePoint", "DLP.All"}

func o365Error(w http.ResponseWriter, status int, code, message string) {
	writeJSON(w, status, map[string]any{"error": map[string]string{"code": code, "message": message}})
}

func (f *O365) serve(w http.ResponseWriter, r *http.Request) {
	f.add(r)
	f.mu.Lock()
	if f.publisher != "" && r.URL.Query().Get("PublisherIdentifier") != f.publisher {
		f.violations = append(f.violations, "no PublisherIdentifier: "+r.URL.RequestURI())
	}
	f.mu.Unlock()
	if f.Faults.serve(w, r) {
		return
	}
	if !f.tokens.Valid(r, manageAudience) {
		o365Error(w, http.StatusUnauthorized, "", "Authorization has been denied for this request.")
		return
	}
	rest, ok := strings.CutPrefix(r.URL.Path, f.feedPath())
	if !ok {
		o365Error(w, http.StatusNotFound, "AF20054", "Invalid syntax of the URL.")
		return
	}
	switch {
	case rest == "/subscriptions/start" && r.Method == http.MethodPost:
		f.startSubscription(w, r)
	case rest == "/subscriptions/content" && r.Method == http.MethodGet:
		f.listContent(w, r)
	case strings.HasPrefix(rest, "/audit/") && r.Method == http.MethodGet:
		f.getBlob(w, strings.TrimPrefix(rest, "/audit/"))
	default:
		o365Error(w, http.StatusNotFound, "AF20054", "Invalid syntax of the URL.")
	}
}

func (f *O365) startSubscription(w http.ResponseWriter, r *http.Request) {
	ct := r.URL.Query().Get("contentType")
	if !slices.Contains(contentTypes, ct) {
		o365Error(w, http.StatusBadRequest, "AF20020", "The specified content type is not valid.")
		return
	}
	f.mu.Lock()
	if f.subscriptions[ct] == "" {
		f.subscriptions[ct] = "enabled"
	}
	status := f.subscriptions[ct]
	f.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"contentType": ct, "status": status, "webhook": nil})
}

// parseO365Time reads the three forms the reference lists.
func parseO365Time(s string) (time.Time, bool) {
	for _, layout := range []string{"2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

func (f *O365) listContent(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	ct := q.Get("contentType")
	f.mu.Lock()
	status := f.subscriptions[ct]
	f.mu.Unlock()
	switch status {
	case "":
		o365Error(w, http.StatusBadRequest, "AF20022", "No subscription found for the specified content type.")
		return
	case "disabled":
		o365Error(w, http.StatusBadRequest, "AF20023", "The subscription was disabled by a tenant admin.")
		return
	}
	now := time.Now().UTC()
	start, end := now.Add(-24*time.Hour), now
	if q.Has("startTime") || q.Has("endTime") {
		var okStart, okEnd bool
		start, okStart = parseO365Time(q.Get("startTime"))
		end, okEnd = parseO365Time(q.Get("endTime"))
		if !okStart || !okEnd {
			o365Error(w, http.StatusBadRequest, "AF20055", "Start time and end time must both be specified (or both omitted) and must be less than or equal to 24 hours apart, with the start time no more than 7 days in the past.")
			return
		}
	}
	if end.Sub(start) > 24*time.Hour || start.Before(now.Add(-7*24*time.Hour)) || !start.Before(end) {
		f.mu.Lock()
		f.violations = append(f.violations, fmt.Sprintf("window %s..%s (%s) at %s", start, end, end.Sub(start), now))
		f.mu.Unlock()
		o365Error(w, http.StatusBadRequest, "AF20055", "Start time and end time must both be specified (or both omitted) and must be less than or equal to 24 hours apart, with the start time no more than 7 days in the past.")
		return
	}
	f.mu.Lock()
	var listed []*Blob
	for _, b := range f.blobs[ct] {
		if !b.Created.Before(start) && b.Created.Before(end) {
			listed = append(listed, b)
		}
	}
	f.mu.Unlock()
	// "The content will be listed in the order in which the aggregations
	// become available."
	slices.SortStableFunc(listed, func(a, b *Blob) int { return a.Created.Compare(b.Created) })
	offset := 0
	if token := q.Get("nextPage"); token != "" {
		raw, err := base64.RawURLEncoding.DecodeString(token)
		if err == nil {
			offset, err = strconv.Atoi(string(raw))
		}
		if err != nil || offset < 0 || offset > len(listed) {
			o365Error(w, http.StatusBadRequest, "AF20031", "Invalid nextPage Input: "+token+".")
			return
		}
	}
	f.mu.Lock()
	pageSize := f.pageSize
	f.mu.Unlock()
	page := listed[offset:min(offset+pageSize, len(listed))]
	if offset+pageSize < len(listed) {
		next := *r.URL
		nq := next.Query()
		nq.Set("nextPage", base64.RawURLEncoding.EncodeToString([]byte(strconv.Itoa(offset+pageSize))))
		// Microsoft's NextPageUri keeps startTime and endTime; whether it
		// keeps PublisherIdentifier is not documented, so it does not.
		nq.Del("PublisherIdentifier")
		next.RawQuery = nq.Encode()
		w.Header().Set("NextPageUri", f.URL+next.RequestURI())
	}
	items := make([]map[string]string, 0, len(page))
	for _, b := range page {
		items = append(items, map[string]string{
			"contentType":       ct,
			"contentId":         b.ID,
			"contentUri":        f.URL + f.feedPath() + "/audit/" + b.ID,
			"contentCreated":    b.Created.Format("2006-01-02T15:04:05.000Z"),
			"contentExpiration": b.Expiration.Format("2006-01-02T15:04:05.000Z"),
		})
	}
	writeJSON(w, http.StatusOK, items)
}

func (f *O365) getBlob(w http.ResponseWriter, id string) {
	f.mu.Lock()
	f.blobGets[id]++
	var blob *Blob
	for _, blobs := range f.blobs {
		for _, b := range blobs {
			if b.ID == id {
				blob = b
			}
		}
	}
	var missing, expired bool
	var records []string
	if blob != nil {
		missing, expired, records = blob.Missing, blob.Expired || time.Now().After(blob.Expiration), blob.Records
	}
	f.mu.Unlock()
	switch {
	case blob == nil || missing:
		o365Error(w, http.StatusNotFound, "AF20050", fmt.Sprintf("The specified content (%s) does not exist.", id))
	case expired:
		o365Error(w, http.StatusBadRequest, "AF20051", fmt.Sprintf("Content requested with the key %s has already expired. Content older than 7 days cannot be retrieved.", id))
	default:
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		fmt.Fprintf(w, "[%s]", strings.Join(records, ","))
	}
}

// SetPageSize sets how many content items one listing page holds.
func (f *O365) SetPageSize(n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.pageSize = n
}

// SetSubscription sets a content type's subscription status: "enabled",
// "disabled" (by an admin) or "" (none).
func (f *O365) SetSubscription(contentType, status string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.subscriptions[contentType] = status
}

// Subscription is a content type's subscription status.
func (f *O365) Subscription(contentType string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.subscriptions[contentType]
}

// Violations are the requests the real API would have refused for their
// time range, or that lacked PublisherIdentifier.
func (f *O365) Violations() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.violations)
}

// BlobGets counts the fetches of each blob, by content id.
func (f *O365) BlobGets() map[string]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return maps.Clone(f.blobGets)
}
