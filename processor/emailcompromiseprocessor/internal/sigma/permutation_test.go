package sigma

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// permutationRules hold a correlation of every kind the engine decides at
// window end (lt, a range from 0, eq, neq, an average, both forms of
// percentile, a v1 "count() < N") beside ones it decides in flight.
const permutationRules = `title: Sign-in
name: sign_in
detection:
    sel: {op: sign_in}
    condition: sel
---
title: Download
name: download
detection:
    sel: {op: download}
    condition: sel
---
title: Rare sign-ins
name: rare
correlation: {type: event_count, rules: [sign_in], group-by: [user], timespan: 30m, condition: {lt: 2}}
---
title: Few sign-ins
name: few
correlation: {type: event_count, rules: [sign_in], group-by: [user], timespan: 1h, condition: {gte: 0, lte: 3}}
---
title: Exactly two countries
name: two_countries
correlation: {type: value_count, rules: [sign_in], group-by: [user], timespan: 1h, condition: {field: country, eq: 2}}
---
title: Not three
name: not_three
correlation: {type: event_count, rules: [download], group-by: [user], timespan: 20m, condition: {neq: 3}}
---
title: Large average
name: large_average
correlation: {type: value_avg, rules: [download], group-by: [user], timespan: 1h, condition: {field: bytes, gt: 500}}
---
title: Rare country
name: rare_country
correlation: {type: value_percentile, rules: [sign_in], timespan: 1h, condition: {field: country, lte: 10}}
---
title: Large 90th percentile
name: p90
correlation: {type: value_percentile, rules: [download], group-by: [user], timespan: 1h, condition: {field: bytes, percentile: 90, gte: 900}}
---
title: Bursts
name: bursts
correlation: {type: event_count, rules: [download], group-by: [user], timespan: 10m, condition: {gte: 3}}
---
title: Rare, then a burst
name: rare_then_burst
correlation: {type: temporal, rules: [rare, bursts], group-by: [user], timespan: 2h}
---
title: v1 few downloads
id: v1-few
detection:
    sel: {op: download}
    timeframe: 15m
    condition: sel | count() by user < 2
`

// permutationRecords are 600 records of 12 users over four hours, each with
// its own id.
func permutationRecords(t *testing.T) []*Event {
	r := rand.New(rand.NewPCG(14, 14))
	countries := []string{"US", "US", "US", "GB", "DE", "FR", "KP"}
	var out []*Event
	for i := range 600 {
		at := time.Duration(r.Int64N(int64(4 * time.Hour))).Truncate(time.Second)
		user := fmt.Sprintf("user%d", r.IntN(12))
		json := fmt.Sprintf(`{"op":"sign_in","user":%q,"country":%q}`, user, countries[r.IntN(len(countries))])
		if r.IntN(2) == 0 {
			json = fmt.Sprintf(`{"op":"download","user":%q,"bytes":%d}`, user, r.IntN(1000))
		}
		ev := testEvent(t, "x", json, testTime.Add(at))
		ev.Record.ID, ev.Record.User = fmt.Sprintf("r%03d", i), user
		out = append(out, ev)
	}
	slices.SortStableFunc(out, func(a, b *Event) int { return a.Record.Time.Compare(b.Record.Time) })
	return out
}

type firing struct{ rule, user, end string }

// runOrder evaluates the records in order with the allowed lateness, then
// flushes, and returns each detection with the records that carried it.
func runOrder(t *testing.T, records []*Event, lateness time.Duration) map[firing][]string {
	t.Helper()
	e := mustCompile(t, Config{}, permutationRules)
	got := map[firing][]string{}
	add := func(ms []Match, carrier string) {
		for _, m := range ms {
			if m.End == nil {
				continue
			}
			f := firing{m.Rule.Key, m.End.User, m.End.ID}
			if !slices.Contains(got[f], carrier) {
				got[f] = append(got[f], carrier)
			}
		}
	}
	for _, r := range records {
		ev := *r
		ev.Lateness = lateness
		add(e.Evaluate(&ev, nil), r.Record.ID)
	}
	add(e.Flush(lateness, nil), "flush")
	return got
}

// windowEnd names the rules of permutationRules decided at window end.
var windowEnd = map[string]bool{"few": true, "two_countries": true, "not_three": true, "large_average": true, "rare_country": true, "p90": true, "v1-few": true}

// Whatever order the records arrive in within the allowed lateness, and
// however often they are delivered again, the same windows fire: the same
// rule, user and last record. A window-end correlation's window fires once,
// carried by one record (the one that closed it); one judged in flight may
// be reported again when a late record adds to it, which the processor
// tags once by its identity.
func TestCorrelationsIndependentOfArrivalOrder(t *testing.T) {
	records := permutationRecords(t)
	delayed := func(seed uint64, lateness time.Duration) []*Event {
		r := rand.New(rand.NewPCG(seed, 1))
		delay := map[*Event]time.Duration{}
		for _, ev := range records {
			delay[ev] = time.Duration(r.Int64N(int64(lateness)))
		}
		out := slices.Clone(records)
		slices.SortStableFunc(out, func(a, b *Event) int {
			return a.Record.Time.Add(delay[a]).Compare(b.Record.Time.Add(delay[b]))
		})
		return out
	}
	redelivered := func(in []*Event, seed uint64) []*Event {
		r := rand.New(rand.NewPCG(seed, 2))
		var out []*Event
		for i := 0; i < len(in); i += 50 {
			batch := in[i:min(i+50, len(in))]
			out = append(out, batch...)
			if r.IntN(3) == 0 {
				out = append(out, batch...) // a retried batch
			}
		}
		return out
	}
	for _, lateness := range []time.Duration{time.Hour, 5 * time.Hour} {
		t.Run(fmt.Sprintf("lateness %s", lateness), func(t *testing.T) {
			want := runOrder(t, records, lateness)
			rules := map[string]int{}
			for f, carriers := range want {
				rules[f.rule]++
				if windowEnd[f.rule] {
					require.Len(t, carriers, 1, "%v fired on more than one record", f)
				}
			}
			for _, rule := range []string{"few", "two_countries", "not_three", "large_average", "rare_country", "p90", "rare_then_burst", "v1-few"} {
				assert.Positive(t, rules[rule], "the event-ordered run found no %s window: the test tests nothing for it", rule)
			}
			orders := map[string][]*Event{}
			for seed := range uint64(6) {
				orders[fmt.Sprintf("random delays, seed %d", seed)] = delayed(seed, lateness)
				orders[fmt.Sprintf("random delays, seed %d, batches delivered again", seed)] = redelivered(delayed(seed, lateness), seed)
			}
			orders["event order, every record twice"] = redelivered(records, 99)
			if lateness > 4*time.Hour { // the records span four hours
				reversed := slices.Clone(records)
				slices.Reverse(reversed)
				orders["reversed"] = reversed
				shuffled := slices.Clone(records)
				rand.New(rand.NewPCG(7, 7)).Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
				orders["shuffled"] = shuffled
			}
			for name, order := range orders {
				got := runOrder(t, order, lateness)
				for f := range want {
					assert.Contains(t, got, f, "%s: missed", name)
				}
				for f, carriers := range got {
					assert.Contains(t, want, f, "%s: extra", name)
					if windowEnd[f.rule] {
						assert.Len(t, carriers, 1, "%s: %v fired on more than one record: %v", name, f, carriers)
					}
				}
			}
		})
	}
}
