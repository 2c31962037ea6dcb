// Package geoiptest writes small MaxMind-format databases with the layout of
// GeoLite2-City and GeoLite2-ASN, so tests and the demo never download one.
package geoiptest // import "github.com/otelsec/emailcompromise/processor/emailcompromiseprocessor/internal/geoip/geoiptest"

import (
	"fmt"
	"net"
	"os"

	"github.com/maxmind/mmdbwriter"
	"github.com/maxmind/mmdbwriter/mmdbtype"
)

// Place is one network's city entry.
type Place struct {
	Network    string // CIDR
	City       string
	CountryISO string
	Lat, Lon   float64
}

// Network is one network's ASN entry.
type Network struct {
	Network      string // CIDR
	Number       uint32
	Organization string
}

// WriteCity writes a GeoLite2-City-shaped database to path.
func WriteCity(path string, places []Place) error {
	tree, err := newTree("GeoLite2-City")
	if err != nil {
		return err
	}
	for _, p := range places {
		_, network, err := net.ParseCIDR(p.Network)
		if err != nil {
			return fmt.Errorf("place %q: %w", p.Network, err)
		}
		if err := tree.Insert(network, mmdbtype.Map{
			"city":     mmdbtype.Map{"names": mmdbtype.Map{"en": mmdbtype.String(p.City)}},
			"country":  mmdbtype.Map{"iso_code": mmdbtype.String(p.CountryISO)},
			"location": mmdbtype.Map{"latitude": mmdbtype.Float64(p.Lat), "longitude": mmdbtype.Float64(p.Lon)},
		}); err != nil {
			return err
		}
	}
	return write(tree, path)
}

// WriteASN writes a GeoLite2-ASN-shaped database to path.
func WriteASN(path string, networks []Network) error {
	tree, err := newTree("GeoLite2-ASN")
	if err != nil {
		return err
	}
	for _, n := range networks {
		_, network, err := net.ParseCIDR(n.Network)
		if err != nil {
			return fmt.Errorf("network %q: %w", n.Network, err)
		}
		if err := tree.Insert(network, mmdbtype.Map{
			"autonomous_system_number":       mmdbtype.Uint32(n.Number),
			"autonomous_system_organization": mmdbtype.String(n.Organization),
		}); err != nil {
			return err
		}
	}
	return write(tree, path)
}

func newTree(databaseType string) (*mmdbwriter.Tree, error) {
	// Documentation ranges (192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24)
	// are reserved networks; tests use them, so reserved networks stay open.
	return mmdbwriter.New(mmdbwriter.Options{DatabaseType: databaseType, RecordSize: 28, IncludeReservedNetworks: true})
}

func write(tree *mmdbwriter.Tree, path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := tree.WriteTo(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
