// Package loadgen generates the audit logs of a synthetic Microsoft 365 and
// Google Workspace tenant: N people over D days with diurnal sign-ins and
// mail flow in the vendors' real record shapes, a few service accounts and
// admins, and attack scenarios injected for chosen users whose expected
// detections it lists by record id. Everything is drawn from a seed: the
// same configuration yields the same bytes.
//
// The output feeds benchmarks (in-memory plog.Logs batches shaped as the
// audit_log receiver emits them) and end-to-end tests (JSON-lines files the
// receiver reads). The mix and why it is shaped so is documented in
// README.md beside this file.
package loadgen // import "github.com/otelsec/emailcompromise/internal/testing/loadgen"

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"time"
)

// Shape is a vendor record shape; its order is the order in which files of
// one hour are named, so that sign-ins are read before the mailbox records
// that follow them.
type Shape uint8

const (
	ShapeAzureMonitor Shape = iota // Entra sign-in, Azure Monitor diagnostic record
	ShapeGraph                     // Entra sign-in, Microsoft Graph signIn resource
	ShapeGoogle                    // Google Workspace Reports API activity
	ShapeEntraAudit                // Entra directory audit, Azure Monitor AuditLogs record
	ShapeO365                      // Office 365 Management Activity API record
	numShapes
)

// Shapes lists every shape in file order: an hour's directory changes (an
// MFA method, an OAuth consent) are read before the mailbox records that
// follow them.
var Shapes = []Shape{ShapeAzureMonitor, ShapeGraph, ShapeGoogle, ShapeEntraAudit, ShapeO365}

func (s Shape) String() string {
	return [...]string{"azure_monitor_signin", "graph_signin", "google_workspace", "azure_monitor_auditlogs", "o365"}[s]
}

// Source is the audit.source the receiver gives records of this shape.
func (s Shape) Source() string {
	return [...]string{"entra_signin", "entra_signin", "google_workspace", "entra_audit", "o365"}[s]
}

// Record is one generated vendor record.
type Record struct {
	// ID is the record's audit.record.id.
	ID    string
	Shape Shape
	// Label names the kind of record for the mix report, e.g. "o365/Send".
	Label string
	// Time is the vendor event time (UTC).
	Time time.Time
	// User is the address whose per-user state the record touches.
	User string
	// Scenario names the attack the record belongs to ("" when benign).
	Scenario string
	// JSON is the record, compact, in the vendor's shape. Records passed to
	// the callback of Each share one buffer: copy what you keep.
	JSON []byte
}

// Config describes the tenant and the period.
type Config struct {
	Seed uint64
	// Users is the number of people; the service account, the shared
	// mailbox and the authorised bulk sender come on top.
	Users int
	// Days is the number of days, starting at Start (midnight UTC).
	Days int
	// Start defaults to Monday 2026-11-02.
	Start time.Time
	// Volume scales every per-person event rate (default 1).
	Volume float64
	// Scenarios names the attacks to inject; nil means all of AllScenarios.
	// An empty, non-nil slice injects none.
	Scenarios []string
	// BulkSends is how many messages the newsletter mailbox (BulkSender)
	// sends on each Monday and Thursday, within half an hour from 08:00
	// UTC; 0 means 300 scaled by Volume. A marketing relay sends thousands:
	// 5,000 make one user's share of a 500-record batch exceed 1 MB in
	// OTLP (the scale-out test's Kafka message size case).
	BulkSends int
}

// DefaultStart is a Monday, so that a one-day tenant is a working day.
var DefaultStart = time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)

// Generator generates one tenant. It is safe for concurrent use.
type Generator struct {
	cfg   Config
	ids   idGen
	users []user
	// people are users[:cfg.Users]; the special accounts follow.
	plan  []*Scenario
	quiet map[int][2]time.Time
	// attacked are the people scenarios chose (victims and the spray's
	// other targets): the look-alikes of attacks leave them alone.
	attacked  map[int]bool
	byDay     map[int][]Record
	expected  map[string][]string
	allowed   map[string][]string
	change    ChangeWindow
	eventPool sync.Pool
}

// New plans the tenant and its attacks. Records are produced by Each.
func New(cfg Config) (*Generator, error) {
	if cfg.Users < 1 || cfg.Users >= 1<<23 {
		return nil, fmt.Errorf("loadgen: users must be between 1 and %d, got %d", 1<<23-1, cfg.Users)
	}
	if cfg.Days < 1 || cfg.Days > 3650 {
		return nil, fmt.Errorf("loadgen: days must be between 1 and 3650, got %d", cfg.Days)
	}
	if cfg.Start.IsZero() {
		cfg.Start = DefaultStart
	}
	cfg.Start = cfg.Start.UTC().Truncate(24 * time.Hour)
	if cfg.Volume == 0 {
		cfg.Volume = 1
	}
	if cfg.Volume < 0 || math.IsNaN(cfg.Volume) {
		return nil, errors.New("loadgen: volume must be positive")
	}
	if cfg.Scenarios == nil {
		cfg.Scenarios = AllScenarios
	}
	g := &Generator{
		cfg:      cfg,
		ids:      idGen{salt: mix64(cfg.Seed ^ 0x6c6f616467656e)},
		users:    newTenant(cfg.Seed, cfg.Users),
		quiet:    map[int][2]time.Time{},
		attacked: map[int]bool{},
		byDay:    map[int][]Record{},
		expected: map[string][]string{},
		allowed:  map[string][]string{},
	}
	g.eventPool.New = func() any { return new([]event) }
	// The admin's migration window: the first evening, 18:00-22:00 UTC.
	g.change = ChangeWindow{
		Actors:  []string{Admin},
		Targets: []string{"*@" + Domain},
		Start:   cfg.Start.Add(18 * time.Hour),
		End:     cfg.Start.Add(22 * time.Hour),
	}
	if err := g.planScenarios(); err != nil {
		return nil, err
	}
	g.planLookalikes()
	g.sortPlanned()
	return g, nil
}

// Config returns the configuration with defaults applied.
func (g *Generator) Config() Config { return g.cfg }

// End is the end of the generated period.
func (g *Generator) End() time.Time { return g.cfg.Start.AddDate(0, 0, g.cfg.Days) }

// Each calls fn for every record in time order (records of one second in
// id order), day by day; it stops at fn's first error. Memory is bounded by
// one day of the tenant.
func (g *Generator) Each(fn func(*Record) error) error {
	return g.each(0, len(g.users), fn)
}

// EachUsers is Each restricted to the people with index in [from, to) (the
// special accounts have the indexes after Users) and to the scenario
// records of the victims among them. Per-user state depends only on the
// user's own records, so a large tenant can be fed in slices of users with
// bounded memory.
func (g *Generator) EachUsers(from, to int, fn func(*Record) error) error {
	return g.each(max(from, 0), min(to, len(g.users)), fn)
}

func (g *Generator) each(from, to int, fn func(*Record) error) error {
	var rec Record
	var buf []byte
	for day := 0; day < g.cfg.Days; day++ {
		events := g.dayEvents(day, from, to)
		scenario := g.byDay[day]
		si := 0
		for i := 0; i <= len(*events); i++ {
			var next *event
			if i < len(*events) {
				next = &(*events)[i]
			}
			// Merge the day's scenario records in.
			for si < len(scenario) && (next == nil || !scenario[si].Time.After(time.Unix(0, next.at))) {
				s := &scenario[si]
				si++
				if !g.userInRange(s, from, to) {
					continue
				}
				if err := fn(s); err != nil {
					g.putEvents(events)
					return err
				}
			}
			if next == nil {
				break
			}
			buf = g.render(buf[:0], next, &rec)
			rec.JSON = buf
			if err := fn(&rec); err != nil {
				g.putEvents(events)
				return err
			}
		}
		g.putEvents(events)
	}
	return nil
}

func (g *Generator) userInRange(s *Record, from, to int) bool {
	if from == 0 && to == len(g.users) {
		return true
	}
	for i := from; i < to; i++ {
		u := &g.users[i]
		if s.User == u.upn || (u.google && s.User == u.googleMail) {
			return true
		}
	}
	return false
}

// Records returns every record, in time order, each with its own JSON.
func (g *Generator) Records() ([]Record, error) {
	var out []Record
	err := g.Each(func(r *Record) error {
		c := *r
		c.JSON = slices.Clone(r.JSON)
		out = append(out, c)
		return nil
	})
	return out, err
}

// Expected returns, by record id, the detection rule ids that must fire on
// the record; every record not listed must stay untagged, except for the
// rules Allowed lists. The maps are shared: do not modify them.
func (g *Generator) Expected() map[string][]string { return g.expected }

// Allowed returns, by record id, rules that may fire on the record as a
// side effect of the scenario (a sign-in from a new country is also
// new_country once the user's history has been learned).
func (g *Generator) Allowed() map[string][]string { return g.allowed }

// Scenarios returns the injected attacks.
func (g *Generator) Scenarios() []*Scenario { return g.plan }

// poisson draws a Poisson variate (Knuth for small means, normal beyond).
func poisson(r *rand.Rand, mean float64) int {
	if mean <= 0 {
		return 0
	}
	if mean > 30 {
		n := int(math.Round(mean + math.Sqrt(mean)*r.NormFloat64()))
		return max(n, 0)
	}
	limit, p, n := math.Exp(-mean), 1.0, 0
	for {
		p *= r.Float64()
		if p <= limit {
			return n
		}
		n++
	}
}
