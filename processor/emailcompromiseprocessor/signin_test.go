package emailcompromiseprocessor

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/extension/storage/storagetest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otelsec/emailcompromise/internal/testing/geodb"
)

// writeGeoDBs builds the small city and ASN databases the sign-in tests use.
func writeGeoDBs(t *testing.T) (city, asn string) {
	t.Helper()
	dir := t.TempDir()
	city, asn = filepath.Join(dir, "city.mmdb"), filepath.Join(dir, "asn.mmdb")
	require.NoError(t, geodb.WriteCity(city, []geodb.Place{
		{Network: "198.51.100.0/24", City: "Berlin", CountryISO: "DE", Lat: 52.52, Lon: 13.405},
		{Network: "192.0.2.0/24", City: "Lagos", CountryISO: "NG", Lat: 6.455, Lon: 3.384},
	}))
	require.NoError(t, geodb.WriteASN(asn, []geodb.Network{
		{Network: "198.51.100.0/24", Number: 3320, Organization: "Deutsche Telekom"},
		{Network: "192.0.2.0/24", Number: 37148, Organization: "Globacom"},
	}))
	return city, asn
}

func o365Login(user string, at time.Time, ip string) string {
	return fmt.Sprintf(`{"CreationTime":%q,"Id":"%d","Operation":"UserLoggedIn","RecordType":15,"ResultStatus":"Success","UserType":0,
		"Workload":"AzureActiveDirectory","ClientIP":%q,"UserId":%q,"ExtendedProperties":[{"Name":"RequestType","Value":"Login:login"}]}`,
		at.UTC().Format("2006-01-02T15:04:05"), at.UnixNano(), ip, user)
}

func googleLoginSuccess(user string, at time.Time, ip string) string {
	return fmt.Sprintf(`{"kind":"admin#reports#activity","id":{"time":%q,"uniqueQualifier":"%d","applicationName":"login","customerId":"C0"},
		"actor":{"email":%q},"ipAddress":%q,"events":[{"type":"login","name":"login_success","parameters":[]}]}`,
		at.UTC().Format(time.RFC3339), at.UnixNano(), user, ip)
}

// consume passes vendor records (as JSON string bodies, like filelog) through p
// one batch each and returns the rule ids tagged on each.
func consume(t *testing.T, p *emailCompromiseProcessor, sink *consumertest.LogsSink, records ...string) [][]string {
	t.Helper()
	var out [][]string
	for _, rec := range records {
		sink.Reset()
		ld := plog.NewLogs()
		ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty().Body().SetStr(rec)
		require.NoError(t, p.ConsumeLogs(context.Background(), ld))
		rules := []string{}
		for _, l := range sink.AllLogs() {
			attrs := l.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0).Attributes()
			if v, ok := attrs.Get(AttrDetectionRules); ok {
				for i := 0; i < v.Slice().Len(); i++ {
					rules = append(rules, v.Slice().At(i).Str())
				}
			}
		}
		out = append(out, rules)
	}
	return out
}

var day0 = time.Date(2026, 11, 2, 8, 0, 0, 0, time.UTC)

// TestTravelFromGeoIP: O365 and Google records carry only an address; the
// configured City database places them.
func TestTravelFromGeoIP(t *testing.T) {
	city, asn := writeGeoDBs(t)
	cfg := createDefaultConfig().(*Config)
	cfg.GeoIP = GeoIPConfig{CityDatabase: city, ASNDatabase: asn}
	require.NoError(t, cfg.Validate())
	for name, login := range map[string]func(string, time.Time, string) string{"o365": o365Login, "google": googleLoginSuccess} {
		t.Run(name, func(t *testing.T) {
			p, sink := newTestProcessor(t, cfg, componenttest.NewTelemetry())
			require.NoError(t, p.Start(context.Background(), componenttest.NewNopHost()))
			defer func() { require.NoError(t, p.Shutdown(context.Background())) }()
			got := consume(t, p, sink,
				login("bob@contoso.com", day0, "198.51.100.7"),
				login("bob@contoso.com", day0.Add(time.Hour), "192.0.2.66"))
			assert.Equal(t, [][]string{{}, {"impossible_travel/impossible_travel"}}, got)
			reason, _ := sink.AllLogs()[0].ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0).Attributes().Get(AttrDetectionReason)
			assert.Equal(t, "bob@contoso.com signed in from Berlin, DE (198.51.100.7) at 2026-11-02T08:00:00Z and from Lagos, NG (192.0.2.66) at 2026-11-02T09:00:00Z: 5203 km apart in 1h0m0s, 5203 km/h (threshold 900 km/h).", reason.Str())
		})
	}
}

// TestBaselineSurvivesRestart learns a user's countries and ASNs, shuts the
// processor down, starts a new one on the same file_storage directory, and
// checks the learned baseline holds: a new country still stands out at once.
func TestBaselineSurvivesRestart(t *testing.T) {
	city, asn := writeGeoDBs(t)
	storageID := storagetest.NewStorageID("state")
	host := storagetest.NewStorageHost().WithFileBackedStorageExtension(storageID.Name(), t.TempDir())
	cfg := createDefaultConfig().(*Config)
	cfg.GeoIP = GeoIPConfig{CityDatabase: city, ASNDatabase: asn}
	cfg.Storage = &storageID

	start := func() (*emailCompromiseProcessor, *consumertest.LogsSink) {
		p, sink := newTestProcessor(t, cfg, componenttest.NewTelemetry())
		require.NoError(t, p.Start(context.Background(), host))
		return p, sink
	}
	p, sink := start()
	var learning []string
	for i := 0; i < 10; i++ {
		learning = append(learning, o365Login("bob@contoso.com", day0.Add(time.Duration(i)*24*time.Hour), "198.51.100.7"))
	}
	for _, rules := range consume(t, p, sink, learning...) {
		assert.Empty(t, rules)
	}
	require.NoError(t, p.Shutdown(context.Background()))

	p, sink = start()
	defer func() { require.NoError(t, p.Shutdown(context.Background())) }()
	got := consume(t, p, sink, o365Login("bob@contoso.com", day0.Add(20*24*time.Hour), "192.0.2.66"))
	assert.Equal(t, [][]string{{"risky_sign_in/new_country", "risky_sign_in/new_asn"}}, got)

	// Without the snapshot the same record is the first sign-in ever seen: silent.
	fresh, freshSink := newTestProcessor(t, createDefaultConfig().(*Config), componenttest.NewTelemetry())
	fresh.cfg.GeoIP = cfg.GeoIP
	require.NoError(t, fresh.Start(context.Background(), componenttest.NewNopHost()))
	defer func() { require.NoError(t, fresh.Shutdown(context.Background())) }()
	assert.Equal(t, [][]string{{}}, consume(t, fresh, freshSink, o365Login("bob@contoso.com", day0.Add(20*24*time.Hour), "192.0.2.66")))
}
