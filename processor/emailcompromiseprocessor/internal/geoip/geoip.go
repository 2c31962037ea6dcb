// Package geoip locates client addresses with MaxMind-format databases (the
// GeoLite2/GeoIP2 City and ASN layouts), for sources whose records carry no
// coordinates (Office 365, Google Workspace) and for ASN allow-lists.
package geoip // import "github.com/otelsec/emailcompromise/processor/emailcompromiseprocessor/internal/geoip"

import (
	"errors"
	"fmt"
	"net/netip"

	"github.com/oschwald/maxminddb-golang/v2"
)

// Location is where a City database puts an address.
type Location struct {
	Lat, Lon   float64
	CountryISO string
	City       string
}

// ASN is the autonomous system an ASN database assigns an address to.
type ASN struct {
	Number       uint32
	Organization string
}

// DB answers look-ups from the databases that were configured; either may
// be absent.
type DB struct {
	city *maxminddb.Reader
	asn  *maxminddb.Reader
}

// Open opens the configured databases ("" leaves one out). The key names in
// errors are the processor's configuration keys.
func Open(cityPath, asnPath string) (*DB, error) {
	db := &DB{}
	var err error
	if cityPath != "" {
		if db.city, err = maxminddb.Open(cityPath); err != nil {
			return nil, fmt.Errorf("geoip.city_database: cannot open %q as a MaxMind database: %w", cityPath, err)
		}
	}
	if asnPath != "" {
		if db.asn, err = maxminddb.Open(asnPath); err != nil {
			_ = db.Close()
			return nil, fmt.Errorf("geoip.asn_database: cannot open %q as a MaxMind database: %w", asnPath, err)
		}
	}
	return db, nil
}

// HasCity and HasASN say which look-ups can answer.
func (db *DB) HasCity() bool { return db != nil && db.city != nil }
func (db *DB) HasASN() bool  { return db != nil && db.asn != nil }

type cityRecord struct {
	City struct {
		Names struct {
			English string `maxminddb:"en"`
		} `maxminddb:"names"`
	} `maxminddb:"city"`
	Country struct {
		ISOCode string `maxminddb:"iso_code"`
	} `maxminddb:"country"`
	Location struct {
		Latitude  *float64 `maxminddb:"latitude"`
		Longitude *float64 `maxminddb:"longitude"`
	} `maxminddb:"location"`
}

// City locates ip; ok is false when the database has no coordinates for it.
func (db *DB) City(ip netip.Addr) (Location, bool) {
	if !db.HasCity() || !ip.IsValid() {
		return Location{}, false
	}
	var rec cityRecord
	if err := db.city.Lookup(ip).Decode(&rec); err != nil || rec.Location.Latitude == nil || rec.Location.Longitude == nil {
		return Location{}, false
	}
	return Location{
		Lat:        *rec.Location.Latitude,
		Lon:        *rec.Location.Longitude,
		CountryISO: rec.Country.ISOCode,
		City:       rec.City.Names.English,
	}, true
}

type asnRecord struct {
	Number       uint32 `maxminddb:"autonomous_system_number"`
	Organization string `maxminddb:"autonomous_system_organization"`
}

// ASN returns ip's autonomous system; ok is false when it has none.
func (db *DB) ASN(ip netip.Addr) (ASN, bool) {
	if !db.HasASN() || !ip.IsValid() {
		return ASN{}, false
	}
	var rec asnRecord
	if err := db.asn.Lookup(ip).Decode(&rec); err != nil || rec.Number == 0 {
		return ASN{}, false
	}
	return ASN(rec), true
}

// Close releases the databases.
func (db *DB) Close() error {
	var errs []error
	if db.city != nil {
		errs = append(errs, db.city.Close())
	}
	if db.asn != nil {
		errs = append(errs, db.asn.Close())
	}
	return errors.Join(errs...)
}
