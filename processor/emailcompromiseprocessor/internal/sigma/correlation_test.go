package sigma

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelsec/emailcompromise/internal/testing/corpus"
)

// windowsSecurity sends the examples' Windows logsources to a test source.
var windowsSecurity = Config{LogsourceMapping: []LogsourceMapping{
	{Product: "windows", Service: "security", Source: "windows_security"},
	{Product: "windows", Category: "process_creation", Source: "windows_security"},
	{Category: "proxy", Source: "windows_security"},
	{Category: "firewall", Source: "windows_security"},
}}

// The base rules the specification's examples refer to but do not ship.
const (
	failedLoginRule = `title: Failed logon
id: 5638f7c0-ac70-491d-8465-2a65075e0d86
logsource: {product: windows, service: security}
detection:
    selection: {EventID: 4625}
    condition: selection
`
	reconRules = `title: Recon a
name: recon_cmd_a
logsource: {product: windows, category: process_creation}
detection:
    selection: {Image|endswith: '\whoami.exe'}
    condition: selection
---
title: Recon b
name: recon_cmd_b
logsource: {product: windows, category: process_creation}
detection:
    selection: {Image|endswith: '\ipconfig.exe'}
    condition: selection
---
title: Recon c
name: recon_cmd_c
logsource: {product: windows, category: process_creation}
detection:
    selection: {Image|endswith: '\net.exe'}
    condition: selection
`
	websiteAccessRule = `title: Website access
name: website_access
logsource: {category: proxy}
detection:
    selection: {action: allowed}
    condition: selection
`
	trafficRule = `title: Outbound traffic
name: rule_a_id
logsource: {category: firewall}
detection:
    selection: {direction: outbound}
    condition: selection
`
	processCreationRule = `title: Process creation
name: process_creation
logsource: {product: windows, category: process_creation}
detection:
    selection: {Image|exists: true}
    condition: selection
`
)

// correlationExample compiles a correlation example of the corpus with the
// base rules written here.
func correlationExample(t *testing.T, file string, cfg Config, base ...string) *Engine {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(corpus.Dir(t), "sigma", "correlation-examples", file))
	require.NoError(t, err)
	fs := append([]File{{Name: file, Data: data}}, files(base...)...)
	e, rep, err := Compile(fs, cfg)
	require.NoError(t, err)
	require.Empty(t, rep.Errors)
	return e
}

// feed evaluates records in order and returns, per record, the keys of the
// rules that fired on it.
func feed(t *testing.T, e *Engine, records ...*Event) [][]string {
	t.Helper()
	out := make([][]string, len(records))
	for i, r := range records {
		out[i] = matchedKeys(e.Evaluate(r, nil))
	}
	return out
}

func winEvent(t *testing.T, at time.Duration, json string) *Event {
	t.Helper()
	return testEvent(t, "windows_security", json, testTime.Add(at))
}

// firedAt lists the positions of the records a rule fired on.
func firedAt(fired [][]string, key string) []int {
	at := []int{}
	for i, keys := range fired {
		for _, k := range keys {
			if k == key {
				at = append(at, i)
			}
		}
	}
	return at
}

// event_count.yml: 100 or more failed logins on one computer within an hour.
func TestExampleEventCount(t *testing.T) {
	const id = "0e95725d-7320-415d-80f7-004da920fc11"
	e := correlationExample(t, "event_count.yml", windowsSecurity, failedLoginRule)
	var recs []*Event
	for i := 0; i < 100; i++ {
		recs = append(recs, winEvent(t, time.Duration(i)*30*time.Second, `{"EventID":4625,"ComputerName":"DC1"}`))
		// Failures elsewhere and successes do not count for DC1.
		recs = append(recs, winEvent(t, time.Duration(i)*30*time.Second, `{"EventID":4625,"ComputerName":"WS7"}`))
		recs = append(recs, winEvent(t, time.Duration(i)*30*time.Second, `{"EventID":4624,"ComputerName":"DC1"}`))
	}
	fired := feed(t, e, recs...)
	assert.Equal(t, []int{297, 298}, firedAt(fired, id), "the 100th failure on each computer completes it")
	// A failure arriving late, within the hour before the last one, is one
	// more event in the windows of the failures after it: it reports them
	// again (the processor tags each window once, by its last record).
	ms := e.Evaluate(winEvent(t, 0, `{"EventID":4625,"ComputerName":"DC1"}`), nil)
	require.Len(t, ms, 2)
	assert.Equal(t, testTime.Add(99*30*time.Second), ms[1].End.At, "the window ending at the 100th failure")
	assert.Contains(t, ms[1].Reason, "101 events")

	// A hundred failures spread over more than an hour never make 100 in one.
	e = correlationExample(t, "event_count.yml", windowsSecurity, failedLoginRule)
	recs = nil
	for i := 0; i < 150; i++ {
		recs = append(recs, winEvent(t, time.Duration(i)*40*time.Second, `{"EventID":4625,"ComputerName":"DC1"}`))
	}
	assert.Equal(t, []int{}, firedAt(feed(t, e, recs...), id), "at most 91 within any hour")
}

// event_count_ecs.yml: the same with an ECS field, a path into nested maps.
func TestExampleEventCountECS(t *testing.T) {
	e := correlationExample(t, "event_count_ecs.yml", windowsSecurity, failedLoginRule)
	var recs []*Event
	for i := 0; i < 100; i++ {
		recs = append(recs, winEvent(t, time.Duration(i)*time.Second, `{"EventID":4625,"dns":{"question":{"name":"evil.example"}}}`))
	}
	fired := feed(t, e, recs...)
	assert.Equal(t, []int{99}, firedAt(fired, "0e95725d-7320-415d-80f7-004da920fc11"))
}

// value_count.yml: failed logins with 100 or more different users per
// computer and workstation within a day.
func TestExampleValueCount(t *testing.T) {
	const id = "0e95725d-7320-415d-80f7-004da920fc12"
	e := correlationExample(t, "value_count.yml", windowsSecurity, failedLoginRule)
	var recs []*Event
	for i := 0; i < 100; i++ {
		// Each user twice: repeats are not new values.
		for range 2 {
			recs = append(recs, winEvent(t, time.Duration(i)*time.Minute, fmt.Sprintf(`{"EventID":4625,"ComputerName":"DC1","WorkstationName":"WS1","User":"user%d"}`, i)))
		}
		recs = append(recs, winEvent(t, time.Duration(i)*time.Minute, fmt.Sprintf(`{"EventID":4625,"ComputerName":"DC1","WorkstationName":"WS2","User":"user%d"}`, i%50)))
	}
	fired := feed(t, e, recs...)
	assert.Equal(t, []int{297, 298}, firedAt(fired, id), "the 100th distinct user on DC1/WS1 (and its repeat); WS2 saw only 50")
	ms := e.Evaluate(winEvent(t, 0, `{"EventID":4625,"ComputerName":"DC2","WorkstationName":"WS1","User":"x"}`), nil)
	assert.Empty(t, ms)
}

// temporal.yml: three reconnaissance commands in any order within five
// minutes on one computer by one user.
func TestExampleTemporal(t *testing.T) {
	e := correlationExample(t, "temporal.yml", windowsSecurity, reconRules)
	ev := func(at time.Duration, user, image string) *Event {
		return winEvent(t, at, `{"ComputerName":"WS1","User":"`+user+`","Image":"C:\\Windows\\System32\\`+image+`"}`)
	}
	fired := feed(t, e,
		ev(0, "bob", "net.exe"),
		ev(time.Minute, "eve", "whoami.exe"), // another user
		ev(2*time.Minute, "bob", "whoami.exe"),
		ev(3*time.Minute, "bob", "ipconfig.exe"), // completes bob's three
		ev(10*time.Minute, "eve", "net.exe"),
		ev(17*time.Minute, "eve", "ipconfig.exe"), // eve's whoami is 16 minutes old
	)
	assert.Equal(t, [][]string{{}, {}, {}, {"temporal#1"}, {}, {}}, fired)
}

// temporal_ordered.yml: the same, in the order a, b, c.
func TestExampleTemporalOrdered(t *testing.T) {
	ev := func(at time.Duration, image string) *Event {
		return winEvent(t, at, `{"ComputerName":"WS1","User":"bob","Image":"C:\\Windows\\System32\\`+image+`"}`)
	}
	tests := []struct {
		name   string
		images []string
		want   []int
	}{
		{"in order", []string{"whoami.exe", "ipconfig.exe", "net.exe"}, []int{2}},
		{"reversed", []string{"net.exe", "ipconfig.exe", "whoami.exe"}, []int{}},
		{"interleaved, completes later", []string{"whoami.exe", "net.exe", "ipconfig.exe", "net.exe"}, []int{3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := correlationExample(t, "temporal_ordered.yml", windowsSecurity, reconRules)
			var recs []*Event
			for i, img := range tt.images {
				recs = append(recs, ev(time.Duration(i)*time.Minute, img))
			}
			assert.Equal(t, tt.want, firedAt(feed(t, e, recs...), "temporal_ordered#1"))
		})
	}
}

// value_sum.yml: more than 1,000,000 bytes sent per source and user within
// an hour.
func TestExampleValueSum(t *testing.T) {
	e := correlationExample(t, "value_sum.yml", windowsSecurity, websiteAccessRule)
	ev := func(at time.Duration, bytes string) *Event {
		return winEvent(t, at, `{"action":"allowed","SourceIP":"10.0.0.5","User":"bob","bytes_sent":`+bytes+`}`)
	}
	fired := feed(t, e, ev(0, "400000"), ev(time.Minute, `"400000"`), ev(2*time.Minute, "200000"), ev(3*time.Minute, "200001"))
	assert.Equal(t, []int{3}, firedAt(fired, "value_sum#1"), "1,000,001 bytes; numbers as text count too")
}

// value_avg.yml: average outbound bytes above 500 per source and user
// within a day. An average can fall as events are added, so it is decided
// once per day-long window, when the allowed lateness after it has passed in
// event time: on the first record of the stream (of any user) at or after
// that point, which carries it.
func TestExampleValueAvg(t *testing.T) {
	e := correlationExample(t, "value_avg.yml", windowsSecurity, trafficRule)
	ev := func(at time.Duration, bytes int) *Event {
		return winEvent(t, at, fmt.Sprintf(`{"direction":"outbound","SourceIP":"10.0.0.5","User":"bob","BytesOut":%d}`, bytes))
	}
	day := testTime.Truncate(24 * time.Hour)
	var ms []Match
	fired := feed(t, e, ev(0, 100), ev(time.Hour, 200), ev(2*time.Hour, 2000),
		ev(25*time.Hour, 100), // the next day, averaging 100
		winEvent(t, day.Add(48*time.Hour-time.Second).Sub(testTime), `{}`)) // the day's window not yet past the lateness
	assert.Equal(t, []int{}, firedAt(fired, "value_avg#1"))
	ms = e.Evaluate(winEvent(t, day.Add(48*time.Hour).Sub(testTime), `{}`), nil) // now it is
	assert.Empty(t, e.Evaluate(winEvent(t, day.Add(72*time.Hour).Sub(testTime), `{}`), nil), "the next day averages 100")
	require.Len(t, ms, 1, "average 766 on the first day")
	assert.Equal(t, testTime.Add(2*time.Hour), ms[0].End.At, "the window's last event")
	assert.Equal(t, `Sigma correlation "Suspicious average network traffic" (value_avg): BytesOut averaging 766.6666666666666 over 3 events `+
		`for SourceIP=10.0.0.5, User=bob in the window 2026-11-20T00:00:00Z to 2026-11-21T00:00:00Z (24h, condition gt 500).`, ms[0].Reason)
}

// value_percentile.yml: a process name that is at most 1% of the processes
// a computer started within a day, decided when the day's window closes.
func TestExampleValuePercentile(t *testing.T) {
	e := correlationExample(t, "value_percentile.yml", windowsSecurity, processCreationRule)
	var recs []*Event
	for i := 0; i < 100; i++ {
		recs = append(recs, winEvent(t, time.Duration(i)*time.Minute, `{"ComputerName":"WS1","Image":"C:\\Windows\\explorer.exe"}`))
	}
	recs = append(recs, winEvent(t, 101*time.Minute, `{"ComputerName":"WS1","Image":"C:\\Users\\bob\\rare.exe"}`))
	assert.Equal(t, []int{}, firedAt(feed(t, e, recs...), "value_percentile#1"), "the day is not over")
	ms := e.Flush(testLateness, nil)
	require.Len(t, ms, 1)
	assert.Equal(t, testTime.Add(101*time.Minute), ms[0].End.At, "the rare process")
	assert.Contains(t, ms[0].Reason, `Image c:\users\bob\rare.exe (0.9900990099009901%) of 101 events for ComputerName=ws1 in the window`)
}

// The specification's example: ten failed logins of a user within ten
// minutes, then a success, chained correlations in one file.
func TestExampleFailedLoginsFollowedBySuccess(t *testing.T) {
	const id = "b180ead8-d58f-40b2-ae54-c8940995b9b6"
	ev := func(at time.Duration, eventID int) *Event {
		return winEvent(t, at, fmt.Sprintf(`{"EventID":%d,"User":"bob"}`, eventID))
	}
	tests := []struct {
		name     string
		failures int
		success  time.Duration
		want     []int
	}{
		{"ten failures then success", 10, 9 * time.Minute, []int{10}},
		{"nine failures then success", 9, 9 * time.Minute, []int{}},
		{"success too late", 10, 25 * time.Minute, []int{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := correlationExample(t, "spec_md_failed_logins_followed_by_success.yml", windowsSecurity)
			var recs []*Event
			for i := 0; i < tt.failures; i++ {
				recs = append(recs, ev(time.Duration(i)*30*time.Second, 4625))
			}
			recs = append(recs, ev(tt.success, 528))
			fired := feed(t, e, recs...)
			assert.Equal(t, tt.want, firedAt(fired, id))
			for i, keys := range fired {
				for _, k := range keys {
					assert.Equal(t, id, k, "record %d: only the outermost correlation reports", i)
				}
			}
		})
	}
	e := correlationExample(t, "spec_md_failed_logins_followed_by_success.yml", windowsSecurity)
	var recs []*Event
	recs = append(recs, ev(0, 4624))
	for i := 0; i < 10; i++ {
		recs = append(recs, ev(time.Duration(i+1)*10*time.Second, 4625))
	}
	assert.Equal(t, []int{}, firedAt(feed(t, e, recs...), id), "the success came first")
}

// The field-aliases example: an internal error and a new connection with
// the same two addresses in swapped fields within ten seconds.
func TestExampleFieldAliases(t *testing.T) {
	e := correlationExample(t, "spec_md_field_aliases_example.yml", Config{})
	errorFrom := func(at time.Duration, src, dst string) *Event {
		return testEvent(t, "any", `{"http":{"response":{"status_code":500}},"source":{"ip":"`+src+`"},"destination":{"ip":"`+dst+`"}}`, testTime.Add(at))
	}
	connection := func(at time.Duration, src, dst string) *Event {
		return testEvent(t, "any", `{"event":{"category":"network","type":"connection","outcome":"success"},"source":{"ip":"`+src+`"},"destination":{"ip":"`+dst+`"}}`, testTime.Add(at))
	}
	fired := feed(t, e,
		errorFrom(0, "203.0.113.9", "10.0.0.5"),
		connection(2*time.Second, "10.0.0.6", "203.0.113.9"),  // another internal address
		connection(3*time.Second, "10.0.0.5", "203.0.113.9"),  // internal_ip and remote_ip agree
		errorFrom(30*time.Second, "203.0.113.7", "10.0.0.7"),  // ...
		connection(45*time.Second, "10.0.0.7", "203.0.113.7"), // 15 seconds later: too late
	)
	assert.Equal(t, [][]string{{}, {}, {"—"}, {}, {}}, fired)
}

const countRules = `title: Login failed
name: login_failed
detection:
    sel: {result: failure}
    condition: sel
---
title: Failures
name: failures
correlation:
    type: event_count
    rules: [login_failed]
    group-by: [user]
    timespan: 10m
    condition: {gte: 3}
`

func failure(t *testing.T, at time.Duration, user string) *Event {
	t.Helper()
	return testEvent(t, "x", `{"result":"failure","user":"`+user+`"}`, testTime.Add(at))
}

// Records arrive late and out of order from every vendor API: a record
// within the allowed lateness completes the windows of the records after it
// in event time, on its arrival; one later than that is dropped and counted.
func TestCorrelationOutOfOrder(t *testing.T) {
	e := mustCompile(t, Config{}, countRules)
	var ends [][]time.Time
	for _, ev := range []*Event{
		failure(t, 5*time.Minute, "bob"),
		failure(t, 9*time.Minute, "bob"),
		failure(t, -2*time.Minute, "bob"), // the windows ending at 5 and 9 minutes now hold two
		failure(t, 1*time.Minute, "bob"),  // and now three: both fire, on this record
		failure(t, -25*time.Hour, "bob"),  // more than the allowed lateness behind
	} {
		var at []time.Time
		for _, m := range e.Evaluate(ev, nil) {
			at = append(at, m.End.At)
		}
		ends = append(ends, at)
	}
	assert.Equal(t, [][]time.Time{nil, nil, nil, {testTime.Add(5 * time.Minute), testTime.Add(9 * time.Minute)}, nil}, ends)
	assert.Equal(t, uint64(1), e.Stats().LateEvents)
}

// The reason names the rule, the group and the count.
func TestCorrelationReason(t *testing.T) {
	e := mustCompile(t, Config{}, countRules)
	feed(t, e, failure(t, 0, "Bob"), failure(t, time.Minute, "bob"))
	ms := e.Evaluate(failure(t, 2*time.Minute, "BOB"), nil)
	require.Len(t, ms, 1)
	assert.Equal(t, `Sigma correlation "Failures" (event_count): 3 events of login_failed for user=bob within 10m up to 2026-11-20T09:02:00Z (condition gte 3).`, ms[0].Reason)
}

// A window ends at each event: in a burst, every event whose window holds
// the condition fires (each is one detection, of the window ending there).
func TestCorrelationFiresForEveryWindow(t *testing.T) {
	e := mustCompile(t, Config{}, countRules)
	var recs []*Event
	for i := 0; i < 9; i++ {
		recs = append(recs, failure(t, time.Duration(i)*time.Second, "bob"))
	}
	assert.Equal(t, []int{2, 3, 4, 5, 6, 7, 8}, firedAt(feed(t, e, recs...), "failures"))
}

// State stays within its caps whatever the stream: the least recently seen
// group goes first, and a group keeps only its newest events.
func TestCorrelationBoundedState(t *testing.T) {
	cfg := Config{Correlation: CorrelationLimits{MaxGroups: 2, MaxEventsPerGroup: 2}}
	e := mustCompile(t, cfg, countRules)
	fired := feed(t, e,
		failure(t, 0, "a"), failure(t, time.Second, "b"),
		failure(t, 2*time.Second, "c"),                                 // evicts a
		failure(t, 3*time.Second, "a"),                                 // a starts again; evicts b
		failure(t, 4*time.Second, "c"), failure(t, 5*time.Second, "c"), // c holds at most 2
	)
	assert.Equal(t, []int{}, firedAt(fired, "failures"), "no group can reach 3 events")
	st := e.Stats()
	assert.Equal(t, uint64(2), st.GroupsEvicted)
	assert.Equal(t, uint64(1), st.EventsDropped)

	e = mustCompile(t, Config{}, countRules)
	feed(t, e, testEvent(t, "x", `{"result":"failure"}`, testTime))
	assert.Equal(t, uint64(1), e.Stats().Ungrouped, "no user: nothing to group by")
}

// Ranges and the other comparisons of the correlation condition, each over
// one window holding one event of bob, two of carol and three of dave.
// Except gt and gte, a condition can turn false as events come, so it is
// decided once, at window end: "lt: 2" fires for bob alone, once.
func TestCorrelationConditions(t *testing.T) {
	tests := []struct {
		condition string
		want      []string
	}{
		{"{gte: 2}", []string{"carol", "dave", "dave"}}, // in flight: the windows ending at carol's 2nd, dave's 2nd and 3rd
		{"{gt: 1, lte: 2}", []string{"carol"}},
		{"{gte: 0, lte: 2}", []string{"bob", "carol"}}, // a range whose lower bound is 0
		{"{eq: 2}", []string{"carol"}},
		{"{neq: 2}", []string{"bob", "dave"}},
		{"{lt: 2}", []string{"bob"}},
		{"{lte: 3}", []string{"bob", "carol", "dave"}},
	}
	for _, tt := range tests {
		t.Run(tt.condition, func(t *testing.T) {
			e := mustCompile(t, Config{}, strings.Replace(countRules, "{gte: 3}", tt.condition, 1))
			var users []string
			record := func(ev *Event) {
				for _, m := range e.Evaluate(ev, nil) {
					_, group, _ := strings.Cut(m.Reason, " for user=")
					user, _, _ := strings.Cut(group, " ")
					users = append(users, user)
				}
			}
			for i, u := range []string{"dave", "carol", "bob", "dave", "carol", "dave"} {
				record(failure(t, time.Duration(i)*time.Second, u))
			}
			record(testEvent(t, "x", `{}`, testTime.Add(10*time.Minute+testLateness))) // closes the window
			record(testEvent(t, "x", `{}`, testTime.Add(20*time.Minute+testLateness))) // closes nothing more
			slices.Sort(users)
			assert.Equal(t, tt.want, users)
		})
	}
}

// The case: two failures within the window of a "fewer than 2"
// rule. Judged on each event, the first said "1 events ... lt 2"; decided
// at window end, the window holds two, and nothing fires. A lone failure in
// the next window fires once, on the record that closes that window, and
// never again: a later record, or the failure delivered again (now late),
// changes nothing.
func TestLowCountDecidedAtWindowEnd(t *testing.T) {
	e := mustCompile(t, Config{}, strings.Replace(countRules, "{gte: 3}", "{lt: 2}", 1))
	closing := func(at time.Duration) *Event { return testEvent(t, "x", `{}`, testTime.Add(at)) }
	fired := feed(t, e,
		failure(t, time.Minute, "bob"), failure(t, 5*time.Minute, "bob"), // window 09:00-09:10
		failure(t, 12*time.Minute, "bob"), // window 09:10-09:20
		closing(10*time.Minute+testLateness-time.Second), closing(10*time.Minute+testLateness),
		closing(20*time.Minute+testLateness),
		failure(t, 12*time.Minute, "bob"), closing(30*time.Minute+testLateness))
	assert.Equal(t, [][]string{{}, {}, {}, {}, {}, {"failures"}, {}, {}}, fired)
	assert.Equal(t, uint64(1), e.Stats().LateEvents, "the failure delivered after its window closed")

	e = mustCompile(t, Config{}, strings.Replace(countRules, "{gte: 3}", "{lt: 2}", 1))
	feed(t, e, failure(t, 12*time.Minute, "bob"))
	ms := e.Evaluate(closing(20*time.Minute+testLateness), nil)
	require.Len(t, ms, 1)
	assert.Equal(t, `Sigma correlation "Failures" (event_count): 1 events of login_failed for user=bob in the window `+
		`2026-11-20T09:10:00Z to 2026-11-20T09:20:00Z (10m, condition lt 2).`, ms[0].Reason)
	assert.Equal(t, testTime.Add(12*time.Minute), ms[0].End.At)
}

// Event time ahead of the processing time (a bogus timestamp, clock skew)
// moves the stream's time only as far as the processing time: one record
// dated a year ahead does not close every window.
func TestWindowEndIgnoresTheFuture(t *testing.T) {
	e := mustCompile(t, Config{}, strings.Replace(countRules, "{gte: 3}", "{lt: 2}", 1))
	feed(t, e, failure(t, 0, "bob"))
	bogus := testEvent(t, "x", `{}`, testTime.Add(365*24*time.Hour))
	bogus.Now = testTime.Add(time.Minute)
	assert.Empty(t, e.Evaluate(bogus, nil))
	assert.Len(t, e.Evaluate(testEvent(t, "x", `{}`, testTime.Add(10*time.Minute+testLateness)), nil), 1)
}

// Windows are aligned to the Unix epoch, before 1970 too.
func TestWindowStart(t *testing.T) {
	assert.Equal(t, int64(0), windowStart(0, time.Second))
	assert.Equal(t, int64(3e9), windowStart(3.5e9, time.Second*3))
	assert.Equal(t, int64(-3e9), windowStart(-1, time.Second*3))
	assert.Equal(t, int64(-3e9), windowStart(-3e9, time.Second*3))
}

// A correlation decided at window end can count detection rules only: the
// events of another correlation come when that one decides.
func TestWindowEndOverACorrelationIsRejected(t *testing.T) {
	errs := ruleErrors(t, Config{}, countRules+`---
title: Few bursts
name: few_bursts
correlation: {type: event_count, rules: [failures], group-by: [user], timespan: 1d, condition: {lt: 2}}
`)
	require.Len(t, errs, 1)
	assert.Contains(t, errs[0].Reason, `a event_count condition (lt 2) is decided when its windows close, so it counts detection rules only, not the correlation "failures"`)
}

// A window decided at its end feeds the correlations that refer to it, with
// its group's values: here "a user who signed in only once in the hour, and
// changed an inbox rule within the day".
func TestWindowEndFeedsACorrelation(t *testing.T) {
	rules := `title: Sign-in
name: sign_in
detection:
    sel: {op: sign_in}
    condition: sel
---
title: Inbox rule
name: inbox_rule
detection:
    sel: {op: inbox_rule}
    condition: sel
---
title: Single sign-in
name: single_sign_in
correlation: {type: event_count, rules: [sign_in], group-by: [user], timespan: 1h, condition: {lt: 2}}
---
title: Single sign-in, then an inbox rule
name: then_rule
correlation: {type: temporal, rules: [single_sign_in, inbox_rule], group-by: [user], timespan: 1d}
`
	e := mustCompile(t, Config{}, rules)
	ev := func(at time.Duration, op, user string) *Event {
		return testEvent(t, "x", `{"op":"`+op+`","user":"`+user+`"}`, testTime.Add(at))
	}
	fired := feed(t, e, ev(0, "sign_in", "bob"), ev(time.Minute, "inbox_rule", "bob"),
		ev(0, "sign_in", "eve"), ev(2*time.Minute, "sign_in", "eve"), ev(3*time.Minute, "inbox_rule", "eve"),
		ev(time.Hour+testLateness, "noise", "x"))
	assert.Equal(t, [][]string{{}, {}, {}, {}, {}, {"then_rule"}}, fired, "bob signed in once; eve twice")
	assert.Zero(t, e.Stats().Ungrouped)
}

// With generate: true the referred rules report on their own too.
func TestCorrelationGenerate(t *testing.T) {
	e := mustCompile(t, Config{}, countRules+"generate: true\n")
	fired := feed(t, e, failure(t, 0, "bob"), failure(t, time.Second, "bob"), failure(t, 2*time.Second, "bob"))
	assert.Equal(t, [][]string{{"login_failed"}, {"login_failed"}, {"login_failed", "failures"}}, fired)
}

// pySigma reads generate inside the correlation section, the JSON schema at
// the top level: both work, and say the same when both are given.
func TestCorrelationGenerateInCorrelationSection(t *testing.T) {
	rules := strings.Replace(countRules, "    condition: {gte: 3}\n", "    condition: {gte: 3}\n    generate: true\n", 1)
	e := mustCompile(t, Config{}, rules+"generate: true\n")
	fired := feed(t, e, failure(t, 0, "bob"), failure(t, time.Second, "bob"), failure(t, 2*time.Second, "bob"))
	assert.Equal(t, [][]string{{"login_failed"}, {"login_failed"}, {"login_failed", "failures"}}, fired)
}

// Timespans in w, M and y, which pySigma reads (with a month a twelfth of
// 365.2425 days), beside the specification's s, m, h and d.
func TestCorrelationTimespanUnits(t *testing.T) {
	for text, want := range map[string]time.Duration{
		"90s": 90 * time.Second, "90m": 90 * time.Minute, "2h": 2 * time.Hour, "3d": 72 * time.Hour,
		"2w": 14 * 24 * time.Hour, "1M": 2_629_746 * time.Second, "1y": 31_556_952 * time.Second,
	} {
		got, err := parseTimespan(text)
		require.NoError(t, err, text)
		assert.Equal(t, want, got, text)
	}
	e := mustCompile(t, Config{}, strings.Replace(countRules, "timespan: 10m", "timespan: 1w", 1))
	fired := feed(t, e, failure(t, 0, "bob"), failure(t, 3*24*time.Hour, "bob"), failure(t, 6*24*time.Hour, "bob"))
	assert.Equal(t, []int{2}, firedAt(fired, "failures"), "three failures within a week")
}

// value_percentile written pySigma's way: "percentile: 50" beside a
// comparison tests the field's 50th percentile (nearest rank) in the window
// against the threshold.
func TestCorrelationValuePercentilePySigma(t *testing.T) {
	rules := `title: Download
name: download
detection:
    sel: {action: download}
    condition: sel
---
title: Large downloads
name: large
correlation:
    type: value_percentile
    rules: [download]
    group-by: [user]
    timespan: 1h
    condition:
        field: bytes
        percentile: 50
        gt: 100
`
	e := mustCompile(t, Config{}, rules)
	ev := func(at time.Duration, bytes string) *Event {
		return testEvent(t, "x", `{"action":"download","user":"bob","bytes":`+bytes+`}`, testTime.Add(at))
	}
	var ms []Match
	for i, b := range []string{"10", `"no number"`, "200", "300"} {
		ms = append(ms, e.Evaluate(ev(time.Duration(i)*time.Minute, b), nil)...)
	}
	assert.Empty(t, ms, "a percentile is decided when its window closes")
	ms = e.Flush(testLateness, nil)
	require.Len(t, ms, 1, "the median of 10, 200 and 300 is 200; a value that is no number is left out")
	assert.Equal(t, testTime.Add(3*time.Minute), ms[0].End.At)
	assert.Contains(t, ms[0].Reason, "the 50th percentile of bytes is 200 over 3 events")
	assert.Equal(t, 10.0, nearestRank([]float64{40, 10, 30, 20}, 0), "the 0th percentile is the least")
	assert.Equal(t, 20.0, nearestRank([]float64{40, 10, 30, 20}, 50))
	assert.Equal(t, 40.0, nearestRank([]float64{40, 10, 30, 20}, 95))
}

// A value a correlation keeps (value_count, value_sum...) is a copy: the
// record's own string is a slice of its whole body text, which a group
// holding it would keep alive for the length of the window.
func TestCorrelationValuesDoNotPinTheRecord(t *testing.T) {
	e := correlationExample(t, "value_count.yml", windowsSecurity, failedLoginRule)
	ev := winEvent(t, 0, `{"EventID":4625,"ComputerName":"DC1","WorkstationName":"WS1","User":"user1","Padding":"`+strings.Repeat("x", 4096)+`"}`)
	user, ok := ev.Body.Get("User")
	require.True(t, ok)
	feed(t, e, ev)
	var kept []string
	for _, c := range e.correlations {
		c.state.groups.Each(func(_ string, _ time.Time, g *corrGroup) {
			for _, ev := range g.events {
				kept = append(kept, ev.value)
			}
		})
	}
	require.Equal(t, []string{"user1"}, kept)
	assert.NotSame(t, unsafe.StringData(user.Str()), unsafe.StringData(kept[0]), "the kept value is the record's own memory")
}
