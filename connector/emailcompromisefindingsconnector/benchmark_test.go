package emailcompromisefindingsconnector

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"
	"time"

	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otelsec/emailcompromise/connector/emailcompromisefindingsconnector/internal/incident"
)

// taggedStream is a tenant's tagged records as the processor emits them:
// n records over users users in event-time order, 100ms apart; a
// third are sends of bursts (one rule), the rest sign-in detections (often
// two rules on one record), and one record in a hundred completes a chain.
func taggedStream(n, users int) []plog.Logs {
	rng := rand.New(rand.NewPCG(16, 1))
	const batch = 1000
	var out []plog.Logs
	for start := 0; start < n; start += batch {
		var tags []tag
		for i := start; i < min(start+batch, n); i++ {
			user := fmt.Sprintf("user%d@contoso.com", rng.IntN(users))
			tg := tag{id: fmt.Sprintf("rec-%08d", i), user: user, at: time.Duration(i) * 100 * time.Millisecond,
				operation: "UserLoggedIn", source: "o365", address: "198.51.100.77", country: "NG",
				techniques: []string{"T1586.002", "T1078.004"}, title: "Sign-in the identity provider rated risky"}
			switch r := rng.IntN(100); {
			case r < 33:
				tg.rules, tg.severities, tg.operation = []string{"bulk_send/send_rate_anomaly"}, []string{"high"}, "Send"
				tg.reason = "Send above the mailbox's usual rate."
			case r < 99:
				tg.rules, tg.severities = []string{"risky_sign_in/identity_provider_risk", "risky_sign_in/anonymizer_or_hosting"}, []string{"medium", "medium"}
				tg.reason = "risky_sign_in/identity_provider_risk: rated medium. risky_sign_in/anonymizer_or_hosting: from a hosting network."
			default:
				tg.rules, tg.severities = []string{"thread_hijack/reply_from_risky_session", "chain/account_takeover"}, []string{"critical", "critical"}
				tg.chain, tg.evidence = "chain-"+user, []string{tg.id, "rec-00000001", "rec-00000002"}
				tg.reason = "thread_hijack/reply_from_risky_session: reply. chain/account_takeover: takeover."
			}
			tags = append(tags, tg)
		}
		out = append(out, logsOf(tags...))
	}
	return out
}

// BenchmarkConnector runs the connector on a stream of tagged records beside
// a baseline that only reads each record's tags (what any consumer of the
// tags does); compare their ns/record. observe only groups the records;
// observe+emit also flushes every flushEvery batches, writing every changed
// finding as an OCSF record for a sink (emitted/record says how many: the
// difference of the two over it is the cost of one emission).
func BenchmarkConnector(b *testing.B) {
	stream := taggedStream(20_000, 2_000)
	records := 0
	for _, ld := range stream {
		records += ld.LogRecordCount()
	}
	b.Run("baseline=read-tags", func(b *testing.B) {
		var obs []incident.Observation
		for b.Loop() {
			for _, ld := range stream {
				lrs := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
				for i := 0; i < lrs.Len(); i++ {
					lr := lrs.At(i)
					obs, _ = readRecord(lr, eventTime(lr), obs[:0])
				}
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*records), "ns/record")
	})
	b.Run("connector=observe", func(b *testing.B) {
		ctx := context.Background()
		for b.Loop() {
			b.StopTimer()
			c, _ := newTestConnector(b, testConfig(), componenttest.NewNopHost())
			b.StartTimer()
			for _, ld := range stream {
				_ = c.ConsumeLogs(ctx, ld)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*records), "ns/record")
	})
	const flushEvery = 5
	b.Run("connector=observe+emit", func(b *testing.B) {
		ctx := context.Background()
		emitted := 0
		for b.Loop() {
			b.StopTimer()
			c, sink := newTestConnector(b, testConfig(), componenttest.NewNopHost())
			b.StartTimer()
			for i, ld := range stream {
				_ = c.ConsumeLogs(ctx, ld)
				if (i+1)%flushEvery == 0 {
					c.flush(ctx)
				}
			}
			c.flush(ctx)
			b.StopTimer()
			emitted += sink.LogRecordCount()
			sink.Reset()
			b.StartTimer()
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*records), "ns/record")
		b.ReportMetric(float64(emitted)/float64(b.N*records), "emitted/record")
	})
}

// BenchmarkFindingMemory measures the heap a finding holds, for a one-record
// incident and a 250-record burst, beside the tagged records it stands for
// as pdata (what the tagged pipeline holds while a batch is in flight).
func BenchmarkFindingMemory(b *testing.B) {
	for _, size := range []int{1, 250} {
		const findings = 400
		var tags []tag
		for f := 0; f < findings; f++ {
			for r := 0; r < size; r++ {
				tags = append(tags, tag{id: fmt.Sprintf("rec-%d-%d", f, r), user: fmt.Sprintf("user%d@contoso.com", f),
					at: time.Duration(r) * 5 * time.Second, rules: []string{"bulk_send/send_rate_anomaly"}, severities: []string{"high"},
					reason: "Send above the mailbox's usual rate.", techniques: []string{"T1586.002", "T1534"},
					title: "Mailbox sending far above its usual rate", operation: "Send", source: "o365", address: "198.51.100.160"})
			}
		}
		b.Run(fmt.Sprintf("records=%d/baseline=tagged-pdata", size), func(b *testing.B) {
			var perFinding float64
			for b.Loop() {
				before := heapInUse()
				ld := logsOf(tags...)
				perFinding = float64(heapInUse()-before) / findings
				runtime.KeepAlive(ld)
			}
			b.ReportMetric(perFinding, "bytes/finding")
		})
		b.Run(fmt.Sprintf("records=%d/connector", size), func(b *testing.B) {
			ld := logsOf(tags...)
			var perFinding float64
			for b.Loop() {
				before := heapInUse()
				tr := incident.New(testConfig().options())
				lrs := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
				var obs []incident.Observation
				for i := 0; i < lrs.Len(); i++ {
					lr := lrs.At(i)
					obs, _ = readRecord(lr, eventTime(lr), obs[:0])
					for o := range obs {
						tr.Observe(&obs[o])
					}
				}
				obs = nil
				tr.Flush(1)
				perFinding = float64(heapInUse()-before) / findings
				runtime.KeepAlive(tr)
			}
			b.ReportMetric(perFinding, "bytes/finding")
		})
	}
}

func heapInUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}
