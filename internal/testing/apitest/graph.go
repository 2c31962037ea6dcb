package apitest // import "github.com/otelsec/emailcompromise/internal/testing/apitest"

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Graph is Microsoft Graph's /auditLogs/signIns and
// /identityProtection/riskDetections as documented. Sign-ins: $filter on
// createdDateTime (ge, gt, le, lt, joined by and) and, in beta only,
// signInEventTypes/any(t: t eq '...' or ...); $top up to 1000; without an
// event type filter only interactive sign-ins are listed. Risk detections
// (riskdetections.go): $filter on their date properties, $top up to 500, 20
// by default. Both newest first; pages chained by @odata.nextLink carrying
// an opaque $skiptoken; errors as {"error":{"code","message","innerError"}}.
type Graph struct {
	*httptest.Server
	requestLog
	Faults FaultQueue

	mu      sync.Mutex
	tokens  *TokenRegistry
	signIns []signIn
	risks   []*RiskDetection
	// repeatPage makes the next second page point at itself once, as a
	// paging glitch that hands the same page out twice.
	repeatPage bool
	// emptyPages is how many first pages come back empty with a nextLink,
	// as Graph does while a query is still gathering results.
	emptyPages int
	// violations are filters reaching further back than Entra ID keeps
	// the collection: the API answers them, with nothing from before its
	// retention, but a correct client asks for no such range.
	violations []string
}

// How long Entra ID keeps what Graph lists (Microsoft Entra data
// retention): sign-ins 30 days with P1 or P2, risk detections 90 days with
// P2.
const (
	signInRetention        = 30 * 24 * time.Hour
	riskDetectionRetention = 90 * 24 * time.Hour
)

// noteRetention records a violation when filter asks for property before
// now - retention. Called with f.mu held.
func (f *Graph) noteRetention(filter *graphFilter, property string, retention time.Duration) {
	earliest := time.Now().Add(-retention)
	for _, c := range filter.dates {
		if c.property == property && (c.op == "ge" || c.op == "gt") && c.at.Before(earliest) {
			f.violations = append(f.violations, fmt.Sprintf("%s %s %s: more than %s back", property, c.op, c.at.Format(time.RFC3339), retention))
		}
	}
}

// Violations are the filters that reached further back than Entra ID keeps
// the collection.
func (f *Graph) Violations() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.violations)
}

type signIn struct {
	created   time.Time
	eventType string
	record    string
}

// NewGraph starts the API, taking the tokens of entra; it stops with the
// test.
func NewGraph(t testing.TB, entra *Entra, opts ...ServerOption) *Graph {
	f := &Graph{tokens: entra.Tokens}
	f.Server = startServer(t, http.HandlerFunc(f.serve), opts)
	return f
}

// Add makes a sign-in listable: record is its JSON, created its
// createdDateTime, eventType its signInEventTypes value (interactiveUser,
// nonInteractiveUser, servicePrincipal, managedIdentity).
func (f *Graph) Add(created time.Time, eventType, record string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.signIns = append(f.signIns, signIn{created.UTC(), eventType, record})
}

// RepeatPageOnce makes the next second page's nextLink point back at itself
// once, a paging glitch that hands the same page out twice.
func (f *Graph) RepeatPageOnce() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.repeatPage = true
}

// EmptyFirstPages makes the next n first pages empty, with a nextLink to
// the results, as Graph answers while a query is still gathering results.
func (f *Graph) EmptyFirstPages(n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.emptyPages = n
}

// AcceptTokensOf makes the API take only the tokens of reg, e.g. of another
// resource, so that every other token is refused with 401.
func (f *Graph) AcceptTokensOf(reg *TokenRegistry) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.tokens = reg
}

func graphError(w http.ResponseWriter, status int, code, message string) {
	writeJSON(w, status, map[string]any{"error": map[string]any{
		"code": code, "message": message,
		"innerError": map[string]string{"date": time.Now().UTC().Format(time.RFC3339), "request-id": "5e0d4b7c-0000-4000-8000-000000000000"},
	}})
}

var (
	graphDateClause  = regexp.MustCompile(`^([A-Za-z]+) (ge|gt|le|lt) (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z)$`)
	graphEventClause = regexp.MustCompile(`^signInEventTypes/any\(t: (t eq '[A-Za-z]+'(?: or t eq '[A-Za-z]+')*)\)$`)
)

// graphFilter is a parsed $filter: date comparisons on the collection's
// date properties and, on beta sign-ins, the event types.
type graphFilter struct {
	dates      []dateClause
	eventTypes []string
}

type dateClause struct {
	property, op string
	at           time.Time
}

// matches reports whether an item whose date properties are times passes
// every date comparison.
func (g *graphFilter) matches(times map[string]time.Time) bool {
	for _, c := range g.dates {
		t := times[c.property]
		var ok bool
		switch c.op {
		case "ge":
			ok = !t.Before(c.at)
		case "gt":
			ok = t.After(c.at)
		case "le":
			ok = !t.After(c.at)
		default:
			ok = t.Before(c.at)
		}
		if !ok {
			return false
		}
	}
	return true
}

// parseGraphFilter reads the $filter of a collection of type (its OData
// name) whose date properties are dateProperties; event type clauses are
// taken on beta sign-ins only.
func parseGraphFilter(filter, version, typ string, dateProperties []string) (*graphFilter, error) {
	g := &graphFilter{}
	if filter == "" {
		return g, nil
	}
	for _, clause := range strings.Split(filter, " and ") {
		if m := graphDateClause.FindStringSubmatch(clause); m != nil {
			if !slices.Contains(dateProperties, m[1]) {
				//lint:ignore ST1005 Graph's own error message, which the fake returns to the client verbatim
				return nil, fmt.Errorf("Could not find a property named '%s' on type '%s'.", m[1], typ)
			}
			at, err := time.Parse(time.RFC3339Nano, m[3])
			if err != nil {
				return nil, err
			}
			g.dates = append(g.dates, dateClause{property: m[1], op: m[2], at: at})
			continue
		}
		if m := graphEventClause.FindStringSubmatch(clause); m != nil && typ == graphSignInType {
			if version != "beta" {
				//lint:ignore ST1005 Graph's own error message, which the fake returns to the client verbatim
				return nil, fmt.Errorf("Could not find a property named 'signInEventTypes' on type 'microsoft.graph.signIn'.")
			}
			for _, term := range strings.Split(m[1], " or ") {
				g.eventTypes = append(g.eventTypes, strings.Trim(strings.TrimPrefix(term, "t eq "), "'"))
			}
			continue
		}
		//lint:ignore ST1005 an error message sent to the client in Graph's style, capitalised
		return nil, fmt.Errorf("Invalid filter clause: %q", clause)
	}
	return g, nil
}

// OData type names of the collections.
const (
	graphSignInType        = "microsoft.graph.signIn"
	graphRiskDetectionType = "microsoft.graph.riskDetection"
)

// graphItem is one listable item of a collection: its JSON, the time it is
// listed by (newest first) and its date properties.
type graphItem struct {
	record string
	order  time.Time
	times  map[string]time.Time
}

func (f *Graph) serve(w http.ResponseWriter, r *http.Request) {
	f.add(r)
	if f.Faults.serve(w, r) {
		return
	}
	f.mu.Lock()
	tokens := f.tokens
	f.mu.Unlock()
	if !tokens.Valid(r, graphAudience) {
		graphError(w, http.StatusUnauthorized, "InvalidAuthenticationToken", "Access token has expired or is not yet valid.")
		return
	}
	version, collection, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	if (version != "v1.0" && version != "beta") || r.Method != http.MethodGet {
		graphError(w, http.StatusBadRequest, "BadRequest", "Resource not found for the segment '"+r.URL.Path+"'.")
		return
	}
	switch collection {
	case "auditLogs/signIns":
		f.listSignIns(w, r, version)
	case "identityProtection/riskDetections":
		f.listRiskDetections(w, r, version)
	default:
		graphError(w, http.StatusBadRequest, "BadRequest", "Resource not found for the segment '"+r.URL.Path+"'.")
	}
}

// listSignIns lists /auditLogs/signIns: $top up to 1000 (its default too),
// createdDateTime comparisons and, in beta, event types.
func (f *Graph) listSignIns(w http.ResponseWriter, r *http.Request, version string) {
	q := r.URL.Query()
	filter, err := parseGraphFilter(q.Get("$filter"), version, graphSignInType, []string{"createdDateTime"})
	if err != nil {
		graphError(w, http.StatusBadRequest, "BadRequest", err.Error())
		return
	}
	eventTypes := filter.eventTypes
	if len(eventTypes) == 0 {
		eventTypes = []string{"interactiveUser"}
	}
	f.mu.Lock()
	var matched []graphItem
	for _, s := range f.signIns {
		item := graphItem{record: s.record, order: s.created, times: map[string]time.Time{"createdDateTime": s.created}}
		if slices.Contains(eventTypes, s.eventType) && filter.matches(item.times) {
			matched = append(matched, item)
		}
	}
	f.noteRetention(filter, "createdDateTime", signInRetention)
	f.mu.Unlock()
	f.page(w, r, version, "auditLogs/signIns", matched, 1000, 1000)
}

// page writes one page of matched, newest first: $top between 1 and
// maxTop (defaultTop without it), chained by @odata.nextLink with an
// opaque $skiptoken.
func (f *Graph) page(w http.ResponseWriter, r *http.Request, version, collection string, matched []graphItem, defaultTop, maxTop int) {
	q := r.URL.Query()
	top := defaultTop
	if q.Has("$top") {
		var err error
		if top, err = strconv.Atoi(q.Get("$top")); err != nil || top < 1 || top > maxTop {
			graphError(w, http.StatusBadRequest, "BadRequest", fmt.Sprintf("Invalid page size specified: '%s'. Must be between 1 and %d inclusive.", q.Get("$top"), maxTop))
			return
		}
	}
	offset := 0
	if tok := q.Get("$skiptoken"); tok != "" {
		raw, _ := base64.RawURLEncoding.DecodeString(tok)
		var err error
		if offset, err = strconv.Atoi(string(raw)); err != nil {
			graphError(w, http.StatusBadRequest, "BadRequest", "Invalid $skiptoken.")
			return
		}
	}
	nextLink := func(offset int) string {
		nq := url.Values{"$top": {strconv.Itoa(top)}, "$skiptoken": {base64.RawURLEncoding.EncodeToString([]byte(strconv.Itoa(offset)))}}
		if q.Has("$filter") {
			nq.Set("$filter", q.Get("$filter"))
		}
		return f.URL + r.URL.Path + "?" + nq.Encode()
	}

	f.mu.Lock()
	repeat := f.repeatPage && offset == top
	if repeat {
		f.repeatPage = false
	}
	empty := f.emptyPages > 0 && !q.Has("$skiptoken")
	if empty {
		f.emptyPages--
	}
	f.mu.Unlock()
	if empty {
		writeJSON(w, http.StatusOK, map[string]any{"value": []any{}, "@odata.nextLink": nextLink(0)})
		return
	}
	slices.SortStableFunc(matched, func(a, b graphItem) int { return b.order.Compare(a.order) })

	page := matched[min(offset, len(matched)):min(offset+top, len(matched))]
	values := make([]string, len(page))
	for i, s := range page {
		values[i] = s.record
	}
	body := fmt.Sprintf(`{"@odata.context":"%s/%s/$metadata#%s","value":[%s]`, f.URL, version, collection, strings.Join(values, ","))
	if next := offset + top; next < len(matched) {
		if repeat {
			next = offset
		}
		body += fmt.Sprintf(`,"@odata.nextLink":%q`, nextLink(next))
	}
	w.Header().Set("Content-Type", "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8")
	_, _ = w.Write([]byte(body + "}"))
}
