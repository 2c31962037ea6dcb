package order

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/receiver/receivertest"
	"go.yaml.in/yaml/v3"

	"github.com/otelsec/emailcompromise/internal/testing/corpus"
	"github.com/otelsec/emailcompromise/receiver/auditlogreceiver"
)

// corpusExpectations is the part of tests/corpus/expectations.yaml this
// test needs: the policy, and how many records each file holds.
type corpusExpectations struct {
	Processor struct {
		OrganizationDomains []string `yaml:"organization_domains"`
	} `yaml:"processor"`
	Files []struct {
		File    string `yaml:"file"`
		Records int    `yaml:"records"`
	} `yaml:"files"`
}

func readCorpusExpectations(t *testing.T) corpusExpectations {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "corpus", "expectations.yaml"))
	require.NoError(t, err)
	var exp corpusExpectations
	require.NoError(t, yaml.Unmarshal(raw, &exp))
	return exp
}

func corpusDomains(t *testing.T) []string {
	return readCorpusExpectations(t).Processor.OrganizationDomains
}

// corpusItems reads every sample file with the real audit_log receiver and
// returns its records in event order (records without an event time last,
// in read order), and the event time they span.
func corpusItems(t *testing.T) ([]*item, time.Duration) {
	t.Helper()
	dir := corpus.Dir(t)
	exp := readCorpusExpectations(t)
	want := 0
	var include []string
	for _, f := range exp.Files {
		want += f.Records
		include = append(include, corpus.GlobEscape(filepath.Join(dir, "samples", f.File)))
	}
	ctx := context.Background()
	sink := new(consumertest.LogsSink)
	f := auditlogreceiver.NewFactory()
	cfg := f.CreateDefaultConfig().(*auditlogreceiver.Config)
	cfg.Files.Include = include
	cfg.Files.PollInterval = 20 * time.Millisecond
	require.NoError(t, cfg.Validate())
	rcv, err := f.CreateLogs(ctx, receivertest.NewNopSettings(f.Type()), cfg, sink)
	require.NoError(t, err)
	require.NoError(t, rcv.Start(ctx, componenttest.NewNopHost()))
	require.Eventually(t, func() bool { return sink.LogRecordCount() >= want }, 30*time.Second, 10*time.Millisecond,
		"expected the %d records tests/corpus/expectations.yaml lists", want)
	require.NoError(t, rcv.Shutdown(ctx))

	var items []*item
	for _, ld := range sink.AllLogs() {
		for i := 0; i < ld.ResourceLogs().Len(); i++ {
			for j := 0; j < ld.ResourceLogs().At(i).ScopeLogs().Len(); j++ {
				records := ld.ResourceLogs().At(i).ScopeLogs().At(j).LogRecords()
				for k := 0; k < records.Len(); k++ {
					lr := plog.NewLogRecord()
					records.At(k).CopyTo(lr)
					attrs := lr.Attributes()
					get := func(key string) string {
						if v, ok := attrs.Get(key); ok {
							return v.AsString()
						}
						return ""
					}
					items = append(items, &item{id: get("audit.record.id"), at: lr.Timestamp().AsTime(), source: get("audit.source"),
						user: get("user.name"), render: func(out plog.LogRecord) error { lr.CopyTo(out); return nil }})
				}
			}
		}
	}
	slices.SortStableFunc(items, func(a, b *item) int {
		switch {
		case a.at.Equal(b.at):
			return 0
		case a.at.Unix() == 0:
			return 1
		case b.at.Unix() == 0:
			return -1
		}
		return a.at.Compare(b.at)
	})
	var first, last time.Time
	for _, it := range items {
		if it.at.Unix() == 0 {
			continue
		}
		if first.IsZero() {
			first = it.at
		}
		last = it.at
	}
	return items, last.Sub(first)
}
