package bench

import (
	"context"
	"os"
	"runtime"
	"runtime/pprof"
	"testing"

	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otelsec/emailcompromise/internal/testing/loadgen"
)

func TestZZHeap(t *testing.T) {
	runtime.MemProfileRate = 4096
	g, _ := loadgen.New(loadgen.Config{Seed: 3, Users: 10000, Days: 1, Volume: 0.1, Scenarios: []string{}})
	cfg := processorConfig(t, g.Policy(), map[string]any{"state": map[string]any{"max_users": 20000}})
	p := newProcessorNoCleanup(t, cfg)
	_ = g.EachBatch(500, func(ld plog.Logs) error { return p.ConsumeLogs(context.Background(), ld) })
	runtime.GC()
	runtime.GC()
	f, _ := os.Create("/tmp/heap.out")
	pprof.WriteHeapProfile(f)
	f.Close()
	runtime.KeepAlive(p)
}
