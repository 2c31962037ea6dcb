package auditlogreceiver

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/otelsec/emailcompromise/internal/testing/apitest"
	"github.com/otelsec/emailcompromise/receiver/auditlogreceiver/internal/vendorapi"
)

// counter sums every data point of a counter (0 when never recorded).
func counter(t testing.TB, tt *componenttest.Telemetry, name string) int64 {
	t.Helper()
	m, err := tt.GetMetric("otelcol_" + name)
	if err != nil {
		return 0
	}
	var total int64
	for _, dp := range m.Data.(metricdata.Sum[int64]).DataPoints {
		total += dp.Value
	}
	return total
}

func newTelemetry(t *testing.T) *componenttest.Telemetry {
	tt := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tt.Shutdown(context.Background())) })
	return tt
}

// addO365Blobs makes n blobs of perBlob records each, spread evenly over
// [from, to), and returns the record ids.
func addO365Blobs(api *apitest.O365, contentType, prefix string, from, to time.Time, n, perBlob int) []string {
	var ids []string
	step := to.Sub(from) / time.Duration(n)
	for b := range n {
		created := from.Add(time.Duration(b) * step)
		var records []string
		for i := range perBlob {
			id := fmt.Sprintf("%s-%d-%d", prefix, b, i)
			ids = append(ids, id)
			records = append(records, apitest.O365SignIn(id, created.Add(-time.Minute)))
		}
		api.AddBlob(contentType, created, records...)
	}
	return ids
}

func TestO365DeliversEveryRecordOnceAcrossContentTypesAndPages(t *testing.T) {
	env := newO365Env(t, "Audit.Exchange", "Audit.AzureActiveDirectory")
	env.api.SetPageSize(2)
	now := time.Now()
	want := addO365Blobs(env.api, "Audit.Exchange", "ex", now.Add(-100*time.Minute), now, 7, 3)
	want = append(want, addO365Blobs(env.api, "Audit.AzureActiveDirectory", "aad", now.Add(-30*time.Minute), now, 3, 2)...)
	env.cfg.O365.Get().BatchSize = 2

	tt := newTelemetry(t)
	sink := &idSink{}
	host, storageID := storageHost(t.TempDir())
	env.cfg.StorageID = storageID
	r := startReceiver(t, env.cfg, sink.consumer(t), host, tt)
	got := sink.waitIDs(t, len(want))
	time.Sleep(5 * env.cfg.O365.Get().PollInterval)
	require.NoError(t, r.Shutdown(context.Background()))

	assert.Equal(t, sorted(want), sorted(got), "every record exactly once")
	assert.Empty(t, env.api.Violations(), "requests the API would refuse")
	for id, n := range env.api.BlobGets() {
		assert.Equal(t, 1, n, "blob %s fetched %d times although every poll lists it again within the overlap", id, n)
	}
	assert.Equal(t, "enabled", env.api.Subscription("Audit.Exchange"), "subscription started on AF20022")
	assert.Equal(t, int64(len(want)), counter(t, tt, "audit_log_records_emitted"))
	assert.Positive(t, counter(t, tt, "audit_log_api_pages"))
	lag, err := tt.GetMetric("otelcol_audit_log_api_lag")
	require.NoError(t, err)
	for _, dp := range lag.Data.(metricdata.Gauge[float64]).DataPoints {
		stream, _ := dp.Attributes.Value("stream")
		assert.Less(t, dp.Value, 3600.0, "lag of %s", stream.AsString())
	}
}

func TestO365WindowsStayWithinTheAPILimits(t *testing.T) {
	env := newO365Env(t, "Audit.General")
	o := env.cfg.O365.Get()
	o.InitialLookback, o.MaxWindow = vendorapi.O365MaxLookback, vendorapi.O365MaxWindow
	now := time.Now()
	var want []string
	for i, age := range []time.Duration{vendorapi.O365MaxLookback - time.Minute, 100 * time.Hour, 30 * time.Hour, 25 * time.Hour, time.Hour} {
		id := fmt.Sprintf("old-%d", i)
		env.api.AddBlob("Audit.General", now.Add(-age), apitest.O365SignIn(id, now.Add(-age)))
		want = append(want, id)
	}
	sink := &idSink{}
	startReceiver(t, env.cfg, sink.consumer(t), componenttest.NewNopHost(), nil)
	got := sink.waitIDs(t, len(want))
	assert.Equal(t, sorted(want), sorted(got))
	assert.Empty(t, env.api.Violations(), "no window over 24h, none starting more than 7 days back")
}

func TestO365StoppedLongerThanSevenDaysSaysWhatIsLost(t *testing.T) {
	env := newO365Env(t, "Audit.Exchange")
	now := time.Now()
	env.api.AddBlob("Audit.Exchange", now.Add(-6*24*time.Hour), apitest.O365SignIn("six-days", now.Add(-6*24*time.Hour)))
	dir := t.TempDir()
	host, storageID := storageHost(dir)
	env.cfg.StorageID = storageID
	seedCursor(t, host, *storageID, sourceO365+"/"+apitest.TenantID, "Audit.Exchange", now.Add(-9*24*time.Hour))

	logs := &syncBuffer{}
	sink := &idSink{}
	startReceiver(t, env.cfg, sink.consumer(t), host, nil, logTo(logs))
	assert.Equal(t, []string{"six-days"}, sink.waitIDs(t, 1))
	assert.Empty(t, env.api.Violations())
	assert.Contains(t, logs.String(), "stopped longer than the API keeps records")
}

func TestO365LateContentForAnOldWindowIsRead(t *testing.T) {
	env := newO365Env(t, "Audit.Exchange")
	now := time.Now()
	env.api.AddBlob("Audit.Exchange", now.Add(-5*time.Minute), apitest.O365SignIn("on-time", now.Add(-6*time.Minute)))
	sink := &idSink{}
	startReceiver(t, env.cfg, sink.consumer(t), componenttest.NewNopHost(), nil)
	sink.waitIDs(t, 1)

	// A blob made available 40 minutes ago shows up in the listing only
	// now, for a window the receiver has listed many times.
	env.api.AddBlob("Audit.Exchange", now.Add(-40*time.Minute), apitest.O365SignIn("late", now.Add(-50*time.Minute)))
	assert.Equal(t, []string{"late", "on-time"}, sorted(sink.waitIDs(t, 2)))
}

func TestO365ExpiredContentIsSkippedOnlyWhenCertain(t *testing.T) {
	env := newO365Env(t, "Audit.Exchange")
	now := time.Now()
	env.api.AddBlob("Audit.Exchange", now.Add(-50*time.Minute), apitest.O365SignIn("first", now.Add(-51*time.Minute)))
	expiresSoon := env.api.AddBlob("Audit.Exchange", now.Add(-40*time.Minute), apitest.O365SignIn("expired", now.Add(-41*time.Minute)))
	notYet := env.api.AddBlob("Audit.Exchange", now.Add(-30*time.Minute), apitest.O365SignIn("not-yet", now.Add(-31*time.Minute)))
	pastExpiry := env.api.AddBlob("Audit.Exchange", now.Add(-20*time.Minute), apitest.O365SignIn("past-expiry", now.Add(-21*time.Minute)))
	env.api.AddBlob("Audit.Exchange", now.Add(-10*time.Minute), apitest.O365SignIn("last", now.Add(-11*time.Minute)))
	// A short overlap: the blob that is not there yet is found again only
	// because the checkpoint waits before its window.
	env.cfg.O365.Get().Overlap = time.Minute
	env.api.Update(func() {
		// AF20051 on every fetch, its listed contentExpiration a moment
		// ahead: asked for again until that has passed, then lost.
		expiresSoon.Expired = true
		expiresSoon.Expiration = time.Now().Add(500 * time.Millisecond)
		notYet.Missing = true     // 404 AF20050, contentExpiration ahead
		pastExpiry.Missing = true // 404 after its contentExpiration
		pastExpiry.Expiration = now.Add(-time.Minute)
	})

	tt := newTelemetry(t)
	sink := &idSink{}
	startReceiver(t, env.cfg, sink.consumer(t), componenttest.NewNopHost(), tt)
	assert.Equal(t, []string{"first", "last"}, sorted(sink.waitIDs(t, 2)))
	require.Eventually(t, func() bool {
		return env.api.BlobGets()[notYet.ID] >= 3
	}, 5*time.Second, 5*time.Millisecond, "a blob that may still appear is asked for on every poll")

	// The blob appears: it is delivered, although its window was listed
	// long ago, because the cursor waited before it.
	env.api.Update(func() { notYet.Missing = false })
	assert.Equal(t, []string{"first", "last", "not-yet"}, sorted(sink.waitIDs(t, 3)))

	require.Eventually(t, func() bool { return counter(t, tt, "audit_log_api_expired_content") == 2 }, 5*time.Second, 5*time.Millisecond)
	gets := env.api.BlobGets()
	assert.Greater(t, gets[expiresSoon.ID], 1, "AF20051 before the listed expiration is asked for again")
	time.Sleep(200 * time.Millisecond)
	assert.Equal(t, gets[expiresSoon.ID], env.api.BlobGets()[expiresSoon.ID], "once its expiration passed and it was refused, not asked for again")
	assert.Equal(t, 1, gets[pastExpiry.ID], "a blob refused after its contentExpiration is not asked for again")
	assert.Equal(t, int64(2), counter(t, tt, "audit_log_api_expired_content"))
}

// TestO365OneOffContentExpiredIsRetriedNotLost: the API refuses a blob once
// with AF20051 although the listing says it expires in days (issue 17: three
// records were lost per fault run). It is asked for again with backoff and
// delivered; nothing is counted or logged as lost.
func TestO365OneOffContentExpiredIsRetriedNotLost(t *testing.T) {
	env := newO365Env(t, "Audit.Exchange")
	now := time.Now()
	before := env.api.AddBlob("Audit.Exchange", now.Add(-30*time.Minute), apitest.O365SignIn("before", now.Add(-31*time.Minute)))
	refusedOnce := env.api.AddBlob("Audit.Exchange", now.Add(-20*time.Minute),
		apitest.O365SignIn("r1", now.Add(-21*time.Minute)), apitest.O365SignIn("r2", now.Add(-21*time.Minute)), apitest.O365SignIn("r3", now.Add(-21*time.Minute)))
	env.api.AddBlob("Audit.Exchange", now.Add(-10*time.Minute), apitest.O365SignIn("after", now.Add(-11*time.Minute)))
	env.api.Faults.Add(1, apitest.Fault{Match: "/audit/" + refusedOnce.ID, Status: http.StatusBadRequest,
		Body: fmt.Sprintf(`{"error":{"code":"AF20051","message":"Content requested with the key %s has already expired. Content older than 7 days cannot be retrieved."}}`, refusedOnce.ID)})

	tt := newTelemetry(t)
	logs := &syncBuffer{}
	sink := &idSink{}
	startReceiver(t, env.cfg, sink.consumer(t), componenttest.NewNopHost(), tt, logTo(logs))
	assert.Equal(t, []string{"after", "before", "r1", "r2", "r3"}, sorted(sink.waitIDs(t, 5)))
	assert.Zero(t, env.api.Faults.Pending(), "the blob was refused once")
	assert.Zero(t, counter(t, tt, "audit_log_api_expired_content"))
	assert.Equal(t, 1, env.api.BlobGets()[refusedOnce.ID], "then fetched (the fault answered the first request)")
	assert.Equal(t, 1, env.api.BlobGets()[before.ID])
	out := logs.String()
	assert.Contains(t, out, "before the contentExpiration it listed")
	assert.Contains(t, out, "content blob fetched after the API had refused it")
	assert.NotContains(t, out, "its records cannot be read any more")
}

func TestO365RecordsRepeatedAcrossBlobsAreDeliveredOnce(t *testing.T) {
	env := newO365Env(t, "Audit.Exchange")
	now := time.Now()
	repeated := []string{apitest.O365SignIn("r1", now.Add(-80*time.Minute)), apitest.O365SignIn("r2", now.Add(-79*time.Minute))}
	env.api.AddBlob("Audit.Exchange", now.Add(-75*time.Minute), append(repeated, apitest.O365SignIn("a", now.Add(-76*time.Minute)))...)
	// The same records again in a blob of a later window, beside new ones.
	env.api.AddBlob("Audit.Exchange", now.Add(-5*time.Minute), append(repeated, apitest.O365SignIn("b", now.Add(-6*time.Minute)))...)

	tt := newTelemetry(t)
	sink := &idSink{}
	startReceiver(t, env.cfg, sink.consumer(t), componenttest.NewNopHost(), tt)
	assert.Equal(t, []string{"a", "b", "r1", "r2"}, sorted(sink.waitIDs(t, 4)))
	assert.Equal(t, int64(2), counter(t, tt, "audit_log_api_duplicate_records"))
}

func TestO365DisabledSubscriptionIsReportedNotOverridden(t *testing.T) {
	env := newO365Env(t, "DLP.All")
	env.api.SetSubscription("DLP.All", "disabled")
	core, logs := observer.New(zapcore.InfoLevel)
	tt := newTelemetry(t)
	startReceiver(t, env.cfg, (&idSink{}).consumer(t), componenttest.NewNopHost(), tt, func(r *auditLogReceiver) { r.settings.Logger = zap.New(core) })
	require.Eventually(t, func() bool { return counter(t, tt, "audit_log_read_errors") >= 3 }, 5*time.Second, 5*time.Millisecond)
	disabled := logs.FilterLevelExact(zapcore.WarnLevel).All()
	require.Len(t, disabled, 1, "logged once, not every poll")
	assert.Contains(t, disabled[0].ContextMap()["error"], "an administrator disabled the DLP.All subscription")
	assert.Equal(t, "disabled", env.api.Subscription("DLP.All"))
	assert.Zero(t, startRequests(env.api))
}

// startRequests counts the requests to start a subscription.
func startRequests(api *apitest.O365) int {
	n := 0
	for _, req := range api.Requests() {
		if strings.Contains(req, "/subscriptions/start") {
			n++
		}
	}
	return n
}

func TestO365StartSubscriptionsFalseLeavesThemToAnAdministrator(t *testing.T) {
	env := newO365Env(t, "Audit.Exchange", "Audit.General")
	env.cfg.O365.Get().StartSubscriptions = false
	// Audit.General was started by an administrator; Audit.Exchange not.
	env.api.SetSubscription("Audit.General", "enabled")
	now := time.Now()
	env.api.AddBlob("Audit.General", now.Add(-time.Minute), apitest.O365SignIn("general", now.Add(-2*time.Minute)))
	env.api.AddBlob("Audit.Exchange", now.Add(-time.Minute), apitest.O365SignIn("exchange", now.Add(-2*time.Minute)))
	tt := newTelemetry(t)
	sink := &idSink{}
	core, logs := observer.New(zapcore.InfoLevel)
	startReceiver(t, env.cfg, sink.consumer(t), componenttest.NewNopHost(), tt, func(r *auditLogReceiver) { r.settings.Logger = zap.New(core) })

	assert.Equal(t, []string{"general"}, sink.waitIDs(t, 1), "the content type with a subscription is read meanwhile")
	require.Eventually(t, func() bool { return counter(t, tt, "audit_log_read_errors") >= 3 }, 5*time.Second, 5*time.Millisecond)
	assert.Zero(t, startRequests(env.api), "no subscription started")
	assert.Empty(t, env.api.Subscription("Audit.Exchange"))
	missing := logs.FilterLevelExact(zapcore.WarnLevel).All()
	require.Len(t, missing, 1, "one line, not one per poll")
	assert.Equal(t, "Audit.Exchange", missing[0].ContextMap()["stream"])
	msg := missing[0].ContextMap()["error"].(string)
	assert.Contains(t, msg, "AF20022")
	assert.Contains(t, msg, "o365_management_api.start_subscriptions is false")
	assert.Contains(t, msg, "POST "+env.api.URL+"/api/v1.0/"+apitest.TenantID+"/activity/feed/subscriptions/start?contentType=Audit.Exchange&PublisherIdentifier="+apitest.PublisherID)

	// An administrator starts it: read from the next poll, said once.
	env.api.SetSubscription("Audit.Exchange", "enabled")
	assert.Equal(t, []string{"exchange", "general"}, sorted(sink.waitIDs(t, 2)))
	assert.Len(t, logs.FilterMessageSnippet("active again").All(), 1)
	assert.Zero(t, startRequests(env.api))
}

func TestO365StoppedSubscriptionIsStartedAgainWithAWarning(t *testing.T) {
	env := newO365Env(t, "Audit.Exchange")
	now := time.Now()
	env.api.AddBlob("Audit.Exchange", now.Add(-time.Minute), apitest.O365SignIn("before-stop", now.Add(-2*time.Minute)))
	sink := &idSink{}
	core, logs := observer.New(zapcore.InfoLevel)
	startReceiver(t, env.cfg, sink.consumer(t), componenttest.NewNopHost(), nil, func(r *auditLogReceiver) { r.settings.Logger = zap.New(core) })
	sink.waitIDs(t, 1)
	require.Len(t, logs.FilterMessageSnippet("started the subscription").All(), 1, "a new deployment's subscription is started")
	assert.Equal(t, 1, startRequests(env.api))

	// Stopped, as POST /subscriptions/stop does: AF20022 from then on.
	env.api.SetSubscription("Audit.Exchange", "")
	// The line is written once the start request has returned, just after
	// the server marked the subscription enabled: wait for the line.
	require.Eventually(t, func() bool { return len(logs.FilterMessageSnippet("was stopped").All()) > 0 }, 5*time.Second, 5*time.Millisecond)
	assert.Equal(t, "enabled", env.api.Subscription("Audit.Exchange"))
	restarted := logs.FilterMessageSnippet("was stopped").All()
	require.Len(t, restarted, 1)
	assert.Equal(t, zapcore.WarnLevel, restarted[0].Level)
	assert.Contains(t, restarted[0].Message, "content made available between the stop and now cannot be retrieved")
	assert.Contains(t, restarted[0].Message, "set start_subscriptions: false")
	assert.Equal(t, 2, startRequests(env.api))

	at := time.Now()
	env.api.AddBlob("Audit.Exchange", at, apitest.O365SignIn("after-restart", at.Add(-time.Second)))
	assert.Equal(t, []string{"after-restart", "before-stop"}, sorted(sink.waitIDs(t, 2)))
}

func TestO365PublisherIdentifierOnEveryRequest(t *testing.T) {
	env := newO365Env(t, "Audit.Exchange")
	env.api.SetPageSize(1)
	now := time.Now()
	want := addO365Blobs(env.api, "Audit.Exchange", "p", now.Add(-50*time.Minute), now, 4, 1)
	sink := &idSink{}
	startReceiver(t, env.cfg, sink.consumer(t), componenttest.NewNopHost(), nil)
	sink.waitIDs(t, len(want))
	assert.Empty(t, env.api.Violations())
	var paged bool
	for _, req := range env.api.Requests() {
		paged = paged || strings.Contains(req, "nextPage=")
	}
	assert.True(t, paged, "NextPageUri was followed")
}
