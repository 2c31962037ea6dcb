package auditlogreceiver

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/extension/xextension/storage"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/receiver/receivertest"

	"github.com/otelsec/emailcompromise/internal/testing/apitest"
	"github.com/otelsec/emailcompromise/receiver/auditlogreceiver/internal/metadata"
	"github.com/otelsec/emailcompromise/receiver/auditlogreceiver/internal/vendorapi"
)

const benchAPIRecords = 10_000

// BenchmarkAPIThroughput reads a backlog of benchAPIRecords from each fake
// API on 127.0.0.1 through the real client: token, HTTP, paging, JSON
// splitting, record building (decode, parse, attributes), dedup, batching
// and the per-batch checkpoint (to a no-op storage). Every iteration starts
// with an empty state, so every record is new; records/s is the figure to
// read.
func BenchmarkAPIThroughput(b *testing.B) {
	now := time.Now()
	b.Run("o365", func(b *testing.B) {
		env := newO365Env(b, "Audit.Exchange")
		env.api.SetPageSize(100)
		addO365Blobs(env.api, "Audit.Exchange", "b", now.Add(-100*time.Minute), now, benchAPIRecords/50, 50)
		benchAPISource(b, env.cfg)
	})
	b.Run("graph", func(b *testing.B) {
		env := newGraphEnv(b)
		env.cfg.Graph.Get().PageSize = vendorapi.MaxGraphPageSize
		addSignIns(env.api, "s", now.Add(-100*time.Minute), now, benchAPIRecords)
		benchAPISource(b, env.cfg)
	})
	b.Run("google", func(b *testing.B) {
		env := newGoogleEnv(b, "login")
		env.cfg.Google.Get().PageSize = vendorapi.MaxGooglePageSize
		for i := range benchAPIRecords {
			at := now.Add(-time.Duration(i) * 500 * time.Millisecond)
			env.api.Add("login", at, apitest.GoogleLogin(fmt.Sprint(i), at))
		}
		benchAPISource(b, env.cfg)
	})
}

func benchAPISource(b *testing.B, cfg *Config) {
	r, err := newAuditLogReceiver(receivertest.NewNopSettings(metadata.Type), cfg, consumertest.NewNop())
	if err != nil {
		b.Fatal(err)
	}
	defer r.telemetry.Shutdown()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		// A source of its own each time: its state starts empty, so every
		// record is new. It fetches one token more than a long run would.
		sources, err := r.apiSources(context.Background(), componenttest.NewNopHost(), storage.NewNopClient())
		if err != nil || len(sources) != 1 {
			b.Fatal(sources, err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		delivered := 0
		sources[0].source.Run(ctx, func(_ context.Context, logs plog.Logs, _ func() plog.Logs) error {
			delivered += logs.LogRecordCount()
			if delivered >= benchAPIRecords {
				cancel()
			}
			return nil
		})
		timedOut := errors.Is(ctx.Err(), context.DeadlineExceeded)
		cancel()
		if timedOut || delivered != benchAPIRecords {
			b.Fatalf("delivered %d of %d", delivered, benchAPIRecords)
		}
	}
	b.ReportMetric(float64(benchAPIRecords*b.N)/b.Elapsed().Seconds(), "records/s")
}
