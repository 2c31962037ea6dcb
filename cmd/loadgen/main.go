// Command loadgen writes the audit logs of a synthetic tenant as JSON-lines
// files the audit_log receiver reads, plus a JSON file with the detections
// the injected attacks must raise (rule ids by audit.record.id) and the
// processor policy the tenant's benign traffic needs to stay silent.
//
//	go run ./cmd/loadgen -users 1000 -days 7 -seed 1 -out /tmp/tenant
//
// Files are split per hour and source by default, named so that the
// receiver (which reads matched files in name order) sees sign-ins before
// the mailbox records that follow them.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/otelsec/emailcompromise/internal/testing/loadgen"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
}

// manifest is what -expected writes.
type manifest struct {
	Config    manifestConfig      `json:"config"`
	Records   int                 `json:"records"`
	Bytes     int64               `json:"bytes"`
	Files     int                 `json:"files"`
	Mix       map[string]int      `json:"mix"`
	Policy    map[string]any      `json:"processor_policy"`
	Scenarios []*loadgen.Scenario `json:"scenarios"`
	Expected  map[string][]string `json:"expected"`
	Allowed   map[string][]string `json:"allowed"`
}

type manifestConfig struct {
	Seed   uint64    `json:"seed"`
	Users  int       `json:"users"`
	Days   int       `json:"days"`
	Start  time.Time `json:"start"`
	Volume float64   `json:"volume"`
	Split  string    `json:"split"`
}

func run(args []string) error {
	fs := flag.NewFlagSet("loadgen", flag.ContinueOnError)
	users := fs.Int("users", 1000, "people in the tenant (a service account, a shared mailbox and a bulk sender come on top)")
	days := fs.Int("days", 1, "days to generate")
	seed := fs.Uint64("seed", 1, "seed: the same flags give the same bytes")
	start := fs.String("start", loadgen.DefaultStart.Format(time.DateOnly), "first day (UTC), YYYY-MM-DD")
	volume := fs.Float64("volume", 1, "scale of every per-person event rate")
	bulkSends := fs.Int("bulk-sends", 0, "messages the newsletter mailbox sends on each Monday and Thursday within half an hour (0: 300 scaled by -volume; a marketing relay: 5000)")
	scenarios := fs.String("scenarios", "all", `attacks to inject: "all", "none" or a comma-separated list of `+strings.Join(loadgen.AllScenarios, ", "))
	out := fs.String("out", "", "directory for the JSON-lines files (required)")
	split := fs.String("split", "hour", "file layout: hour, day or none (one file per source, read one after another: the same detections, some completed late on other records)")
	expected := fs.String("expected", "", "write the manifest (expected detections, scenarios, policy) to this JSON file; keep it outside the receiver's glob")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *out == "" {
		return errors.New("-out is required")
	}
	first, err := time.Parse(time.DateOnly, *start)
	if err != nil {
		return fmt.Errorf("-start: %w", err)
	}
	sp, err := loadgen.ParseSplit(*split)
	if err != nil {
		return err
	}
	if *bulkSends < 0 {
		return fmt.Errorf("-bulk-sends: must not be negative, got %d", *bulkSends)
	}
	cfg := loadgen.Config{Seed: *seed, Users: *users, Days: *days, Start: first, Volume: *volume, BulkSends: *bulkSends}
	switch *scenarios {
	case "all":
	case "none", "":
		cfg.Scenarios = []string{}
	default:
		cfg.Scenarios = strings.Split(*scenarios, ",")
	}
	g, err := loadgen.New(cfg)
	if err != nil {
		return err
	}
	began := time.Now()
	st, err := g.WriteFiles(*out, sp)
	if err != nil {
		return err
	}
	fmt.Printf("wrote %d records (%.1f MB) in %d files under %s in %s\n",
		st.Records, float64(st.Bytes)/1e6, len(st.Files), *out, time.Since(began).Round(time.Millisecond))
	fmt.Printf("%d scenarios, %d records with expected detections\n", len(g.Scenarios()), len(g.Expected()))
	if *expected == "" {
		return nil
	}
	if rel, err := filepath.Rel(*out, *expected); err == nil && !strings.HasPrefix(rel, "..") {
		fmt.Fprintln(os.Stderr, "loadgen: note: the manifest is inside -out; keep it out of the receiver's include glob")
	}
	mix := map[string]int{}
	if err := g.Each(func(r *loadgen.Record) error { mix[r.Label]++; return nil }); err != nil {
		return err
	}
	m := manifest{
		Config:    manifestConfig{Seed: *seed, Users: *users, Days: *days, Start: g.Config().Start, Volume: g.Config().Volume, Split: *split},
		Records:   st.Records,
		Bytes:     st.Bytes,
		Files:     len(st.Files),
		Mix:       mix,
		Policy:    g.Policy().ProcessorConfig(),
		Scenarios: g.Scenarios(),
		Expected:  g.Expected(),
		Allowed:   g.Allowed(),
	}
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(*expected, append(data, '\n'), 0o644); err != nil {
		return err
	}
	labels := make([]string, 0, len(mix))
	for l := range mix {
		labels = append(labels, l)
	}
	sort.Slice(labels, func(i, j int) bool { return mix[labels[i]] > mix[labels[j]] })
	for _, l := range labels {
		fmt.Printf("  %-45s %9d %5.1f%%\n", l, mix[l], 100*float64(mix[l])/float64(st.Records))
	}
	return nil
}
