// Package geodb writes small MaxMind-format databases with the layout of
// GeoLite2-City and GeoLite2-ASN, so tests and the demo (cmd/demo-geoip) never download one.
package geodb // import "github.com/otelsec/emailcompromise/internal/testing/geodb"

import (
	"fmt"
	"net"
	"os"
	"path/filepath"

	"go.yaml.in/yaml/v3"

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

// Table is a YAML description of networks (testdata/demo/geoip.yaml): where
// each is and, when asn is set, whose.
type Table struct {
	Places []struct {
		Network string  `yaml:"network"`
		City    string  `yaml:"city"`
		Country string  `yaml:"country"`
		Lat     float64 `yaml:"lat"`
		Lon     float64 `yaml:"lon"`
		ASN     uint32  `yaml:"asn"`
		Org     string  `yaml:"org"`
	} `yaml:"places"`
}

// WriteFromTable reads a Table file and writes dir/city.mmdb and dir/asn.mmdb.
func WriteFromTable(tablePath, dir string) error {
	data, err := os.ReadFile(tablePath)
	if err != nil {
		return err
	}
	var t Table
	if err := yaml.Unmarshal(data, &t); err != nil {
		return fmt.Errorf("%s: %w", tablePath, err)
	}
	var places []Place
	var networks []Network
	for _, p := range t.Places {
		places = append(places, Place{Network: p.Network, City: p.City, CountryISO: p.Country, Lat: p.Lat, Lon: p.Lon})
		if p.ASN != 0 {
			networks = append(networks, Network{Network: p.Network, Number: p.ASN, Organization: p.Org})
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := WriteCity(filepath.Join(dir, "city.mmdb"), places); err != nil {
		return err
	}
	return WriteASN(filepath.Join(dir, "asn.mmdb"), networks)
}
