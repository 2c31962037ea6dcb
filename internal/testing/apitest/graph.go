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

// Graph is Microsoft Graph's /auditLogs/signIns as documented: $filter
// on createdDateTime (ge, gt, le, lt, joined by and) and, in beta only,
// signInEventTypes/any(t: t eq '...' or ...); $top up to 1000; newest first;
// pages chained by @odata.nextLink carrying an opaque $skiptoken; errors as
// {"error":{"code","message","innerError"}}. Without an event type filter
// only interactive sign-ins are listed.
type Graph struct {
	*httptest.Server
	requestLog
	Faults FaultQueue

	mu      sync.Mutex
	tokens  *TokenRegistry
	signIns []signIn
	// repeatPage makes the next second page point at itself once, as a
	// paging glitch that hands the same page out twice.
	repeatPage bool
	// emptyPages is how many first pages come back empty with a nextLink,
	// as Graph does while a query is still gathering results.
	emptyPages int
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
	graphDateClause  = regexp.MustCompile(`^createdDateTime (ge|gt|le|lt) (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z)$`)
	graphEventClause = regexp.MustCompile(`^signInEventTypes/any\(t: (t eq '[A-Za-z]+'(?: or t eq '[A-Za-z]+')*)\)$`)
)

// graphFilter is a parsed $filter.
type graphFilter struct {
	keep       []func(time.Time) bool
	eventTypes []string
}

func parseGraphFilter(filter, version string) (*graphFilter, error) {
	g := &graphFilter{}
	for _, clause := range strings.Split(filter, " and ") {
		if m := graphDateClause.FindStringSubmatch(clause); m != nil {
			at, err := time.Parse(time.RFC3339Nano, m[2])
			if err != nil {
				return nil, err
			}
			op := m[1]
			g.keep = append(g.keep, func(t time.Time) bool {
				switch op {
				case "ge":
					return !t.Before(at)
				case "gt":
					return t.After(at)
				case "le":
					return !t.After(at)
				}
				return t.Before(at)
			})
			continue
		}
		if m := graphEventClause.FindStringSubmatch(clause); m != nil {
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
	if len(g.eventTypes) == 0 {
		g.eventTypes = []string{"interactiveUser"}
	}
	return g, nil
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
	version, ok := strings.CutSuffix(r.URL.Path, "/auditLogs/signIns")
	version = strings.TrimPrefix(version, "/")
	if !ok || (version != "v1.0" && version != "beta") || r.Method != http.MethodGet {
		graphError(w, http.StatusBadRequest, "BadRequest", "Resource not found for the segment '"+r.URL.Path+"'.")
		return
	}
	q := r.URL.Query()
	filter, err := parseGraphFilter(q.Get("$filter"), version)
	if err != nil {
		graphError(w, http.StatusBadRequest, "BadRequest", err.Error())
		return
	}
	top := 1000
	if q.Has("$top") {
		if top, err = strconv.Atoi(q.Get("$top")); err != nil || top < 1 || top > 1000 {
			graphError(w, http.StatusBadRequest, "BadRequest", "Invalid page size specified: '"+q.Get("$top")+"'. Must be between 1 and 1000 inclusive.")
			return
		}
	}
	offset := 0
	if tok := q.Get("$skiptoken"); tok != "" {
		raw, _ := base64.RawURLEncoding.DecodeString(tok)
		if offset, err = strconv.Atoi(string(raw)); err != nil {
			graphError(w, http.StatusBadRequest, "BadRequest", "Invalid $skiptoken.")
			return
		}
	}

	f.mu.Lock()
	var matched []signIn
	for _, s := range f.signIns {
		if !slices.Contains(filter.eventTypes, s.eventType) {
			continue
		}
		keep := true
		for _, k := range filter.keep {
			keep = keep && k(s.created)
		}
		if keep {
			matched = append(matched, s)
		}
	}
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
		nq := url.Values{"$filter": {q.Get("$filter")}, "$top": {strconv.Itoa(top)}, "$skiptoken": {base64.RawURLEncoding.EncodeToString([]byte("0"))}}
		writeJSON(w, http.StatusOK, map[string]any{"value": []any{}, "@odata.nextLink": f.URL + r.URL.Path + "?" + nq.Encode()})
		return
	}
	slices.SortStableFunc(matched, func(a, b signIn) int { return b.created.Compare(a.created) })

	page := matched[min(offset, len(matched)):min(offset+top, len(matched))]
	values := make([]string, len(page))
	for i, s := range page {
		values[i] = s.record
	}
	body := fmt.Sprintf(`{"@odata.context":"%s/%s/$metadata#auditLogs/signIns","value":[%s]`, f.URL, version, strings.Join(values, ","))
	if next := offset + top; next < len(matched) {
		if repeat {
			next = offset
		}
		nq := url.Values{"$filter": {q.Get("$filter")}, "$top": {strconv.Itoa(top)}, "$skiptoken": {base64.RawURLEncoding.EncodeToString([]byte(strconv.Itoa(next)))}}
		body += fmt.Sprintf(`,"@odata.nextLink":%q`, f.URL+r.URL.Path+"?"+nq.Encode())
	}
	w.Header().Set("Content-Type", "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8")
	_, _ = w.Write([]byte(body + "}"))
}
