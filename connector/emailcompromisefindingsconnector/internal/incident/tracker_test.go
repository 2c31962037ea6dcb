package incident

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var t0 = time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)

func at(d time.Duration) int64 { return t0.Add(d).UnixNano() }

func testOptions() Options {
	o := Options{QuietPeriod: 30 * time.Minute, Lateness: 24 * time.Hour, Retention: 7 * 24 * time.Hour, MaxEvidence: 8, MaxFindings: 1000}
	for s := SeverityLow; s <= SeverityCritical; s++ {
		o.Opens[s] = true
	}
	return o
}

func obs(user, rule, id string, d time.Duration, sev Severity) *Observation {
	return &Observation{User: user, Rule: rule, RecordID: id, Time: at(d), Severity: sev, Evidence: []string{id},
		Reason: rule + " on " + id, Techniques: []string{"T1586.002"}, Fields: Fields{Operation: "Send", ClientAddress: "198.51.100.77"}}
}

// backend keeps the last emission of every uid, as a SIEM upserting
// findings by uid and revision does.
type backend struct {
	t    *testing.T
	last map[string]emitted
}

type emitted struct {
	revision int
	status   Status
	count    int
	first    int64
	last     int64
	evidence []string
	links    []string
	succ     string
}

func newBackend(t *testing.T) *backend { return &backend{t: t, last: map[string]emitted{}} }

func (b *backend) take(ems []Emission) {
	for _, e := range ems {
		f := e.Finding
		prev, seen := b.last[f.UID]
		if seen && f.Revision <= prev.revision {
			b.t.Fatalf("finding %s: revision %d after %d", f.UID, f.Revision, prev.revision)
		}
		if !seen && e.Activity != ActivityCreate && f.Status != StatusSuperseded {
			b.t.Fatalf("finding %s: first emission is activity %d, want create", f.UID, e.Activity)
		}
		var ids []string
		for _, ev := range f.Evidence {
			ids = append(ids, ev.ID)
		}
		b.last[f.UID] = emitted{revision: f.Revision, status: f.Status, count: f.Count(), first: f.First, last: f.Last,
			evidence: ids, links: slices.Clone(f.Links), succ: f.Successor()}
	}
}

// live is the backend's view of the incidents: every uid not superseded.
func (b *backend) live() map[string]emitted {
	out := map[string]emitted{}
	for uid, e := range b.last {
		if e.status != StatusSuperseded {
			e.revision = 0
			e.succ = ""
			out[uid] = e
		}
	}
	return out
}

func TestBurstBecomesOneFindingWithRevisions(t *testing.T) {
	tr := New(testOptions())
	be := newBackend(t)
	// 250 sends within 25 minutes, delivered in five batches, each batch
	// followed by a tick.
	for batch := 0; batch < 5; batch++ {
		for i := batch * 50; i < (batch+1)*50; i++ {
			require.Equal(t, Joined, tr.Observe(obs("isaiah@contoso.com", "bulk_send/send_rate_anomaly", fmt.Sprintf("send-%03d", i), time.Duration(i)*6*time.Second, SeverityMedium)))
		}
		be.take(tr.Flush(int64(batch)))
	}
	require.Len(t, be.last, 1)
	for _, e := range be.last {
		assert.Equal(t, 250, e.count)
		assert.Equal(t, 5, e.revision)
		assert.Equal(t, StatusOpen, e.status)
		assert.Equal(t, at(0), e.first)
		assert.Equal(t, at(249*6*time.Second), e.last)
		assert.Equal(t, []string{"send-000", "send-001", "send-002", "send-003", "send-004", "send-005", "send-006", "send-007"}, e.evidence)
	}
	// The whole burst again (a re-delivered batch) changes nothing.
	for i := 0; i < 250; i++ {
		require.Equal(t, Duplicate, tr.Observe(obs("isaiah@contoso.com", "bulk_send/send_rate_anomaly", fmt.Sprintf("send-%03d", i), time.Duration(i)*6*time.Second, SeverityMedium)))
	}
	assert.Empty(t, tr.Flush(6))
	// A record 25 hours later moves event time past the quiet period and
	// the lateness: the burst closes.
	tr.Observe(obs("someone@contoso.com", "risky_sign_in/new_country", "later", 25*time.Hour, SeverityLow))
	ems := tr.Flush(7)
	require.Len(t, ems, 2)
	burst := ems[0]
	assert.Equal(t, ActivityClose, burst.Activity)
	assert.Equal(t, StatusClosed, burst.Finding.Status)
	assert.Equal(t, 6, burst.Finding.Revision)
}

func TestSeverityRaisedAndOpeningSeverities(t *testing.T) {
	opts := testOptions()
	opts.Opens[SeverityLow], opts.Opens[SeverityMedium] = false, false
	tr := New(opts)
	tr.Observe(obs("megan@contoso.com", "mailbox_rule/inbox_rule_hiding", "r1", 0, SeverityLow))
	assert.Empty(t, tr.Flush(1), "a low record alone opens no finding")
	tr.Observe(obs("megan@contoso.com", "mailbox_rule/inbox_rule_hiding", "r2", 10*time.Minute, SeverityHigh))
	ems := tr.Flush(2)
	require.Len(t, ems, 1)
	f := ems[0].Finding
	assert.Equal(t, SeverityHigh, f.Severity)
	assert.Equal(t, 2, f.Count(), "the low record before it belongs to the incident")
	assert.Equal(t, "r1", f.FirstID)
	assert.Equal(t, "mailbox_rule/inbox_rule_hiding on r2", f.Reason)
}

func TestLateRecordRenamesAndBridgeMerges(t *testing.T) {
	tr := New(testOptions())
	be := newBackend(t)
	const user, rule = "joni@contoso.com", "risky_sign_in/identity_provider_risk"
	tr.Observe(obs(user, rule, "b", time.Hour, SeverityMedium))
	tr.Observe(obs(user, rule, "d", 3*time.Hour, SeverityHigh))
	be.take(tr.Flush(1))
	require.Len(t, be.live(), 2, "two incidents two hours apart")
	// An earlier record joins the first: it is named by its new earliest
	// record and the old name is superseded, linking to it.
	tr.Observe(obs(user, rule, "a", 45*time.Minute, SeverityMedium))
	ems := tr.Flush(2)
	be.take(ems)
	require.Len(t, ems, 2)
	assert.Equal(t, StatusSuperseded, ems[0].Finding.Status)
	assert.Equal(t, ems[1].Finding.UID, ems[0].Finding.Successor())
	assert.Equal(t, ActivityCreate, ems[1].Activity)
	// Records in between bridge the two: one incident, named by the
	// earlier; the later is superseded by it.
	tr.Observe(obs(user, rule, "c1", 90*time.Minute, SeverityMedium))
	tr.Observe(obs(user, rule, "c2", 2*time.Hour, SeverityMedium))
	tr.Observe(obs(user, rule, "c3", 150*time.Minute, SeverityMedium))
	be.take(tr.Flush(3))
	live := be.live()
	require.Len(t, live, 1)
	for uid, e := range live {
		assert.Equal(t, 6, e.count)
		assert.Equal(t, at(45*time.Minute), e.first)
		assert.Equal(t, at(3*time.Hour), e.last)
		for other, o := range be.last {
			if other != uid {
				assert.Equal(t, StatusSuperseded, o.status)
				assert.Equal(t, uid, o.succ, "every superseded finding leads to the merged one")
			}
		}
	}
	assert.Equal(t, 1, tr.Len())
}

func TestChainLinksItsStages(t *testing.T) {
	tr := New(testOptions())
	const user = "megan@contoso.com"
	access := obs(user, "risky_sign_in/identity_provider_risk", "signin", 0, SeverityHigh)
	setup := obs(user, "mailbox_rule/inbox_rule_hiding", "rule", 7*time.Minute, SeverityMedium)
	abuse := obs(user, "thread_hijack/reply_from_risky_session", "reply", 40*time.Minute, SeverityCritical)
	chain := obs(user, "chain/account_takeover", "reply", 40*time.Minute, SeverityCritical)
	chain.ChainID = "chain-1"
	chain.Evidence = []string{"signin", "rule", "reply"}
	abuse.ChainID = "chain-1"
	// The chain arrives before two of its stages.
	for _, o := range []*Observation{chain, abuse} {
		tr.Observe(o)
	}
	ems := tr.Flush(1)
	var c *Finding
	for _, e := range ems {
		if IsChain(e.Finding.Rule) {
			c = e.Finding
		}
	}
	require.NotNil(t, c)
	require.Len(t, c.Links, 1, "only the abuse's finding is known yet")
	tr.Observe(setup)
	tr.Observe(access)
	ems = tr.Flush(2)
	uids := map[string]string{}
	for _, e := range ems {
		uids[e.Finding.Rule] = e.Finding.UID
	}
	require.Contains(t, uids, "chain/account_takeover", "the chain is emitted again with its new links")
	want := []string{uids["risky_sign_in/identity_provider_risk"], uids["mailbox_rule/inbox_rule_hiding"]}
	for _, f := range tr.byUser[user][key{rule: "thread_hijack/reply_from_risky_session"}] {
		want = append(want, f.UID)
		assert.Equal(t, []string{"chain-1"}, f.Chains)
	}
	sort.Strings(want)
	assert.Equal(t, want, c.Links)
	assert.Equal(t, 2, c.Revision)
}

// TestArrivalOrderDoesNotMatter feeds the same tagged records in many
// arrival orders - shuffled within the allowed lateness, reversed, with
// batches delivered again - flushing at random points, and checks that the
// incidents end the same: uid, record count, start and end, evidence and
// chain links, and that a backend upserting by uid and revision ends with
// exactly those.
func TestArrivalOrderDoesNotMatter(t *testing.T) {
	records := permutationRecords()
	span := records[len(records)-1].Time - records[0].Time
	opts := testOptions()
	require.Less(t, span, int64(opts.Lateness), "the reversed order must stay within the lateness")

	reference, _ := runOrder(t, opts, slices.Clone(records), nil)
	require.Greater(t, len(reference), 8)

	rng := rand.New(rand.NewPCG(16, 2026))
	orders := map[string][]*Observation{
		"event order": slices.Clone(records),
		"reversed":    reversed(records),
	}
	for i := 0; i < 40; i++ {
		orders[fmt.Sprintf("shuffled %d", i)] = shuffledWithin(rng, records, time.Duration(rng.Int64N(int64(opts.Lateness))))
	}
	for i := 0; i < 10; i++ {
		orders[fmt.Sprintf("redelivered %d", i)] = redelivered(rng, shuffledWithin(rng, records, time.Hour))
	}
	for name, order := range orders {
		t.Run(name, func(t *testing.T) {
			got, be := runOrder(t, opts, order, rng)
			assert.Equal(t, reference, got, "incidents held")
			assert.Equal(t, reference, be.live(), "incidents as the backend ends with them")
		})
	}
}

// runOrder observes the records in the given order, flushing after random
// batches (every record when rng is nil), then moves event time far ahead
// and flushes, and returns the incidents held.
func runOrder(t *testing.T, opts Options, order []*Observation, rng *rand.Rand) (map[string]emitted, *backend) {
	tr := New(opts)
	be := newBackend(t)
	for i, o := range order {
		tr.Observe(o)
		if rng == nil || rng.IntN(20) == 0 || i == len(order)-1 {
			be.take(tr.Flush(int64(i)))
		}
	}
	tr.Observe(&Observation{User: "clock@contoso.com", Rule: "risky_sign_in/new_country", RecordID: "clock", Time: at(5 * 24 * time.Hour), Severity: SeverityLow})
	be.take(tr.Flush(int64(len(order))))
	held := map[string]emitted{}
	tr.each(func(f *Finding) {
		if f.User == "clock@contoso.com" {
			return
		}
		require.Equal(t, StatusClosed, f.Status, "%s %s", f.User, f.Rule)
		var ids []string
		for _, ev := range f.Evidence {
			ids = append(ids, ev.ID)
		}
		held[f.UID] = emitted{status: f.Status, count: f.Count(), first: f.First, last: f.Last, evidence: ids, links: slices.Clone(f.Links)}
	})
	live := be.live()
	for uid, e := range live {
		if _, ok := held[uid]; !ok && e.first != at(5*24*time.Hour) {
			t.Errorf("backend holds %s, which the tracker does not", uid)
		}
	}
	for uid, e := range live {
		if e.first == at(5*24*time.Hour) {
			delete(live, uid)
		}
	}
	be.last = map[string]emitted{}
	for uid, e := range live {
		be.last[uid] = e
	}
	return held, be
}

// permutationRecords is a day of tagged records: bursts, incidents that a
// late record bridges, a chain and its stages, and records of one user
// under several rules.
func permutationRecords() []*Observation {
	var out []*Observation
	add := func(o *Observation) { out = append(out, o) }
	users := []string{"megan@contoso.com", "isaiah@contoso.com", "joni@contoso.com"}
	for u, user := range users {
		base := time.Duration(u) * time.Hour
		for i := 0; i < 60; i++ {
			add(obs(user, "bulk_send/send_rate_anomaly", fmt.Sprintf("%s-send-%02d", user, i), base+time.Duration(i)*20*time.Second, Severity(1+i%3)))
		}
		// Three sign-ins 25 minutes apart (one incident) and one 40
		// minutes after the last (another).
		for i, d := range []time.Duration{0, 25, 50, 90} {
			add(obs(user, "risky_sign_in/identity_provider_risk", fmt.Sprintf("%s-signin-%d", user, i), base+6*time.Hour+d*time.Minute, SeverityMedium))
		}
		add(obs(user, "mailbox_rule/inbox_rule_hiding", user+"-rule", base+6*time.Hour+10*time.Minute, SeverityLow))
		chain := obs(user, "chain/account_takeover", user+"-send-59", base+59*20*time.Second, SeverityCritical)
		chain.ChainID = "chain-" + user
		chain.Evidence = []string{user + "-signin-0", user + "-rule", user + "-send-59"}
		add(chain)
	}
	slices.SortFunc(out, func(a, b *Observation) int {
		if a.Time != b.Time {
			return int(a.Time - b.Time)
		}
		return compareStrings(a.RecordID+a.Rule, b.RecordID+b.Rule)
	})
	return out
}

func compareStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func reversed(records []*Observation) []*Observation {
	out := slices.Clone(records)
	slices.Reverse(out)
	return out
}

// shuffledWithin delays each record by a random time up to lateness and
// orders them by arrival: every record arrives within the lateness of the
// newest event time seen before it.
func shuffledWithin(rng *rand.Rand, records []*Observation, lateness time.Duration) []*Observation {
	type arrival struct {
		o  *Observation
		at int64
	}
	as := make([]arrival, len(records))
	for i, o := range records {
		as[i] = arrival{o, o.Time + rng.Int64N(int64(lateness)+1)}
	}
	slices.SortStableFunc(as, func(a, b arrival) int { return int(a.at - b.at) })
	out := make([]*Observation, len(as))
	for i, a := range as {
		out[i] = a.o
	}
	return out
}

// redelivered delivers random runs of records a second time, soon after
// the first.
func redelivered(rng *rand.Rand, records []*Observation) []*Observation {
	var out []*Observation
	for i := 0; i < len(records); {
		n := 1 + rng.IntN(30)
		batch := records[i:min(i+n, len(records))]
		out = append(out, batch...)
		if rng.IntN(3) == 0 {
			out = append(out, batch...)
		}
		i += n
	}
	return out
}

// max_findings bounds what the tracker holds also while no flush comes
// (one held up by the exporter downstream): evicted findings do not stay
// in the list of findings to emit.
func TestEvictionBoundsFindingsAwaitingAFlush(t *testing.T) {
	o := testOptions()
	tr := New(o)
	for i := range 100_000 {
		tr.Observe(obs(fmt.Sprintf("user%d@contoso.com", i), "bulk_send/send_rate_anomaly", fmt.Sprintf("r%d", i), time.Duration(i)*time.Second, SeverityHigh))
	}
	assert.LessOrEqual(t, len(tr.dirty), o.MaxFindings+o.MaxFindings/8)
	assert.LessOrEqual(t, tr.n, o.MaxFindings+o.MaxFindings/8)
}
