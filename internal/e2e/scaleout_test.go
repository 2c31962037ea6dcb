package e2e

// The scale-out deployment of deploy/scaleout (README "Scale-out") with the
// built distribution: tier 1 and tier-2 replicas as subprocesses around an
// in-process Kafka broker (kfake), compared with one collector on the same
// files.

import (
	"bufio"
	"context"
	"fmt"
	"maps"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/kversion"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.yaml.in/yaml/v3"
	"google.golang.org/grpc"

	"github.com/otelsec/emailcompromise/internal/corpus"
	"github.com/otelsec/emailcompromise/internal/loadgen"
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
	cfg := loadgen.Config{Seed: 41, Users: users, Days: 4}
	g, ids := tenantFiles(t, filepath.Join(work, "logs"), cfg)
	s := &scaleOut{t: t, ctx: ctx, binary: binary, root: root, work: work, policy: g.Policy(), ids: ids,
		logsGlob: filepath.Join(work, "logs", "*.jsonl"), broker: startKafka(t)}
	admin, err := kgo.NewClient(kgo.SeedBrokers(s.broker), kgo.MaxVersions(kversion.V3_9_0()))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	s.admin = admin
	t.Logf("tenant: %d people, %d days, %d records; broker %s, topic %s with %d partitions",
		users, cfg.Days, len(ids), s.broker, scaleTopic, scalePartitions)

	ref := s.reference()
	s.checkReferenceCoversAttacks(g, ref.detections)
	topic := s.tier1()
	s.checkTopic(topic, ref.detections)

	one := s.replicas("one", 1, topic, 0)
	two := s.replicas("two", 2, topic, 0)
	for _, run := range []*replicaRun{one, two} {
		s.checkEqual(run.name, ref.detections, run.detections())
		if missing, repeated := run.missingAndRepeated(ids); len(missing) > 0 || len(repeated) > 0 {
			t.Errorf("%s: %d records lost, %d repeated, without any failure", run.name, len(missing), len(repeated))
		}
	}
	s.checkTakeOver(s.replicas("kill", 2, topic, scaleKillAt), ref.detections, topic)
	s.checkWarmup(g, ref.detections, topic)

	t.Logf("throughput on %d cores shared with the broker, the sinks and the test (records/s from the first record to the last; "+
		"records per CPU-second of the collector process): one collector on the files %.0f (%.0f); tier 1 into Kafka %.0f (%.0f); "+
		"tier 2 with 1 replica %.0f (%.0f); with 2 replicas %.0f (%.0f each)",
		runtime.NumCPU(), ref.rate(), ref.perCPUSecond(), topic.rate(), topic.perCPUSecond(),
		one.rate(), one.perCPUSecond(), two.rate(), two.perCPUSecond())
}

// scaleOut holds what the phases of the test share.
type scaleOut struct {
	t        *testing.T
	ctx      context.Context
	binary   string
	root     string
	work     string
	policy   loadgen.Policy
	ids      []string
	logsGlob string
	broker   string
	// admin describes groups and commits offsets. OffsetCommit v10 names
	// topics by id; capping the versions keeps names.
	admin *kgo.Client
}

// scaleRuns are the consumer groups whose replicas read a copy of tier 1's
// topic (see replay).
var scaleRuns = []string{"one", "two", "kill"}

// startKafka starts an in-process Kafka-protocol broker on 127.0.0.1 with
// the topics created; a session timeout as short as scaleSession is allowed.
func startKafka(t *testing.T) string {
	t.Helper()
	topics := []string{scaleTopic}
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
	s.at(cfg, "extensions", storage)["directory"] = filepath.Join(dir, "state")
	metrics := map[string]any{"level": "none"}
	if promPort != 0 {
		metrics = map[string]any{"level": "normal", "readers": []any{map[string]any{"pull": map[string]any{"exporter": map[string]any{
			"prometheus": map[string]any{"host": "127.0.0.1", "port": promPort, "without_scope_info": true}}}}}}
	}
	s.at(cfg, "service")["telemetry"] = map[string]any{"metrics": metrics, "logs": map[string]any{"level": "info"}}
}

func (s *scaleOut) start(cfg map[string]any, dir string) *collector {
	s.t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		s.t.Fatal(err)
	}
	text, err := yaml.Marshal(cfg)
	if err != nil {
		s.t.Fatal(err)
	}
	path := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(path, text, 0o644); err != nil {
		s.t.Fatal(err)
	}
	return startCollector(s.t, s.binary, path, filepath.Join(dir, "collector.log"))
}

// sinkExporter points an OTLP/gRPC exporter at a test sink.
func sinkExporter(exp map[string]any, addr string) {
	exp["endpoint"] = addr
	exp["tls"] = map[string]any{"insecure": true}
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

// referenceRun is one collector with every detector on the files.
type referenceRun struct {
	sink       *detectionSink
	detections taggedRecords
	cpu        float64 // CPU seconds
}

func (r *referenceRun) rate() float64         { return r.sink.rate() }
func (r *referenceRun) perCPUSecond() float64 { return recordsPerCPUSecond(r.sink.seen.len(), r.cpu) }

// reference runs a single collector: tier 1's receiver settings, tier 2's
// processor settings with password spray on (one process sees every
// record), straight to a sink. This is what the deployment must equal.
func (s *scaleOut) reference() *referenceRun {
	s.t.Helper()
	tier1, tier2 := s.deployConfig("tier1.yaml"), s.deployConfig("tier2.yaml")
	receiver := s.at(tier1, "receivers", "audit_log")
	s.filesAt(receiver)
	receiver["storage"] = "file_storage/ref"
	processor := s.at(tier2, "processors", "email_compromise")
	delete(s.at(processor, "detectors"), "password_spray")
	processor["storage"] = "file_storage/ref"
	sink := startDetectionSink(s.t, &recordIDSet{ids: map[string]bool{}})
	cfg := map[string]any{
		"extensions": map[string]any{"file_storage/ref": map[string]any{"create_directory": true}},
		"receivers":  map[string]any{"audit_log": receiver},
		"processors": map[string]any{"email_compromise": processor},
		"exporters":  map[string]any{"otlp_grpc": map[string]any{"sending_queue": map[string]any{"enabled": false}}},
		"service": map[string]any{"extensions": []string{"file_storage/ref"}, "pipelines": map[string]any{"logs": map[string]any{
			"receivers": []string{"audit_log"}, "processors": []string{"email_compromise"}, "exporters": []string{"otlp_grpc"}}}},
	}
	sinkExporter(s.at(cfg, "exporters", "otlp_grpc"), sink.addr)
	dir := filepath.Join(s.work, "reference")
	s.finish(cfg, "email_compromise", "file_storage/ref", dir, 0)
	col := s.start(cfg, dir)
	s.waitFor("reference", len(s.ids), sink.seen.len, col)
	cpu := processCPUSeconds(col.cmd.Process.Pid)
	if code := col.stop(s.t); code != 0 {
		s.t.Errorf("reference collector exited with %d\n%s", code, col.logTail())
	}
	d := sink.detections()
	s.t.Logf("reference (one collector, every detector): %d records, %d tagged, %.0f records/s; CPU seconds %.1f", sink.seen.len(), len(d), sink.rate(), cpu)
	return &referenceRun{sink: sink, detections: d, cpu: cpu}
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
	records     int
	bytes       int // message values (otlp_proto, lz4 is undone by the client)
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
}

func (ts *topicScan) rate() float64         { return recordsPerSecond(ts.records, ts.first, ts.last) }
func (ts *topicScan) perCPUSecond() float64 { return recordsPerCPUSecond(ts.records, ts.cpu) }

// tier1 runs tier 1 on the files until the topic holds every record, and
// reads the topic back as tier 2 will.
func (s *scaleOut) tier1() *topicScan {
	s.t.Helper()
	cfg := s.deployConfig("tier1.yaml")
	s.filesAt(s.at(cfg, "receivers", "audit_log"))
	s.at(cfg, "exporters", "kafka/by_user")["brokers"] = []string{s.broker}
	dir := filepath.Join(s.work, "tier1")
	s.finish(cfg, "email_compromise/spray", "file_storage/tier1", dir, 0)
	col := s.start(cfg, dir)
	scan := s.scanTopic(len(s.ids), col)
	rss := hwmKiB(s.t, col.cmd.Process.Pid)
	scan.cpu = processCPUSeconds(col.cmd.Process.Pid)
	if code := col.stop(s.t); code != 0 {
		s.t.Errorf("tier 1 exited with %d\n%s", code, col.logTail())
	}
	s.t.Logf("tier 1: %d records into Kafka at %.0f records/s (produce timestamps); CPU seconds %.1f, peak RSS %d MiB",
		scan.records, scan.rate(), scan.cpu, rss/1024)
	return scan
}

// scanTopic consumes the whole topic without a group until want log
// records have been read.
func (s *scaleOut) scanTopic(want int, col *collector) *topicScan {
	s.t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(s.broker), kgo.ConsumeTopics(scaleTopic),
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
		return scan.records
	}
	s.waitFor("tier 1 into Kafka", want, progress, col)
	for _, p := range problems {
		s.t.Error(p)
	}
	for user, parts := range usersByPartition {
		if len(parts) > 1 {
			s.t.Errorf("user %s is spread over partitions %v; one partition per user is the point", user, slices.Sorted(maps.Keys(parts)))
		}
	}
	s.t.Logf("topic: %d records (%.0f bytes each in otlp_proto) in %d messages, %d users over %d partitions; %d records without user.name",
		scan.records, float64(scan.bytes)/float64(max(scan.records, 1)), countMessages(scan), len(usersByPartition), len(scan.messages), scan.noUser)
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
	if scan.records != len(s.ids) || len(scan.partitionOf) != len(s.ids) {
		s.t.Errorf("the topic holds %d records (%d distinct); the files %d", scan.records, len(scan.partitionOf), len(s.ids))
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
	sinks   []*detectionSink
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
}

// replicas runs n tier-2 replicas in a new consumer group on a topic of
// their own, which receives a copy of tier 1's messages (same keys, same
// partitions, same order) only once every replica holds its partitions:
// a replica joining while the others already read would move partitions,
// and users, in mid-stream (the take-over the kill run tests on purpose).
// With killAt > 0, replica 0 gets SIGKILL once that share of the records
// has been delivered.
func (s *scaleOut) replicas(group string, n int, scan *topicScan, killAt float64) *replicaRun {
	s.t.Helper()
	session := time.Duration(0)
	if killAt > 0 {
		session = scaleSession
	}
	run := s.startReplicas(group, n, scaleTopic+"."+group, session, 0)
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
		if err := victim.cmd.Process.Signal(syscall.SIGKILL); err != nil {
			s.t.Fatal(err)
		}
		<-victim.exited
		run.killedAt = time.Now()
		s.t.Logf("%s: replica 0 killed with SIGKILL after %d of %d records", run.name, run.distinct(), len(s.ids))
	}
	s.finishReplicas(run, len(s.ids))
	if killAt > 0 {
		run.atEnd = s.assignments(group)
	}
	run.stop(s.t)
	return run
}

// startReplicas starts n tier-2 replicas of the shipped config in group,
// reading topic; session 0 keeps the shipped session timeout.
func (s *scaleOut) startReplicas(group string, n int, topic string, session time.Duration, promPort int) *replicaRun {
	s.t.Helper()
	run := &replicaRun{name: fmt.Sprintf("%s (%d replicas)", group, n), seen: &recordIDSet{ids: map[string]bool{}},
		cpu: make([]float64, n), peakRSS: make([]int64, n), testCPU: -processCPUSeconds(os.Getpid())}
	for i := 0; i < n; i++ {
		sink := startDetectionSink(s.t, run.seen)
		cfg := s.deployConfig("tier2.yaml")
		receiver := s.at(cfg, "receivers", "kafka/by_user")
		receiver["brokers"] = []string{s.broker}
		receiver["group_id"] = group
		receiver["group_instance_id"] = fmt.Sprintf("%s-%d", group, i)
		s.at(receiver, "logs")["topics"] = []string{topic}
		if session > 0 {
			receiver["session_timeout"] = session.String()
			receiver["heartbeat_interval"] = (session / 5).String()
		}
		sinkExporter(s.at(cfg, "exporters", "otlp_grpc/siem"), sink.addr)
		dir := filepath.Join(s.work, group, strconv.Itoa(i))
		s.finish(cfg, "email_compromise", "file_storage/replica", dir, promPort)
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
	s.waitFor(run.name, want, run.distinct, alive...)
	time.Sleep(quietPeriod) // repeats would arrive now
	for i, c := range run.cols {
		if i > 0 || run.killedAt.IsZero() {
			run.cpu[i], run.peakRSS[i] = processCPUSeconds(c.cmd.Process.Pid), hwmKiB(s.t, c.cmd.Process.Pid)
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
	cl, err := kgo.NewClient(kgo.SeedBrokers(s.broker), kgo.DefaultProduceTopic(topic),
		kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.ProducerLinger(5*time.Millisecond))
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
		s.mu.Lock()
		for id, n := range s.delivered {
			deliveries[id] += n
		}
		s.mu.Unlock()
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
		s.mu.Lock()
		if !s.first.IsZero() && (first.IsZero() || s.first.Before(first)) {
			first = s.first
		}
		last = laterOf(last, s.last)
		records += s.records
		s.mu.Unlock()
	}
	return recordsPerSecond(records, first, last)
}

// perCPUSecond is the records each replica handled per second of CPU it
// used: what one replica can do when it has a core to itself.
func (run *replicaRun) perCPUSecond() float64 {
	records, cpu := 0, 0.0
	for i, s := range run.sinks {
		s.mu.Lock()
		records += s.records
		s.mu.Unlock()
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

// checkEqual compares a run's detections with the single collector's.
// Tier 2 keeps tier 1's tags (password spray) and adds its own, so every
// record must carry exactly the single collector's rules.
func (s *scaleOut) checkEqual(name string, ref, got taggedRecords) {
	s.t.Helper()
	diffs := compareDetections(ref, got)
	for _, d := range diffs {
		s.t.Errorf("%s: %s", name, d)
	}
	s.t.Logf("%s: %d tagged records, the single collector %d; %d differences", name, len(got), len(ref), len(diffs))
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
// detections are those of the single collector.
func (s *scaleOut) checkTakeOver(run *replicaRun, ref taggedRecords, scan *topicScan) {
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
	run.sinks[0].mu.Lock()
	for id := range run.sinks[0].delivered {
		if slices.Contains(lost, scan.partitionOf[id]) {
			killedAt = laterOf(killedAt, scan.timeOf[id])
		}
	}
	run.sinks[0].mu.Unlock()
	var takeOver time.Duration
	survivor := run.sinks[1]
	survivor.mu.Lock()
	for id, at := range survivor.firstAt {
		if slices.Contains(lost, scan.partitionOf[id]) && at.After(run.killedAt) {
			if d := at.Sub(run.killedAt); takeOver == 0 || d < takeOver {
				takeOver = d
			}
			if t := scan.timeOf[id]; resumedAt.IsZero() || t.Before(resumedAt) {
				resumedAt = t
			}
		}
	}
	survivor.mu.Unlock()
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
	s.checkEqual(run.name, ref, run.detections())
	got := run.detections()
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
	for p, msgs := range scan.messages {
		i := slices.IndexFunc(msgs, func(m topicMessage) bool { return !m.latest.Before(cutoff) })
		if i < 0 {
			i = len(msgs)
			offsets[p] = msgs[len(msgs)-1].offset + 1
		} else {
			offsets[p] = msgs[i].offset
		}
		for _, m := range msgs[i:] {
			window = append(window, m.ids...)
		}
	}
	const group = "warmup"
	s.commitOffsets(group, offsets)
	promPort := freePort(s.t)
	run := s.startReplicas(group, 1, scaleTopic, 0, promPort)
	s.finishReplicas(run, len(window))
	suppressed := metricByRule(promPort, "otelcol_email_compromise_warmup_suppressed")
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

// detectionSink is an OTLP/gRPC sink for one collector: per
// audit.record.id, its deliveries, the union of its detection.rules and
// when it first arrived.
type detectionSink struct {
	plogotlp.UnimplementedGRPCServer
	addr string
	// seen counts distinct ids over the sinks of one run, cheaply enough
	// to be polled while the replicas run.
	seen *recordIDSet

	mu          sync.Mutex
	delivered   map[string]int
	firstAt     map[string]time.Time
	rules       map[string][]string
	records     int
	first, last time.Time
}

func startDetectionSink(t *testing.T, seen *recordIDSet) *detectionSink {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &detectionSink{addr: lis.Addr().String(), seen: seen, delivered: map[string]int{}, firstAt: map[string]time.Time{}, rules: map[string][]string{}}
	srv := grpc.NewServer()
	plogotlp.RegisterGRPCServer(srv, s)
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	return s
}

func (s *detectionSink) Export(_ context.Context, req plogotlp.ExportRequest) (plogotlp.ExportResponse, error) {
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.first.IsZero() {
		s.first = now
	}
	s.last = now
	for _, rl := range req.Logs().ResourceLogs().All() {
		for _, sl := range rl.ScopeLogs().All() {
			for _, lr := range sl.LogRecords().All() {
				id := str(lr.Attributes(), "audit.record.id")
				s.records++
				s.delivered[id]++
				if _, ok := s.firstAt[id]; !ok {
					s.firstAt[id] = now
					s.seen.add(id)
				}
				if rules := stringSlice(lr.Attributes(), "detection.rules"); len(rules) > 0 {
					s.rules[id] = sorted(unionOf(s.rules[id], rules))
				}
			}
		}
	}
	return plogotlp.NewExportResponse(), nil
}

// recordIDSet is a set of record ids safe for concurrent use.
type recordIDSet struct {
	mu  sync.Mutex
	ids map[string]bool
}

func (s *recordIDSet) add(id string) {
	s.mu.Lock()
	s.ids[id] = true
	s.mu.Unlock()
}

func (s *recordIDSet) len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.ids)
}

func (s *detectionSink) detections() taggedRecords {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.rules)
}

func (s *detectionSink) rate() float64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return recordsPerSecond(s.records, s.first, s.last)
}

func recordsPerSecond(n int, first, last time.Time) float64 {
	if !last.After(first) {
		return 0
	}
	return float64(n) / last.Sub(first).Seconds()
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
