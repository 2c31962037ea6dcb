package apitest // import "github.com/otelsec/emailcompromise/internal/testing/apitest"

import (
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// Fault is a canned answer a server gives instead of its own.
type Fault struct {
	// Match is a substring of the request's method and URI, e.g.
	// "subscriptions/content" or "GET /v1.0/".
	Match      string
	Status     int
	RetryAfter string
	Body       string
	// HangUp closes the connection without an answer.
	HangUp bool
	// Header is set on the answer (e.g. a NextPageUri that leads back).
	Header map[string]string
}

// FaultQueue holds faults, each answered once, in order.
type FaultQueue struct {
	mu    sync.Mutex
	queue []Fault
}

// Add queues n copies of f.
func (q *FaultQueue) Add(n int, f Fault) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for range n {
		q.queue = append(q.queue, f)
	}
}

// Pending is how many faults have not been served yet.
func (q *FaultQueue) Pending() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.queue)
}

// serve answers r with the first queued fault that matches it, if any.
func (q *FaultQueue) serve(w http.ResponseWriter, r *http.Request) bool {
	q.mu.Lock()
	var f Fault
	i := slices.IndexFunc(q.queue, func(f Fault) bool { return strings.Contains(r.Method+" "+r.URL.RequestURI(), f.Match) })
	if i >= 0 {
		f = q.queue[i]
		q.queue = slices.Delete(q.queue, i, i+1)
	}
	q.mu.Unlock()
	switch {
	case i < 0:
		return false
	case f.HangUp:
		if conn, _, err := w.(http.Hijacker).Hijack(); err == nil {
			conn.Close()
		}
		return true
	}
	if f.RetryAfter != "" {
		w.Header().Set("Retry-After", f.RetryAfter)
	}
	for k, v := range f.Header {
		w.Header().Set(k, v)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(f.Status)
	_, _ = w.Write([]byte(f.Body))
	return true
}

// requestLog keeps the URIs a server was asked for, and delays its answers
// when asked to.
type requestLog struct {
	mu    sync.Mutex
	uris  []string
	delay time.Duration
}

// add records r, then waits the delay.
func (l *requestLog) add(r *http.Request) {
	l.mu.Lock()
	l.uris = append(l.uris, r.Method+" "+r.URL.RequestURI())
	delay := l.delay
	l.mu.Unlock()
	time.Sleep(delay)
}

// SetDelay makes every answer come d late, as a distant API's do.
func (l *requestLog) SetDelay(d time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.delay = d
}

// Requests returns "METHOD /path?query" of every request so far.
func (l *requestLog) Requests() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.uris)
}
