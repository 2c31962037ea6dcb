package e2e

// The scale-out deployment of deploy/scaleout (README "Scale-out") with the
// built distribution: tier 1 and tier-2 replicas as subprocesses around an
// in-process Kafka broker (kfake), compared with one collector on the same
// files.

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/kversion"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.yaml.in/yaml/v3"

	"github.com/otelsec/emailcompromise/internal/testing/corpus"
	"github.com/otelsec/emailcompromise/internal/testing/loadgen"
)

const (
	// scaleTopic is the topic of deploy/scaleout/tier1.yaml and tier2.yaml.
	scaleTopic = "audit-by-user"
	// scalePartitions: several per replica, as in production, so that a
	// take-over moves several partitions.
	scalePartitions = 8
	// scaleSession is the replicas' Kafka session timeout in the kill run
	// (30s in the shipped file, kept in the other runs): how long the
	// broker waits for a killed replica before its partitions go to the
	// survivor.
	scaleSession = 5 * time.Second
	// scaleKillAt is the share of the records delivered when a replica is
	// killed: early in the four days, so that the users it loses are past
	// the 24h warm-up on the survivor before the attacks of the last day.
	scaleKillAt = 0.25
	// scaleStall fails a wait when nothing progresses for this long.
	scaleStall = 30 * time.Second
	// scaleRelaySends makes the newsletter mailbox a marketing relay: 5,000
	// sends in half an hour fill whole 500-record batches, one user's share
	// of which exceeds Kafka's default message size (1,000,000 bytes).
	scaleRelaySends = 5000
	// kafkaDefaultMaxMessageBytes is the Kafka exporter's default
	// producer.max_message_bytes.
	kafkaDefaultMaxMessageBytes = 1_000_000
	// malformedLineBytes is a record no vendor shape explains, larger than
	// Kafka's default message but within tier 1's max_record_bytes (1 MiB).
	malformedLineBytes = 1_020_000
)

// historyRules are the rules the processor marks NeedsHistory
// (processor/emailcompromiseprocessor/internal/detection): held back while
// a user's state is younger than state.warmup.
var historyRules = []string{
	"impossible_travel/impossible_travel",
	"risky_sign_in/new_country",
	"risky_sign_in/new_asn",
	"bulk_send/send_rate_anomaly",
	"thread_hijack/reply_from_risky_session",
	"chain/account_takeover",
	// Today's tradecraft: each is silenced by the user's own networks,
	// flows or apps, which a replica that just took the user over lacks.
	"session_hijack/session_replay",
	"risky_sign_in/device_code",
	"risky_sign_in/account_lockout",
	"persistence/security_info_changed",
	"persistence/device_registered",
	"persistence/mail_app_consent",
	"mail_collection/mail_items_accessed",
	"mail_collection/sync_by_new_app",
}

// learningRules are the history rules that also wait for a learning period
// of their own (new_location.learning_period, learning_sign_ins): past the
// warm-up, a user taken over has the history since the take-over only, and
// they stay silent until it is learned, without counting in
// otelcol_email_compromise_warmup_suppressed (README, "State on
// rebalance").
var learningRules = []string{"risky_sign_in/new_country", "risky_sign_in/new_asn"}

// taggedRecords maps audit.record.id to the sorted detection.rules of a
// tagged record.
type taggedRecords map[string][]string

// TestScaleOutKafka runs the two-tier deployment on a generated tenant with
// attacks and checks what README "Scale-out" promises:
//   - tier 1 puts every record of a user, from every source, into one
//     partition, with a resource of exactly {user.name}, and tags the
//     password-spray success there;
//   - one and two tier-2 replicas detect what one collector with every
//     detector detects on the same files;
//   - killing a replica with SIGKILL mid-stream loses no record, repeats
//     only records of its own partitions, and the survivor takes them over
//     and still detects the attacks that come after its warm-up;
//   - a replica that takes over users right before their attacks holds the
//     history-dependent detections back (and counts them) and reports the
//     others.
//
// It also measures records/s with one and with two replicas. SCALEOUT_USERS
// makes the tenant larger for a measurement (default 150 people, four days,
// about 30 000 records: well under a minute on two cores).
func TestScaleOutKafka(t *testing.T) {
	root := corpus.RepoRoot(t)
	binary := collectorBinary(t, root)
	users := 150
	if v, err := strconv.Atoi(os.Getenv("SCALEOUT_USERS")); err == nil && v > 0 {
		users = v
	}
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	work := t.TempDir()
	cfg := loadgen.Config{Seed: 41, Users: users, Days: 4, BulkSends: scaleRelaySends}
	tenant := writeScaleTenant(t, filepath.Join(work, "logs"), cfg)
	g := tenant.g
	s := &scaleOut{t: t, ctx: ctx, binary: binary, root: root, work: work, policy: g.Policy(), ids: tenant.ids,
		parseErrors: tenant.parseErrors, logsGlob: filepath.Join(work, "logs", "*.jsonl"), broker: startKafka(t)}
	admin, err := kgo.NewClient(kgo.SeedBrokers(s.broker), kgo.MaxVersions(kversion.V3_9_0()))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	s.admin = admin
	s.configureTopics()
	t.Logf("tenant: %d people, %d days, %d records and %d malformed line of %d bytes; the relay %s sends %d a day on two days; "+
		"%s's first record read (an export listing newest first) is %s after her earliest and %s before her attack; broker %s, topic %s with %d partitions",
		users, cfg.Days, len(tenant.ids), tenant.parseErrors, malformedLineBytes, loadgen.BulkSender, scaleRelaySends,
		tenant.lateUser, tenant.lateFirstRead.Sub(tenant.lateEarliest).Round(time.Minute), tenant.attack.Sub(tenant.lateFirstRead).Round(time.Minute),
		s.broker, scaleTopic, scalePartitions)
	s.checkRelayExceedsKafkaDefault(g)

	ref := s.reference()
	s.checkReferenceCoversAttacks(g, ref.detections)
	s.tier1Split()
	topic := s.tier1()
	s.checkTopic(topic, ref.detections)

	one := s.replicas("one", 1, topic, 0, "0s")
	two := s.replicas("two", 2, topic, 0, "")
	for _, run := range []*replicaRun{one, two} {
		s.checkEqual(run.name, ref, run)
		if missing, repeated := run.missingAndRepeated(s.ids); len(missing) > 0 || len(repeated) > 0 {
			t.Errorf("%s: %d records lost, %d repeated, without any failure", run.name, len(missing), len(repeated))
		}
	}
	// A fresh start from the beginning of the topic: every user's history
	// grows from her earliest record, so the shipped warm-up holds nothing
	// back, not even for the user whose first record read was days after
	// her earliest.
	if held := sumValues(two.heldBack); held != 0 {
		t.Errorf("%s: the shipped warm-up held back %v on a fresh start from the beginning", two.name, two.heldBack)
	}
	s.checkTakeOver(s.replicas("kill", 2, topic, scaleKillAt, ""), ref, topic)
	s.checkWarmup(g, ref.detections, topic)

	t.Logf("throughput on %d cores shared with the broker, the sinks and the test (records/s from the first record to the last; "+
		"records per CPU-second of the collector process): one collector on the files %.0f (%.0f); tier 1 into Kafka %.0f (%.0f); "+
		"tier 2 with 1 replica %.0f (%.0f); with 2 replicas %.0f (%.0f each)",
		runtime.NumCPU(), ref.rate(), ref.perCPUSecond(), topic.rate(), topic.perCPUSecond(),
		one.rate(), one.perCPUSecond(), two.rate(), two.perCPUSecond())
}

// scaleTenant is the generated tenant as files, with what the test adds.
type scaleTenant struct {
	g   *loadgen.Generator
	ids []string // audit.record.id of every vendor record
	// parseErrors is the number of lines written that are no vendor record.
	parseErrors int
	// lateUser's records before her attack are in an export read first,
	// newest first: her first record read is days after her earliest.
	lateUser                            string
	lateEarliest, lateFirstRead, attack time.Time
}

// writeScaleTenant writes the tenant's hourly exports, and two files a real
// tenant's folder has:
//   - 0-export-<user>.jsonl: every record of the impossible-travel victim
//     before her attack, newest first (as vendor exports list), named to be
//     read before the hourly files. Her first record read is the newest of
//     them, days after her earliest; what is older than allowed_lateness
//     (24h) behind it arrives too late to be learned, in the single
//     collector as in the scale-out. Her attack, in the hourly files, comes
//     hours after the first record read (the generator keeps a victim quiet
//     before her attack): less than the warm-up, so a warm-up counted from
//     the first record read would hold its detections back.
//   - 9-malformed.jsonl: one line of malformedLineBytes, an O365 record
//     without its time: a parse error, larger than Kafka's default message.
func writeScaleTenant(t *testing.T, dir string, cfg loadgen.Config) *scaleTenant {
	t.Helper()
	g, err := loadgen.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	tenant := &scaleTenant{g: g, parseErrors: 1}
	for _, sc := range g.Scenarios() {
		if sc.Name == loadgen.ScenarioImpossibleTravel {
			tenant.lateUser = sc.Victim
		}
	}
	// Her attack begins with her first scenario record.
	if err := g.Each(func(r *loadgen.Record) error {
		tenant.ids = append(tenant.ids, r.ID)
		if r.User == tenant.lateUser && r.Scenario != "" && (tenant.attack.IsZero() || r.Time.Before(tenant.attack)) {
			tenant.attack = r.Time
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if tenant.lateUser == "" || tenant.attack.IsZero() {
		t.Fatal("the tenant has no impossible-travel victim")
	}
	exported := func(r *loadgen.Record) bool {
		return r.User == tenant.lateUser && r.Scenario == "" && r.Time.Before(tenant.attack)
	}
	type line struct {
		at   time.Time
		json []byte
	}
	var export []line
	if _, err := g.WriteFilesWith(dir, loadgen.SplitHour, func(r *loadgen.Record) bool {
		if exported(r) {
			export = append(export, line{r.Time, slices.Clone(r.JSON)})
			return false
		}
		return true
	}); err != nil {
		t.Fatal(err)
	}
	slices.SortStableFunc(export, func(a, b line) int { return b.at.Compare(a.at) })
	var buf bytes.Buffer
	for _, l := range export {
		buf.Write(l.json)
		buf.WriteByte('\n')
	}
	if err := os.WriteFile(filepath.Join(dir, "0-export-"+tenant.lateUser+".jsonl"), buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	tenant.lateFirstRead, tenant.lateEarliest = export[0].at, export[len(export)-1].at
	if d := tenant.lateFirstRead.Sub(tenant.lateEarliest); d < 48*time.Hour {
		t.Fatalf("%s's first record read is only %s after her earliest; the test needs days", tenant.lateUser, d)
	}
	if d := tenant.attack.Sub(tenant.lateFirstRead); d >= 24*time.Hour {
		t.Fatalf("%s's attack comes %s after her first record read: a warm-up counted from that record would not hold it back either", tenant.lateUser, d)
	}
	prefix := `{"Id":"malformed-1mb","Operation":"Send","RecordType":2,"UserId":"` + tenant.lateUser + `","Workload":"Exchange","Pad":"`
	malformed := prefix + strings.Repeat("x", malformedLineBytes-len(prefix)-3) + `"}` + "\n"
	if err := os.WriteFile(filepath.Join(dir, "9-malformed.jsonl"), []byte(malformed), 0o644); err != nil {
		t.Fatal(err)
	}
	return tenant
}

// checkRelayExceedsKafkaDefault makes sure the tenant has the case of the
// issue: one user's records of one 500-record batch (the receiver's
// default) over Kafka's default message size, in the otlp_proto tier 1
// writes. The files are cut into batches as the receiver cuts them.
func (s *scaleOut) checkRelayExceedsKafkaDefault(g *loadgen.Generator) {
	s.t.Helper()
	var sizer plog.ProtoMarshaler
	render := loadgen.NewRenderer()
	// The batch being filled of each file: its records by user.
	type batch struct {
		perUser map[string]plog.Logs
		records int
	}
	batches := map[string]*batch{}
	largest, largestUser := 0, ""
	flush := func(b *batch) {
		for user, ld := range b.perUser {
			if n := sizer.LogsSize(ld); n > largest {
				largest, largestUser = n, user
			}
		}
		clear(b.perUser)
		b.records = 0
	}
	if err := g.Each(func(r *loadgen.Record) error {
		// The receiver reads one file after another in batches of 500; a
		// batch holds records of two files only at a file's end, which is
		// ignored here.
		name := loadgen.SplitHour.FileName(r.Time, r.Shape)
		b := batches[name]
		if b == nil {
			b = &batch{perUser: map[string]plog.Logs{}}
			batches[name] = b
		}
		// As tier 1 writes it: the file's real path on the record,
		// user.name moved to the resource.
		lr := plog.NewLogRecord()
		if err := render.Render(r, lr); err != nil {
			return err
		}
		lr.Attributes().PutStr("log.file.path", filepath.Join(filepath.Dir(s.logsGlob), name))
		user := str(lr.Attributes(), "user.name")
		lr.Attributes().Remove("user.name")
		ld, ok := b.perUser[user]
		if !ok {
			ld = plog.NewLogs()
			rl := ld.ResourceLogs().AppendEmpty()
			if user != "" {
				rl.Resource().Attributes().PutStr("user.name", user)
			}
			rl.ScopeLogs().AppendEmpty().Scope().SetName(loadgen.ScopeName)
			b.perUser[user] = ld
		}
		lr.MoveTo(ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().AppendEmpty())
		if b.records++; b.records == 500 {
			flush(b)
		}
		return nil
	}); err != nil {
		s.t.Fatal(err)
	}
	for _, b := range batches {
		flush(b)
	}
	if largest <= kafkaDefaultMaxMessageBytes {
		s.t.Fatalf("the largest one-user share of a 500-record batch is %d bytes (%s), not above Kafka's default %d: the size case is not tested",
			largest, largestUser, kafkaDefaultMaxMessageBytes)
	}
	s.t.Logf("largest one-user share of a 500-record batch: %d bytes in otlp_proto (%s), Kafka's default message limit %d",
		largest, largestUser, kafkaDefaultMaxMessageBytes)
}

func sumValues(m map[string]float64) float64 {
	var total float64
	for _, v := range m {
		total += v
	}
	return total
}

// scaleOut holds what the phases of the test share.
type scaleOut struct {
	t      *testing.T
	ctx    context.Context
	binary string
	root   string
	work   string
	policy loadgen.Policy
	ids    []string
	// parseErrors is the number of lines in the files that are no vendor
	// record (no audit.record.id): they must arrive too.
	parseErrors int
	logsGlob    string
	broker      string
	// admin describes groups and commits offsets. OffsetCommit v10 names
	// topics by id; capping the versions keeps names.
	admin *kgo.Client
}

// scaleRuns are the consumer groups whose replicas read a copy of tier 1's
// topic (see replay).
var scaleRuns = []string{"one", "two", "kill"}

// splitTopic receives tier 1 with Kafka's default message size: the run
// that needs the receiver's split (tier1Split).
const splitTopic = scaleTopic + ".split"

// startKafka starts an in-process Kafka-protocol broker on 127.0.0.1 with
// the topics created; a session timeout as short as scaleSession is allowed.
func startKafka(t *testing.T) string {
	t.Helper()
	topics := []string{scaleTopic, splitTopic}
	for _, run := range scaleRuns {
		topics = append(topics, scaleTopic+"."+run)
	}
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(scalePartitions, topics...),
		kfake.GroupMinSessionTimeout(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c.ListenAddrs()[0]
}

// configureTopics gives every topic the max.message.bytes that
// deploy/scaleout/create-topic.sh gives the real one.
func (s *scaleOut) configureTopics() {
	s.t.Helper()
	script, err := os.ReadFile(filepath.Join(s.root, "deploy", "scaleout", "create-topic.sh"))
	if err != nil {
		s.t.Fatal(err)
	}
	m := regexp.MustCompile(`--config max\.message\.bytes=(\d+)`).FindSubmatch(script)
	if m == nil {
		s.t.Fatal("deploy/scaleout/create-topic.sh sets no max.message.bytes")
	}
	value := string(m[1])
	req := kmsg.NewPtrIncrementalAlterConfigsRequest()
	for _, topic := range append([]string{scaleTopic, splitTopic}, prefixed(scaleTopic+".", scaleRuns)...) {
		res := kmsg.NewIncrementalAlterConfigsRequestResource()
		res.ResourceType, res.ResourceName = kmsg.ConfigResourceTypeTopic, topic
		cfg := kmsg.NewIncrementalAlterConfigsRequestResourceConfig()
		cfg.Name, cfg.Value = "max.message.bytes", &value
		res.Configs = append(res.Configs, cfg)
		req.Resources = append(req.Resources, res)
	}
	resp, err := req.RequestWith(s.ctx, s.admin)
	if err != nil {
		s.t.Fatal(err)
	}
	for _, r := range resp.Resources {
		if r.ErrorCode != 0 {
			s.t.Fatalf("setting max.message.bytes of %s: error code %d", r.ResourceName, r.ErrorCode)
		}
	}
	s.t.Logf("topics: max.message.bytes=%s (create-topic.sh)", value)
}

func prefixed(prefix string, names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = prefix + n
	}
	return out
}

// deployConfig reads a shipped file of deploy/scaleout.
func (s *scaleOut) deployConfig(name string) map[string]any {
	s.t.Helper()
	data, err := os.ReadFile(filepath.Join(s.root, "deploy", "scaleout", name))
	if err != nil {
		s.t.Fatal(err)
	}
	var cfg map[string]any
	if err := yaml.Unmarshal(data, &cfg); err != nil {
		s.t.Fatalf("deploy/scaleout/%s: %v", name, err)
	}
	return cfg
}

// at returns the map at path in cfg, failing when the shipped file lacks it.
func (s *scaleOut) at(cfg map[string]any, path ...string) map[string]any {
	s.t.Helper()
	m := cfg
	for i, key := range path {
		next, ok := m[key].(map[string]any)
		if !ok {
			s.t.Fatalf("the scale-out config has no %s", strings.Join(path[:i+1], "::"))
		}
		m = next
	}
	return m
}

// finish sets what every collector of the test shares: the tenant's policy
// on its email_compromise processor, its own state directory, and its own
// telemetry (Prometheus on promPort when not 0).
func (s *scaleOut) finish(cfg map[string]any, processor, storage, dir string, promPort int) {
	maps.Copy(s.at(cfg, "processors", processor), s.policy.ProcessorConfig())
	if storage != "" {
		s.at(cfg, "extensions", storage)["directory"] = filepath.Join(dir, "state")
	}
	s.at(cfg, "service")["telemetry"] = telemetry(promPort, "info")
}

func (s *scaleOut) start(cfg map[string]any, dir string) *collector {
	s.t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		s.t.Fatal(err)
	}
	path := filepath.Join(dir, "config.yaml")
	writeYAML(s.t, path, cfg)
	return startCollector(s.t, s.binary, path, filepath.Join(dir, "collector.log"))
}

// waitFor polls progress until it reaches want; it fails the test when
// nothing progresses for scaleStall, a collector exits or time runs out.
func (s *scaleOut) waitFor(what string, want int, progress func() int, cols ...*collector) {
	s.t.Helper()
	last, lastChange := -1, time.Now()
	for {
		n := progress()
		if n >= want {
			return
		}
		if n != last {
			last, lastChange = n, time.Now()
		}
		for _, c := range cols {
			select {
			case <-c.exited:
				s.t.Fatalf("%s: a collector exited at %d of %d\n%s", what, n, want, c.logTail())
			default:
			}
		}
		if time.Since(lastChange) > scaleStall {
			var tails []string
			for _, c := range cols {
				tails = append(tails, c.logTail())
			}
			s.t.Fatalf("%s: stuck at %d of %d for %s\n%s", what, n, want, scaleStall, strings.Join(tails, "\n"))
		}
		select {
		case <-s.ctx.Done():
			s.t.Fatalf("%s: %v at %d of %d", what, s.ctx.Err(), n, want)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// referenceRun is one collector with the default configuration on the
// files.
type referenceRun struct {
	sink       *otlpSink
	detections taggedRecords
	evidence   taggedRecords
	cpu        float64 // CPU seconds
}

func (r *referenceRun) rate() float64 { return r.sink.rate() }

func (r *referenceRun) perCPUSecond() float64 {
	distinct, _ := r.sink.counts()
	return recordsPerCPUSecond(distinct, r.cpu)
}

// reference runs a single collector as a new user would: the receiver and
// the processor with their defaults, only the tenant's policy keys set
// (password spray on, no warm-up), straight to a sink. The deployment must
// equal it.
func (s *scaleOut) reference() *referenceRun {
	s.t.Helper()
	receiver := map[string]any{"files": map[string]any{}}
	s.filesAt(receiver)
	sink := startSink(s.t, sinkKeeps{ids: true, tagged: true})
	cfg := map[string]any{
		"receivers":  map[string]any{"audit_log": receiver},
		"processors": map[string]any{"email_compromise": map[string]any{}},
		"exporters":  map[string]any{"otlp_grpc": sinkExporter("otlp_grpc", sink)},
		"service": map[string]any{"pipelines": map[string]any{"logs": map[string]any{
			"receivers": []string{"audit_log"}, "processors": []string{"email_compromise"}, "exporters": []string{"otlp_grpc"}}}},
	}
	dir := filepath.Join(s.work, "reference")
	s.finish(cfg, "email_compromise", "", dir, 0)
	col := s.start(cfg, dir)
	s.waitFor("reference", len(s.ids)+s.parseErrors, sink.arrived, col)
	cpu := processCPUSeconds(col.cmd.Process.Pid)
	if code := col.stop(s.t); code != 0 {
		s.t.Errorf("reference collector exited with %d\n%s", code, col.logTail())
	}
	d := sink.detections()
	distinct, _ := sink.counts()
	s.t.Logf("reference (one collector, default configuration): %d records and %d parse errors, %d tagged, %.0f records/s; CPU seconds %.1f",
		distinct, sink.parseErrorCount(), len(d), sink.rate(), cpu)
	return &referenceRun{sink: sink, detections: d, evidence: sink.evidenceOf(), cpu: cpu}
}

// filesAt points an audit_log receiver at the tenant's files, polled often.
func (s *scaleOut) filesAt(receiver map[string]any) {
	files := s.at(receiver, "files")
	files["include"] = []string{s.logsGlob}
	files["poll_interval"] = "100ms"
}

// checkReferenceCoversAttacks makes sure the comparison is not vacuous:
// the reference detects every attack the generator injected.
func (s *scaleOut) checkReferenceCoversAttacks(g *loadgen.Generator, ref taggedRecords) {
	s.t.Helper()
	for id, rules := range g.Expected() {
		for _, r := range rules {
			if !slices.Contains(ref[id], r) {
				s.t.Errorf("the single collector misses %s on record %s (got %v): a detection regression, not a scale-out one", r, id, ref[id])
			}
		}
	}
}

// topicScan is what tier 1 wrote: where each log record went (partition,
// message), its event time, and tier 1's own tags.
type topicScan struct {
	records     int // log records, repeats included
	repeats     int // log records whose audit.record.id came before
	parseErrors int // log records with audit.parse_error and no id
	bytes       int // message values (otlp_proto, lz4 is undone by the client)
	largest     int // the largest message value
	partitionOf map[string]int32
	timeOf      map[string]time.Time // event time
	noUser      int                  // records without user.name
	tier1       taggedRecords
	// messages of each partition in offset order: offset and the latest
	// event time of its records.
	messages    map[int32][]topicMessage
	raw         []*kgo.Record // as read, for replay
	first, last time.Time     // produce timestamps
	cpu         float64       // tier 1's CPU seconds
}

type topicMessage struct {
	offset int64
	latest time.Time
	ids    []string
	// parseErrors are its records without event time or id.
	parseErrors int
}

func (ts *topicScan) rate() float64         { return recordsPerSecond(ts.records, ts.first, ts.last) }
func (ts *topicScan) perCPUSecond() float64 { return recordsPerCPUSecond(ts.records, ts.cpu) }

// tier1 runs tier 1 as shipped on the files until the topic holds every
// record, and reads the topic back as tier 2 will. Its size limits must
// make the receiver's split unnecessary: nothing refused, nothing dropped.
func (s *scaleOut) tier1() *topicScan {
	s.t.Helper()
	cfg := s.deployConfig("tier1.yaml")
	s.filesAt(s.at(cfg, "receivers", "audit_log"))
	s.at(cfg, "exporters", "kafka/by_user")["brokers"] = []string{s.broker}
	dir := filepath.Join(s.work, "tier1")
	s.finish(cfg, "email_compromise/spray", "file_storage/tier1", dir, 0)
	col := s.start(cfg, dir)
	scan := s.scanTopic(scaleTopic, len(s.ids)+s.parseErrors, col)
	rss := hwmKiB(s.t, col.cmd.Process.Pid)
	scan.cpu = processCPUSeconds(col.cmd.Process.Pid)
	if code := col.stop(s.t); code != 0 {
		s.t.Errorf("tier 1 exited with %d\n%s", code, col.logTail())
	}
	if refusals := logLines(s.t, col.logPath, "next consumer refused"); len(refusals) > 0 {
		s.t.Errorf("tier 1 as shipped had batches refused (its size limits do not hold): %s", refusals[0])
	}
	s.t.Logf("tier 1: %d records into Kafka at %.0f records/s (produce timestamps), largest message %d bytes; CPU seconds %.1f, peak RSS %d MiB",
		scan.records, scan.rate(), scan.largest, scan.cpu, rss/1024)
	return scan
}

// tier1Split runs tier 1 as a new user first did: the Kafka exporter's
// default message size (1,000,000 bytes) and the receiver's default
// limits. The relay's share of a batch and the malformed line are too
// large: the receiver splits the refused batches until every record that
// fits alone is in Kafka, and drops and counts only the malformed line.
func (s *scaleOut) tier1Split() {
	s.t.Helper()
	cfg := s.deployConfig("tier1.yaml")
	receiver := s.at(cfg, "receivers", "audit_log")
	s.filesAt(receiver)
	files := s.at(receiver, "files")
	delete(files, "max_record_bytes")
	delete(files, "max_batch_bytes")
	exporter := s.at(cfg, "exporters", "kafka/by_user")
	exporter["brokers"] = []string{s.broker}
	s.at(exporter, "logs")["topic"] = splitTopic
	delete(s.at(exporter, "producer"), "max_message_bytes")
	dir := filepath.Join(s.work, "tier1-split")
	promPort := freePort(s.t)
	s.finish(cfg, "email_compromise/spray", "file_storage/tier1", dir, promPort)
	began := time.Now()
	col := s.start(cfg, dir)
	// The malformed line cannot reach Kafka: wait for every vendor record,
	// then for the drop of the line (read last) to be counted.
	scan := s.scanTopic(splitTopic, len(s.ids), col)
	dropped := func() int { return int(sumValues(metricByRule(promPort, "otelcol_audit_log_dropped_records"))) }
	s.waitFor("tier 1 with Kafka's default message size, counting its drop", 1, dropped, col)
	elapsed := time.Since(began)
	n := dropped()
	if code := col.stop(s.t); code != 0 {
		s.t.Errorf("tier 1 (split) exited with %d\n%s", code, col.logTail())
	}
	split := logLines(s.t, col.logPath, "delivered it in parts instead")
	drops := logLines(s.t, col.logPath, "refused records for good")
	if n != s.parseErrors-scan.parseErrors || len(drops) != 1 {
		s.t.Errorf("tier 1 (split): otelcol_audit_log_dropped_records %d and %d drop log lines; %d record(s) did not reach Kafka (the malformed line)",
			n, len(drops), s.parseErrors-scan.parseErrors)
	}
	if len(split) == 0 {
		s.t.Error("tier 1 (split): no batch was split: the relay's messages fit Kafka's default after all, the case is not tested")
	}
	if scan.noUser > 0 {
		s.t.Errorf("tier 1 (split): %d records reached Kafka without user.name: a part of a refused batch was sent as the pipeline left it", scan.noUser)
	}
	if scan.largest > kafkaDefaultMaxMessageBytes {
		s.t.Errorf("tier 1 (split): a message of %d bytes passed the producer's limit %d", scan.largest, kafkaDefaultMaxMessageBytes)
	}
	s.t.Logf("tier 1 with Kafka's default message size: %d records and %d malformed line read; %d distinct records reached Kafka "+
		"(%d log records, %d of them again: parts of refused batches that had reached it), %d dropped and counted (the %d-byte line), "+
		"%d batches split without loss, in %.1fs; largest message %d bytes",
		len(s.ids), s.parseErrors, len(scan.partitionOf), scan.records, scan.repeats, n, malformedLineBytes, len(split),
		elapsed.Seconds(), scan.largest)
}

// logLines returns the lines of a collector's log that contain text.
func logLines(t *testing.T, path, text string) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, line := range strings.Split(string(data), "\n") {
		if strings.Contains(line, text) {
			out = append(out, line)
		}
	}
	return out
}

// scanTopic consumes the whole topic without a group until want distinct
// records (parse errors included) have been read.
func (s *scaleOut) scanTopic(topic string, want int, col *collector) *topicScan {
	s.t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(s.broker), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(200*time.Millisecond))
	if err != nil {
		s.t.Fatal(err)
	}
	defer cl.Close()
	scan := &topicScan{partitionOf: map[string]int32{}, timeOf: map[string]time.Time{}, tier1: taggedRecords{}, messages: map[int32][]topicMessage{}}
	var unmarshal plog.ProtoUnmarshaler
	var problems []string
	problem := func(format string, args ...any) {
		if len(problems) < 10 {
			problems = append(problems, fmt.Sprintf(format, args...))
		}
	}
	usersByPartition := map[string]map[int32]bool{}
	progress := func() int {
		ctx, cancel := context.WithTimeout(s.ctx, 500*time.Millisecond)
		defer cancel()
		fetches := cl.PollFetches(ctx)
		fetches.EachRecord(func(r *kgo.Record) {
			if scan.first.IsZero() || r.Timestamp.Before(scan.first) {
				scan.first = r.Timestamp
			}
			if r.Timestamp.After(scan.last) {
				scan.last = r.Timestamp
			}
			scan.bytes += len(r.Value)
			scan.largest = max(scan.largest, len(r.Value))
			scan.raw = append(scan.raw, &kgo.Record{Key: r.Key, Value: r.Value, Partition: r.Partition})
			ld, err := unmarshal.UnmarshalLogs(r.Value)
			if err != nil {
				problem("partition %d offset %d: not otlp_proto: %v", r.Partition, r.Offset, err)
				return
			}
			if n := ld.ResourceLogs().Len(); n != 1 {
				problem("partition %d offset %d: %d resources in one message; the key hashes one", r.Partition, r.Offset, n)
			}
			msg := topicMessage{offset: r.Offset}
			for _, rl := range ld.ResourceLogs().All() {
				res := rl.Resource().Attributes()
				for k := range res.All() {
					if k != "user.name" {
						problem("partition %d offset %d: resource attribute %q; only the user may decide the partition", r.Partition, r.Offset, k)
					}
				}
				user := str(res, "user.name")
				if usersByPartition[user] == nil {
					usersByPartition[user] = map[int32]bool{}
				}
				usersByPartition[user][r.Partition] = true
				for _, sl := range rl.ScopeLogs().All() {
					for _, lr := range sl.LogRecords().All() {
						attrs := lr.Attributes()
						id := str(attrs, "audit.record.id")
						if _, ok := attrs.Get("user.name"); ok {
							problem("record %s: user.name left on the record", id)
						}
						if str(attrs, "log.file.name") == "" {
							problem("record %s: log.file.name lost; only user.name moves to the resource", id)
						}
						scan.records++
						if id == "" && str(attrs, "audit.parse_error") != "" {
							scan.parseErrors++
							msg.parseErrors++
							continue
						}
						if _, ok := scan.partitionOf[id]; ok {
							scan.repeats++
						}
						scan.partitionOf[id] = r.Partition
						if user == "" {
							scan.noUser++
						}
						scan.timeOf[id] = lr.Timestamp().AsTime()
						msg.latest = laterOf(msg.latest, scan.timeOf[id])
						msg.ids = append(msg.ids, id)
						if rules := stringSlice(attrs, "detection.rules"); len(rules) > 0 {
							scan.tier1[id] = sorted(rules)
						}
					}
				}
			}
			scan.messages[r.Partition] = append(scan.messages[r.Partition], msg)
		})
		return len(scan.partitionOf) + scan.parseErrors
	}
	s.waitFor("tier 1 into "+topic, want, progress, col)
	for _, p := range problems {
		s.t.Error(p)
	}
	for user, parts := range usersByPartition {
		if len(parts) > 1 {
			s.t.Errorf("user %s is spread over partitions %v; one partition per user is the point", user, slices.Sorted(maps.Keys(parts)))
		}
	}
	s.t.Logf("topic %s: %d records (%.0f bytes each in otlp_proto) in %d messages, %d users over %d partitions; %d records without user.name",
		topic, scan.records, float64(scan.bytes)/float64(max(scan.records, 1)), countMessages(scan), len(usersByPartition), len(scan.messages), scan.noUser)
	return scan
}

func countMessages(scan *topicScan) int {
	n := 0
	for _, msgs := range scan.messages {
		n += len(msgs)
	}
	return n
}

// sprayRules are the password-spray detector's: what tier 1 tags.
var sprayRules = []string{loadgen.RulePasswordSpray, loadgen.RuleSprayAttempt}

// checkTopic: every record is in the topic once, and tier 1 tagged exactly
// the password-spray successes and attempts the single collector found.
func (s *scaleOut) checkTopic(scan *topicScan, ref taggedRecords) {
	s.t.Helper()
	if scan.records != len(s.ids)+s.parseErrors || len(scan.partitionOf) != len(s.ids) || scan.parseErrors != s.parseErrors {
		s.t.Errorf("the topic holds %d records (%d distinct, %d parse errors); the files %d and %d malformed",
			scan.records, len(scan.partitionOf), scan.parseErrors, len(s.ids), s.parseErrors)
	}
	sprays := 0
	for id, rules := range ref {
		var want []string
		for _, r := range rules {
			if slices.Contains(sprayRules, r) {
				want = append(want, r)
			}
		}
		if len(want) > 0 {
			sprays++
			if !slices.Equal(scan.tier1[id], want) {
				s.t.Errorf("record %s: the single collector found %v; tier 1 tagged %v", id, want, scan.tier1[id])
			}
		}
	}
	for id, rules := range scan.tier1 {
		if !slices.ContainsFunc(ref[id], func(r string) bool { return slices.Contains(sprayRules, r) }) {
			s.t.Errorf("record %s: tier 1 tagged %v, the single collector found no spray there", id, rules)
		}
	}
	if sprays == 0 {
		s.t.Error("the tenant has no password spray: the tier-1 design is not exercised")
	}
	s.t.Logf("tier 1 tagged %d records of password sprays (successes and attempts) in Kafka, as the single collector did", len(scan.tier1))
}

// replicaRun is one consumer group of tier-2 replicas, each exporting to
// its own sink.
type replicaRun struct {
	name    string
	seen    *recordIDSet // shared by the sinks
	sinks   []*otlpSink
	cols    []*collector
	cpu     []float64 // CPU seconds of each replica, read before it stopped
	peakRSS []int64   // KiB, likewise
	// testCPU is what this test process (broker, sinks) used meanwhile:
	// the same two cores.
	testCPU  float64
	killedAt time.Time // zero: nobody was killed
	// The partitions the broker had assigned to each replica (by
	// group_instance_id) right before the kill and once all was delivered.
	beforeKill, atEnd map[string][]int32
	// promPorts are the replicas' Prometheus endpoints; heldBack sums
	// their otelcol_email_compromise_warmup_suppressed by rule: the live
	// replicas' at the end, the killed replica's right before the kill. A
	// detection the killed replica held back, waiting for a user's older
	// records (an export read newest first), dies with it: the survivor
	// resumes after the held record and never sees it.
	promPorts []int
	heldBack  map[string]float64
}

// replicas runs n tier-2 replicas in a new consumer group on a topic of
// their own, which receives a copy of tier 1's messages (same keys, same
// partitions, same order) only once every replica holds its partitions:
// a replica joining while the others already read would move partitions,
// and users, in mid-stream (the take-over the kill run tests on purpose).
// With killAt > 0, replica 0 gets SIGKILL once that share of the records
// has been delivered. warmup, when not empty, replaces the shipped
// state.warmup.
func (s *scaleOut) replicas(group string, n int, scan *topicScan, killAt float64, warmup string) *replicaRun {
	s.t.Helper()
	session := time.Duration(0)
	if killAt > 0 {
		session = scaleSession
	}
	run := s.startReplicas(group, n, scaleTopic+"."+group, session, warmup)
	// A member appears in the assignments only once it holds partitions.
	s.waitFor(run.name+" joining", 1, func() int {
		state, a := s.group(group)
		held := 0
		for _, parts := range a {
			held += len(parts)
		}
		if state != "Stable" || len(a) != n || held != scalePartitions {
			return 0
		}
		return 1
	}, run.cols...)
	s.replay(scan, scaleTopic+"."+group)
	if killAt > 0 {
		victim := run.cols[0]
		s.waitFor(run.name+" before the kill", int(killAt*float64(len(s.ids))), run.distinct, run.cols...)
		run.beforeKill = s.assignments(group)
		run.cpu[0], run.peakRSS[0] = processCPUSeconds(victim.cmd.Process.Pid), hwmKiB(s.t, victim.cmd.Process.Pid)
		run.heldBack = metricByRule(run.promPorts[0], "otelcol_email_compromise_warmup_suppressed")
		if err := victim.cmd.Process.Signal(syscall.SIGKILL); err != nil {
			s.t.Fatal(err)
		}
		<-victim.exited
		run.killedAt = time.Now()
		s.t.Logf("%s: replica 0 killed with SIGKILL after %d of %d records", run.name, run.distinct(), len(s.ids))
	}
	s.finishReplicas(run, len(s.ids)+s.parseErrors)
	if killAt > 0 {
		run.atEnd = s.assignments(group)
	}
	run.stop(s.t)
	return run
}

// startReplicas starts n tier-2 replicas of the shipped config in group,
// reading topic; session 0 keeps the shipped session timeout, warmup ""
// the shipped state.warmup.
func (s *scaleOut) startReplicas(group string, n int, topic string, session time.Duration, warmup string) *replicaRun {
	s.t.Helper()
	name := fmt.Sprintf("%s (%d replicas)", group, n)
	if warmup != "" {
		name = fmt.Sprintf("%s (%d replicas, warm-up %s)", group, n, warmup)
	}
	run := &replicaRun{name: name, seen: newRecordIDSet(),
		cpu: make([]float64, n), peakRSS: make([]int64, n), testCPU: -processCPUSeconds(os.Getpid())}
	for i := 0; i < n; i++ {
		sink := startSink(s.t, sinkKeeps{ids: true, tagged: true, distinct: run.seen})
		cfg := s.deployConfig("tier2.yaml")
		if warmup != "" {
			s.at(cfg, "processors", "email_compromise", "state")["warmup"] = warmup
		}
		receiver := s.at(cfg, "receivers", "kafka/by_user")
		receiver["brokers"] = []string{s.broker}
		receiver["group_id"] = group
		receiver["group_instance_id"] = fmt.Sprintf("%s-%d", group, i)
		s.at(receiver, "logs")["topics"] = []string{topic}
		if session > 0 {
			receiver["session_timeout"] = session.String()
			receiver["heartbeat_interval"] = (session / 5).String()
		}
		toSink(s.at(cfg, "exporters", "otlp_grpc/siem"), "otlp_grpc", sink)
		dir := filepath.Join(s.work, group, strconv.Itoa(i))
		promPort := freePort(s.t)
		s.finish(cfg, "email_compromise", "file_storage/replica", dir, promPort)
		run.promPorts = append(run.promPorts, promPort)
		run.sinks = append(run.sinks, sink)
		run.cols = append(run.cols, s.start(cfg, dir))
	}
	return run
}

// finishReplicas waits until want records arrived, listens a little longer
// for repeats, and notes what the live replicas used.
func (s *scaleOut) finishReplicas(run *replicaRun, want int) {
	s.t.Helper()
	var alive []*collector
	for i, c := range run.cols {
		if i > 0 || run.killedAt.IsZero() {
			alive = append(alive, c)
		}
	}
	s.waitFor(run.name, want, run.arrived, alive...)
	time.Sleep(quietPeriod) // repeats would arrive now
	if run.heldBack == nil {
		run.heldBack = map[string]float64{}
	}
	for i, c := range run.cols {
		if i > 0 || run.killedAt.IsZero() {
			run.cpu[i], run.peakRSS[i] = processCPUSeconds(c.cmd.Process.Pid), hwmKiB(s.t, c.cmd.Process.Pid)
			for rule, v := range metricByRule(run.promPorts[i], "otelcol_email_compromise_warmup_suppressed") {
				run.heldBack[rule] += v
			}
		}
	}
	run.testCPU += processCPUSeconds(os.Getpid())
	s.t.Logf("%s: %d records delivered, %.0f records/s; CPU seconds %.1f (the test process with the broker and the sinks %.1f), peak RSS MiB %v",
		run.name, run.distinct(), run.rate(), run.cpu, run.testCPU, kibToMiB(run.peakRSS))
}

// replay produces tier 1's messages again into topic, each into the
// partition it had.
func (s *scaleOut) replay(scan *topicScan, topic string) {
	s.t.Helper()
	// The shipped producer's message size: tier 1's largest messages are
	// above franz-go's default.
	maxMessage, ok := s.at(s.deployConfig("tier1.yaml"), "exporters", "kafka/by_user", "producer")["max_message_bytes"].(int)
	if !ok {
		s.t.Fatal("tier1.yaml sets no producer.max_message_bytes")
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(s.broker), kgo.DefaultProduceTopic(topic),
		kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.ProducerLinger(5*time.Millisecond),
		kgo.ProducerBatchMaxBytes(int32(maxMessage)))
	if err != nil {
		s.t.Fatal(err)
	}
	defer cl.Close()
	records := make([]*kgo.Record, len(scan.raw))
	for i, r := range scan.raw {
		records[i] = &kgo.Record{Key: r.Key, Value: r.Value, Partition: r.Partition}
	}
	if err := cl.ProduceSync(s.ctx, records...).FirstErr(); err != nil {
		s.t.Fatal(err)
	}
}

func (run *replicaRun) stop(t *testing.T) {
	t.Helper()
	for i, c := range run.cols {
		if i == 0 && !run.killedAt.IsZero() {
			continue
		}
		if code := c.stop(t); code != 0 {
			t.Errorf("%s: replica %d exited with %d\n%s", run.name, i, code, c.logTail())
		}
	}
}

// distinct counts the record ids delivered by any replica.
func (run *replicaRun) distinct() int { return run.seen.len() }

// arrived counts the distinct records and the parse errors delivered.
func (run *replicaRun) arrived() int {
	n := run.distinct()
	for _, s := range run.sinks {
		n += s.parseErrorCount()
	}
	return n
}

// evidence merges the replicas' detection.evidence by record.
func (run *replicaRun) evidence() taggedRecords {
	out := taggedRecords{}
	for _, s := range run.sinks {
		for id, ev := range s.evidenceOf() {
			out[id] = sorted(unionOf(out[id], ev))
		}
	}
	return out
}

// detections merges the replicas' tags: a record delivered twice (after
// the kill) counts with every rule either copy carried.
func (run *replicaRun) detections() taggedRecords {
	out := taggedRecords{}
	for _, s := range run.sinks {
		for id, rules := range s.detections() {
			out[id] = sorted(unionOf(out[id], rules))
		}
	}
	return out
}

func (run *replicaRun) missingAndRepeated(ids []string) (missing []string, repeated map[string]int) {
	deliveries := map[string]int{}
	for _, s := range run.sinks {
		for id, n := range s.deliveries() {
			deliveries[id] += n
		}
	}
	repeated = map[string]int{}
	for _, id := range ids {
		switch n := deliveries[id]; {
		case n == 0:
			missing = append(missing, id)
		case n > 1:
			repeated[id] = n - 1
		}
	}
	return missing, repeated
}

func (run *replicaRun) rate() float64 {
	var first, last time.Time
	records := 0
	for _, s := range run.sinks {
		f, l := s.arrival()
		if !f.IsZero() && (first.IsZero() || f.Before(first)) {
			first = f
		}
		last = laterOf(last, l)
		records += s.count()
	}
	return recordsPerSecond(records, first, last)
}

// perCPUSecond is the records each replica handled per second of CPU it
// used: what one replica can do when it has a core to itself.
func (run *replicaRun) perCPUSecond() float64 {
	records, cpu := 0, 0.0
	for i, s := range run.sinks {
		records += s.count()
		cpu += run.cpu[i]
	}
	return recordsPerCPUSecond(records, cpu)
}

func recordsPerCPUSecond(records int, cpu float64) float64 {
	if cpu <= 0 {
		return 0
	}
	return float64(records) / cpu
}

// checkEqual compares a run's detections with the single collector's by
// identity: on every record, the same rules (detection.rules) and the same
// evidence (detection.evidence, audit.record.id of the records each
// detection rests on). Tier 2 keeps tier 1's tags (password spray) and adds
// its own, so every record must carry exactly the single collector's.
func (s *scaleOut) checkEqual(name string, ref *referenceRun, run *replicaRun) {
	s.t.Helper()
	got := run.detections()
	diffs := compareDetections(ref.detections, got)
	for _, d := range compareDetections(ref.evidence, run.evidence()) {
		diffs = append(diffs, "evidence of "+d)
	}
	for _, d := range diffs {
		s.t.Errorf("%s: %s", name, d)
	}
	s.t.Logf("%s: %d tagged records, the single collector %d; %d differences; warm-up held back %v",
		name, len(got), len(ref.detections), len(diffs), run.heldBack)
}

// compareDetections lists, record by record, where got differs from ref.
func compareDetections(ref, got taggedRecords) (diffs []string) {
	for _, id := range slices.Sorted(slices.Values(unionOf(slices.Collect(maps.Keys(ref)), slices.Collect(maps.Keys(got))))) {
		if r, g := ref[id], got[id]; !slices.Equal(r, g) {
			diffs = append(diffs, fmt.Sprintf("record %s: %v, the single collector %v", id, g, r))
		}
	}
	return diffs
}

// checkTakeOver: after the kill the survivor holds every partition,
// nothing is lost, only the killed replica's partitions repeat, and the
// detections are those of the single collector, but for what the
// survivor's warm-up holds back (checkTakenOverDetections).
func (s *scaleOut) checkTakeOver(run *replicaRun, refRun *referenceRun, scan *topicScan) {
	s.t.Helper()
	deadID, survivorID := "kill-0", "kill-1"
	lost := run.beforeKill[deadID]
	if len(lost) == 0 || len(run.beforeKill[survivorID]) == 0 {
		s.t.Fatalf("%s: before the kill the broker assigned %v; both replicas must hold partitions", run.name, run.beforeKill)
	}
	if got := run.atEnd[survivorID]; len(got) != scalePartitions || len(run.atEnd) != 1 {
		s.t.Errorf("%s: after the kill the broker assigned %v; the survivor must hold all %d partitions", run.name, run.atEnd, scalePartitions)
	}
	// How far the killed replica had read its partitions, in event time,
	// and where the survivor resumed them (its first record of each).
	var killedAt, resumedAt time.Time
	for id := range run.sinks[0].deliveries() {
		if slices.Contains(lost, scan.partitionOf[id]) {
			killedAt = laterOf(killedAt, scan.timeOf[id])
		}
	}
	var takeOver time.Duration
	for id, at := range run.sinks[1].firstArrivals() {
		if slices.Contains(lost, scan.partitionOf[id]) && at.After(run.killedAt) {
			if d := at.Sub(run.killedAt); takeOver == 0 || d < takeOver {
				takeOver = d
			}
			if t := scan.timeOf[id]; resumedAt.IsZero() || t.Before(resumedAt) {
				resumedAt = t
			}
		}
	}
	if takeOver == 0 {
		s.t.Errorf("%s: the survivor delivered no record of the partitions %v it took over", run.name, lost)
	}
	// The data arrived after the group was stable, so the kill is the only
	// cause of repeats: what the killed replica had read of its partitions
	// after its last commit.
	missing, repeated := run.missingAndRepeated(s.ids)
	total := 0
	var foreign []string
	for id, n := range repeated {
		total += n
		if !slices.Contains(lost, scan.partitionOf[id]) {
			foreign = append(foreign, id)
		}
	}
	if len(missing) > 0 {
		s.t.Errorf("%s: %d records lost, e.g. %v", run.name, len(missing), missing[:min(5, len(missing))])
	}
	if len(foreign) > 0 {
		s.t.Errorf("%s: %d records repeated from partitions the killed replica did not hold, e.g. %v", run.name, len(foreign), foreign[:min(5, len(foreign))])
	}
	s.checkTakenOverDetections(run, refRun, lost, scan)
	ref, got := refRun.detections, run.detections()
	tagged, same := 0, 0
	for id, rules := range ref {
		if slices.Contains(lost, scan.partitionOf[id]) {
			tagged++
			if slices.Equal(got[id], rules) {
				same++
			}
		}
	}
	s.t.Logf("%s: kill -9 of the replica holding partitions %v, which had read them up to event time %s: %d records lost, "+
		"%d repeated (%d records, all from those partitions); the survivor delivered its first record of them %.1fs after the kill "+
		"(session timeout %s), resuming at event time %s; %d of %d tagged records of the users it took over tagged as by the single collector",
		run.name, lost, killedAt.Format(time.DateTime), len(missing), total, len(repeated), takeOver.Seconds(), scaleSession,
		resumedAt.Format(time.DateTime), same, tagged)
	if tagged == 0 {
		s.t.Errorf("%s: no detection fell on the users the survivor took over: the take-over is not tested", run.name)
	}
}

// checkTakenOverDetections compares the kill run with the single collector
// as checkEqual does, except on the records of the partitions the survivor
// took over: there a detection that needs history may be missing, when the
// user's earlier records had been read (and committed) by the killed
// replica, so that the survivor's state of the user is younger than the
// warm-up; every such miss must be counted in the replicas'
// otelcol_email_compromise_warmup_suppressed (but for learningRules, which
// wait for their learning period too), and nothing else may differ (no
// other rule missing, no rule or evidence the single collector did not
// find).
func (s *scaleOut) checkTakenOverDetections(run *replicaRun, refRun *referenceRun, lost []int32, scan *topicScan) {
	s.t.Helper()
	got, gotEvidence := run.detections(), run.evidence()
	heldBack := map[string]int{}
	var diffs []string
	for _, id := range slices.Sorted(slices.Values(unionOf(slices.Collect(maps.Keys(refRun.detections)), slices.Collect(maps.Keys(got))))) {
		ref, g := refRun.detections[id], got[id]
		takenOver := slices.Contains(lost, scan.partitionOf[id])
		missing := slices.DeleteFunc(slices.Clone(ref), func(rule string) bool { return slices.Contains(g, rule) })
		extra := slices.DeleteFunc(slices.Clone(g), func(rule string) bool { return slices.Contains(ref, rule) })
		warmupOnly := takenOver && len(extra) == 0 && !slices.ContainsFunc(missing, func(rule string) bool { return !slices.Contains(historyRules, rule) })
		switch {
		case len(missing) == 0 && len(extra) == 0:
			if !slices.Equal(refRun.evidence[id], gotEvidence[id]) {
				diffs = append(diffs, fmt.Sprintf("evidence of record %s: %v, the single collector %v", id, gotEvidence[id], refRun.evidence[id]))
			}
		case warmupOnly:
			for _, rule := range missing {
				heldBack[rule]++
			}
			if extraEvidence := slices.DeleteFunc(slices.Clone(gotEvidence[id]), func(e string) bool { return slices.Contains(refRun.evidence[id], e) }); len(extraEvidence) > 0 {
				diffs = append(diffs, fmt.Sprintf("evidence of record %s: %v beyond the single collector's %v", id, extraEvidence, refRun.evidence[id]))
			}
		default:
			diffs = append(diffs, fmt.Sprintf("record %s: %v, the single collector %v", id, g, ref))
		}
	}
	for rule, n := range heldBack {
		if counted := run.heldBack[rule]; float64(n) > counted && !slices.Contains(learningRules, rule) {
			diffs = append(diffs, fmt.Sprintf("%d detections of %s missing on taken-over users, but the replicas' warm-up held back only %.0f", n, rule, counted))
		}
	}
	for _, d := range diffs {
		s.t.Errorf("%s: %s", run.name, d)
	}
	s.t.Logf("%s: %d tagged records, the single collector %d; %d differences; on the users taken over, the warm-up held back %v (counted: %v)",
		run.name, len(got), len(refRun.detections), len(diffs), heldBack, run.heldBack)
}

// assignments asks the broker which partitions each member of a consumer
// group holds, by group_instance_id.
func (s *scaleOut) assignments(group string) map[string][]int32 {
	s.t.Helper()
	_, a := s.group(group)
	return a
}

// group describes a consumer group: its state and, by group_instance_id,
// the partitions of each member.
func (s *scaleOut) group(group string) (string, map[string][]int32) {
	s.t.Helper()
	req := kmsg.NewPtrDescribeGroupsRequest()
	req.Groups = []string{group}
	resp, err := req.RequestWith(s.ctx, s.admin)
	if err != nil {
		s.t.Fatal(err)
	}
	out, state := map[string][]int32{}, ""
	for _, g := range resp.Groups {
		state = g.State
		for _, m := range g.Members {
			var a kmsg.ConsumerMemberAssignment
			if len(m.MemberAssignment) == 0 {
				continue // joined, not yet assigned (mid-rebalance)
			}
			if err := a.ReadFrom(m.MemberAssignment); err != nil {
				s.t.Fatalf("group %s member %s: %v", group, m.MemberID, err)
			}
			name := m.MemberID
			if m.InstanceID != nil {
				name = *m.InstanceID
			}
			for _, t := range a.Topics {
				out[name] = append(out[name], t.Partitions...)
			}
			if len(out[name]) == 0 {
				delete(out, name)
				continue
			}
			slices.Sort(out[name])
		}
	}
	return state, out
}

// checkWarmup takes users over right before their attacks: a new group
// whose offsets start at the last day (as if the replica that had them
// died then). History-dependent detections must be held back and counted,
// the others reported, nothing invented.
func (s *scaleOut) checkWarmup(g *loadgen.Generator, ref taggedRecords, scan *topicScan) {
	s.t.Helper()
	cutoff := g.Config().Start.AddDate(0, 0, g.Config().Days-1)
	offsets := map[int32]int64{}
	var window []string
	windowParseErrors := 0
	for p, msgs := range scan.messages {
		// After the last message that ends before the cutoff: a partition
		// can begin with an export listing newest first, whose first
		// messages are of the last day.
		i := len(msgs)
		for i > 0 && (msgs[i-1].latest.IsZero() || !msgs[i-1].latest.Before(cutoff)) {
			i--
		}
		if i == len(msgs) {
			offsets[p] = msgs[len(msgs)-1].offset + 1
		} else {
			offsets[p] = msgs[i].offset
		}
		for _, m := range msgs[i:] {
			window = append(window, m.ids...)
			windowParseErrors += m.parseErrors
		}
	}
	const group = "warmup"
	s.commitOffsets(group, offsets)
	run := s.startReplicas(group, 1, scaleTopic, 0, "")
	s.finishReplicas(run, len(window)+windowParseErrors)
	suppressed := run.heldBack
	run.stop(s.t)
	got := run.detections()
	// A message read first may start up to a tier-1 batch (minutes) before
	// the cutoff: a user's warm-up surely lasts until cutoff + 23h.
	warm := cutoff.Add(23 * time.Hour)
	reported, heldBack := 0, 0
	for _, id := range window {
		r, w := ref[id], got[id]
		for _, rule := range w {
			if !slices.Contains(r, rule) {
				s.t.Errorf("warm-up: record %s tagged %s, which the single collector did not find", id, rule)
			}
			if slices.Contains(historyRules, rule) && scan.timeOf[id].Before(warm) {
				s.t.Errorf("warm-up: record %s tagged %s within the warm-up after the take-over; it needs history", id, rule)
			}
		}
		for _, rule := range r {
			switch {
			case slices.Contains(historyRules, rule):
				heldBack++
			case slices.Contains(w, rule):
				reported++
			default:
				s.t.Errorf("warm-up: record %s lost %s, which needs no history (got %v)", id, rule, w)
			}
		}
	}
	var total float64
	for rule, n := range suppressed {
		total += n
		if !slices.Contains(historyRules, rule) {
			s.t.Errorf("warm-up: %s held back, but it needs no history", rule)
		}
	}
	if total == 0 {
		s.t.Error("warm-up: otelcol_email_compromise_warmup_suppressed stayed 0 though attacks came right after the take-over")
	}
	s.t.Logf("take-over at the start of the last day (%d records from there): %d detections needing no history reported, "+
		"%d history-dependent ones of the single collector not reported; otelcol_email_compromise_warmup_suppressed %v",
		len(window), reported, heldBack, suppressed)
}

// commitOffsets gives a new consumer group its starting offsets, as a
// simple (group-less) commit.
func (s *scaleOut) commitOffsets(group string, offsets map[int32]int64) {
	s.t.Helper()
	req := kmsg.NewPtrOffsetCommitRequest()
	req.Group, req.Generation = group, -1
	topic := kmsg.NewOffsetCommitRequestTopic()
	topic.Topic = scaleTopic
	for p, o := range offsets {
		part := kmsg.NewOffsetCommitRequestTopicPartition()
		part.Partition, part.Offset, part.LeaderEpoch = p, o, -1
		topic.Partitions = append(topic.Partitions, part)
	}
	req.Topics = append(req.Topics, topic)
	resp, err := req.RequestWith(s.ctx, s.admin)
	if err != nil {
		s.t.Fatal(err)
	}
	for _, t := range resp.Topics {
		for _, p := range t.Partitions {
			if p.ErrorCode != 0 {
				s.t.Fatalf("committing offset of partition %d: error code %d", p.Partition, p.ErrorCode)
			}
		}
	}
}

func laterOf(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// unionOf returns the distinct elements of a and b (a's order first).
func unionOf(a, b []string) []string {
	out := slices.Clone(a)
	for _, v := range b {
		if !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}

func kibToMiB(kib []int64) []int64 {
	out := make([]int64, len(kib))
	for i, k := range kib {
		out[i] = k / 1024
	}
	return out
}

// processCPUSeconds reads the user and system CPU time of a running process.
func processCPUSeconds(pid int) float64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// The command name (field 2) may hold spaces; fields after it are plain.
	fields := strings.Fields(string(data[strings.LastIndexByte(string(data), ')')+1:]))
	if len(fields) < 13 {
		return 0
	}
	utime, _ := strconv.ParseFloat(fields[11], 64)
	stime, _ := strconv.ParseFloat(fields[12], 64)
	return (utime + stime) / 100 // USER_HZ is 100 on Linux
}

// metricByRule reads a counter of the collector's Prometheus endpoint per
// value of its rule label.
func metricByRule(port int, name string) map[string]float64 {
	out := map[string]float64{}
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/metrics", port))
	if err != nil {
		return out
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, name+"_total{") && !strings.HasPrefix(line, name+"{") {
			continue
		}
		_, labels, _ := strings.Cut(line, "{")
		labels, value, _ := strings.Cut(labels, "} ")
		rule := ""
		for _, l := range strings.Split(labels, ",") {
			if k, v, ok := strings.Cut(l, "="); ok && k == "rule" {
				rule = strings.Trim(v, `"`)
			}
		}
		if v, err := strconv.ParseFloat(strings.Fields(value)[0], 64); err == nil {
			out[rule] += v
		}
	}
	return out
}
