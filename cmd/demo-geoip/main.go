// Command demo-geoip writes the small GeoLite2-City and GeoLite2-ASN shaped
// databases of the demo tenant (testdata/demo/geoip.yaml), so `make run`
// shows GeoIP-based detections without downloading MaxMind's databases.
//
//	go run ./cmd/demo-geoip -table testdata/demo/geoip.yaml -out DIR
//
// writes DIR/city.mmdb and DIR/asn.mmdb.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/otelsec/emailcompromise/internal/testing/geodb"
)

func main() {
	table := flag.String("table", "testdata/demo/geoip.yaml", "YAML table of demo networks")
	out := flag.String("out", "", "directory to write city.mmdb and asn.mmdb into")
	flag.Parse()
	if *out == "" {
		fmt.Fprintln(os.Stderr, "demo-geoip: -out is required")
		os.Exit(2)
	}
	if err := geodb.WriteFromTable(*table, *out); err != nil {
		fmt.Fprintln(os.Stderr, "demo-geoip:", err)
		os.Exit(1)
	}
}
