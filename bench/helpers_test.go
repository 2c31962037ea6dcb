package bench

import (
	"context"
	"sync"
	"testing"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/otelsec/emailcompromise/internal/testing/loadgen"
	"github.com/otelsec/emailcompromise/processor/emailcompromiseprocessor"
)

// processorConfig is the processor's default configuration plus the
// tenant's policy, decoded through confmap as a collector YAML file is.
func processorConfig(tb testing.TB, p loadgen.Policy, extra map[string]any) *emailcompromiseprocessor.Config {
	tb.Helper()
	f := emailcompromiseprocessor.NewFactory()
	cfg := f.CreateDefaultConfig().(*emailcompromiseprocessor.Config)
	raw := p.ProcessorConfig()
	for k, v := range extra {
		raw[k] = v
	}
	if err := confmap.NewFromStringMap(raw).Unmarshal(cfg); err != nil {
		tb.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		tb.Fatal(err)
	}
	return cfg
}

// newProcessor starts an email_compromise processor in front of next.
func newProcessor(tb testing.TB, cfg *emailcompromiseprocessor.Config, set processor.Settings, next consumer.Logs) processor.Logs {
	tb.Helper()
	p, err := emailcompromiseprocessor.NewFactory().CreateLogs(context.Background(), set, cfg, next)
	if err != nil {
		tb.Fatal(err)
	}
	if err := p.Start(context.Background(), componenttest.NewNopHost()); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := p.Shutdown(context.Background()); err != nil {
			tb.Error(err)
		}
	})
	return p
}

func nopSettings() processor.Settings {
	return processortest.NewNopSettings(emailcompromiseprocessor.NewFactory().Type())
}

// tagCollector is the next consumer of the oracle test: it keeps, by
// audit.record.id, the detection.rules of every tagged record and counts
// the rest, without holding the batches.
type tagCollector struct {
	mu    sync.Mutex
	rules map[string][]string
	seen  int
}

func (c *tagCollector) Capabilities() consumer.Capabilities { return consumer.Capabilities{} }

func (c *tagCollector) ConsumeLogs(_ context.Context, ld plog.Logs) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.rules == nil {
		c.rules = map[string][]string{}
	}
	for i := 0; i < ld.ResourceLogs().Len(); i++ {
		sls := ld.ResourceLogs().At(i).ScopeLogs()
		for j := 0; j < sls.Len(); j++ {
			lrs := sls.At(j).LogRecords()
			for k := 0; k < lrs.Len(); k++ {
				c.seen++
				attrs := lrs.At(k).Attributes()
				v, ok := attrs.Get("detection.rules")
				if !ok {
					continue
				}
				id, _ := attrs.Get("audit.record.id")
				var rules []string
				for n := 0; n < v.Slice().Len(); n++ {
					rules = append(rules, v.Slice().At(n).Str())
				}
				c.rules[id.Str()] = rules
			}
		}
	}
	return nil
}

// nopConsumer drops what it gets: the benchmarks measure the processor,
// not a sink.
type nopConsumer struct{}

func (nopConsumer) Capabilities() consumer.Capabilities          { return consumer.Capabilities{} }
func (nopConsumer) ConsumeLogs(context.Context, plog.Logs) error { return nil }

func nopHost() component.Host { return componenttest.NewNopHost() }
