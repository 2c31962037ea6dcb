package geoip

import (
	"net/netip"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelsec/emailcompromise/internal/testing/geodb"
)

func TestLookups(t *testing.T) {
	dir := t.TempDir()
	city, asn := filepath.Join(dir, "city.mmdb"), filepath.Join(dir, "asn.mmdb")
	require.NoError(t, geodb.WriteCity(city, []geodb.Place{
		{Network: "203.0.113.0/24", City: "Berlin", CountryISO: "DE", Lat: 52.52, Lon: 13.405},
		{Network: "2001:db8::/32", City: "Lagos", CountryISO: "NG", Lat: 6.455, Lon: 3.384},
	}))
	require.NoError(t, geodb.WriteASN(asn, []geodb.Network{{Network: "198.51.100.0/24", Number: 64500, Organization: "Example Hosting"}}))
	db, err := Open(city, asn)
	require.NoError(t, err)
	defer func() { require.NoError(t, db.Close()) }()

	loc, ok := db.City(netip.MustParseAddr("203.0.113.77"))
	require.True(t, ok)
	assert.Equal(t, Location{Lat: 52.52, Lon: 13.405, CountryISO: "DE", City: "Berlin"}, loc)
	loc, ok = db.City(netip.MustParseAddr("2001:db8::5"))
	require.True(t, ok)
	assert.Equal(t, "NG", loc.CountryISO)
	_, ok = db.City(netip.MustParseAddr("192.0.2.1"))
	assert.False(t, ok, "unknown network")
	_, ok = db.City(netip.Addr{})
	assert.False(t, ok, "invalid address")

	a, ok := db.ASN(netip.MustParseAddr("198.51.100.9"))
	require.True(t, ok)
	assert.Equal(t, ASN{Number: 64500, Organization: "Example Hosting"}, a)
	_, ok = db.ASN(netip.MustParseAddr("203.0.113.77"))
	assert.False(t, ok)
}

func TestOpenErrorsNameTheKey(t *testing.T) {
	_, err := Open(filepath.Join(t.TempDir(), "missing.mmdb"), "")
	assert.ErrorContains(t, err, "geoip.city_database: cannot open")
	_, err = Open("", filepath.Join(t.TempDir(), "missing.mmdb"))
	assert.ErrorContains(t, err, "geoip.asn_database: cannot open")
	var none *DB
	assert.False(t, none.HasCity())
}
