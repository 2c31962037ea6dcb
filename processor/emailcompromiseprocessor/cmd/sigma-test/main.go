// Command sigma-test runs Sigma rules' own tests — SigmaHQ's regression-test
// format: an info.yml naming the rule and its samples of events, each with
// the number of matches it must give — with the engine of the
// email_compromise processor, so that a detection engineer can check a rule
// before deploying it:
//
//	go run ./processor/emailcompromiseprocessor/cmd/sigma-test -rules my-rules/ [-tests regression_data/] [-config sigma.yaml]
//
// Tests are those the rules name (regression_tests_path) and every info.yml
// below the -tests folders. -config reads the processor's sigma block
// (placeholders, field_mapping, logsource_mapping, ...) from a YAML file,
// as the processor would use it. It prints one line per test and a summary,
// and exits 1 when a test failed or a rule could not be loaded, 2 on bad
// arguments.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"go.opentelemetry.io/collector/confmap"
	"go.yaml.in/yaml/v3"

	"github.com/otelsec/emailcompromise/processor/emailcompromiseprocessor/internal/sigma"
)

// paths is a flag that may be given several times, or with commas.
type paths []string

func (p *paths) String() string { return strings.Join(*p, ",") }

func (p *paths) Set(v string) error {
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			*p = append(*p, s)
		}
	}
	return nil
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("sigma-test", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var rules, tests paths
	fs.Var(&rules, "rules", "rule files, folders or globs (repeat, or separate with commas)")
	fs.Var(&tests, "tests", "folders whose info.yml files are tests (repeat, or separate with commas)")
	configFile := fs.String("config", "", "YAML file holding the processor's sigma block (placeholders, field_mapping, ...)")
	lateness := fs.Duration("lateness", 24*time.Hour, "the processor's allowed_lateness")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	cfg, err := loadConfig(*configFile)
	if err != nil {
		fmt.Fprintln(stderr, "sigma-test:", err)
		return 2
	}
	cfg.Rules = append(cfg.Rules, rules...)
	if len(cfg.Rules) == 0 {
		fmt.Fprintln(stderr, "sigma-test: give the rules to test with -rules (or rules: in -config)")
		return 2
	}
	if err := cfg.Validate(); err != nil {
		fmt.Fprintln(stderr, "sigma-test: config:", err)
		return 2
	}
	rep, err := sigma.RunRuleTests(cfg, tests, *lateness)
	if err != nil {
		fmt.Fprintln(stderr, "sigma-test:", err)
		return 2
	}
	for _, e := range rep.Load.Errors {
		fmt.Fprintln(stdout, "ERROR", e)
	}
	for _, n := range rep.Load.Notes {
		fmt.Fprintln(stdout, "NOTE ", n)
	}
	for _, r := range rep.Results {
		fmt.Fprintln(stdout, r)
	}
	fmt.Fprintln(stdout, rep.Summary())
	if rep.Failed() {
		return 1
	}
	return 0
}

// loadConfig reads the sigma block of the processor's configuration from a
// YAML file: either the block itself, or a file with a top-level sigma key.
func loadConfig(path string) (sigma.Config, error) {
	var cfg sigma.Config
	if path == "" {
		return cfg, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return cfg, err
	}
	raw := map[string]any{}
	if err := yaml.Unmarshal(data, &raw); err != nil {
		return cfg, fmt.Errorf("%s: %w", path, err)
	}
	if block, ok := raw["sigma"].(map[string]any); ok {
		raw = block
	}
	if err := confmap.NewFromStringMap(raw).Unmarshal(&cfg); err != nil {
		return cfg, fmt.Errorf("%s: %w", path, err)
	}
	return cfg, nil
}
