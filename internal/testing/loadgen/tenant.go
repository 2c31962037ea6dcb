package loadgen

import (
	"fmt"
	"math"
	"math/rand/v2"
	"net/netip"
	"strings"
)

// Synthetic addresses only: offices egress from TEST-NET-3 (203.0.113.0/24,
// the tenant's trusted networks), homes from the shared address space
// 100.64.0.0/10, phones from the IPv6 documentation prefix, attackers from
// TEST-NET-2 (198.51.100.0/24) and TEST-NET-1 (192.0.2.0/24). No real
// subscriber's address appears in generated data.

// office is a place the tenant's people work from.
type office struct {
	city, state, country string
	lat, lon             float64
	// tz is the UTC offset in minutes (no DST: one generated week rarely
	// spans a change, and no detector reads local time).
	tz     int
	egress netip.Addr
	share  float64 // of the workforce
}

var offices = []office{
	{"Berlin", "Berlin", "DE", 52.5200, 13.4050, 60, netip.MustParseAddr("203.0.113.10"), 0.22},
	{"London", "England", "GB", 51.5072, -0.1276, 0, netip.MustParseAddr("203.0.113.11"), 0.18},
	{"New York", "New York", "US", 40.7128, -74.0060, -300, netip.MustParseAddr("203.0.113.12"), 0.20},
	{"Seattle", "Washington", "US", 47.6062, -122.3321, -480, netip.MustParseAddr("203.0.113.13"), 0.12},
	{"Paris", "Ile-de-France", "FR", 48.8566, 2.3522, 60, netip.MustParseAddr("203.0.113.14"), 0.10},
	{"Bengaluru", "Karnataka", "IN", 12.9716, 77.5946, 330, netip.MustParseAddr("203.0.113.15"), 0.10},
	{"Sydney", "New South Wales", "AU", -33.8688, 151.2093, 600, netip.MustParseAddr("203.0.113.16"), 0.08},
}

// vpnEgress is the corporate VPN concentrator: trusted, located elsewhere.
var vpnEgress = office{"Amsterdam", "North Holland", "NL", 52.3676, 4.9041, 60, netip.MustParseAddr("203.0.113.200"), 0}

// TrustedNetwork is the CIDR of the offices and the VPN.
const TrustedNetwork = "203.0.113.0/24"

var firstNames = []string{"megan", "alex", "diego", "lynne", "grady", "adele", "isaiah", "joni", "lee", "miriam",
	"nestor", "patti", "pradeep", "johanna", "lidia", "henrietta", "christie", "irvin", "allan", "debra",
	"emily", "enrico", "gerhart", "raul", "sofia", "yuki", "amara", "tomasz", "ingrid", "kwame",
	"lucia", "mateo", "noor", "oskar", "priya", "quentin", "rosa", "stefan", "tariq", "ursula",
	"viktor", "wanjiru", "xavier", "yara", "zoltan", "aiko", "bruno", "chloe", "dmitri", "elif"}

var lastNames = []string{"bowen", "wilber", "siciliani", "robbins", "archie", "vance", "langer", "sherman", "gu", "graham",
	"zelaya", "fernandez", "gupta", "lauer", "holloway", "gerhart", "cline", "sink", "deyoung", "berg",
	"braun", "rossi", "novak", "okafor", "tanaka", "silva", "kowalski", "nguyen", "haddad", "larsen",
	"moreau", "schmidt", "osei", "park", "ivanova", "costa", "jensen", "kumar", "lopez", "meyer"}

// browsers are the user agents of the tenant's devices, with their
// deviceDetail names.
var browsers = []struct{ ua, os, browser, o365OS, o365Browser string }{
	{"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0", "Windows 10", "Edge 131.0.0", "Windows10", "Edge"},
	{"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36", "Windows 10", "Chrome 131.0.0", "Windows10", "Chrome"},
	{"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15", "MacOs", "Safari 18.1", "MacOs", "Safari"},
	{"Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0", "Windows 10", "Firefox 133.0", "Windows10", "Firefox"},
	{"Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.18129; Pro)", "Windows 10", "Rich Client 16.0.18129", "Windows10", "ClientApp"},
}

// mobileUA is the Outlook app on a phone.
const mobileUA = "Outlook-iOS/2.0"

// Tenant-wide constants, all fictional.
const (
	Domain          = "contoso.com"
	GoogleDomain    = "contosolabs.com"
	TenantDomain    = "contoso.onmicrosoft.com"
	tenantID        = "4b2462a4-bbee-495a-a0e1-f23ae524cc9c"
	googleCustomer  = "C03az79cb"
	exchangeAppID   = "00000002-0000-0ff1-ce00-000000000000"
	officeAppID     = "4765445b-32c6-49b0-83e6-1d93765276ca"
	outlookAppID    = "d3590ed6-52b3-4102-aeff-aad2292ab01c"
	marketingAppID  = "3c1a6f0e-2222-4d4d-8888-000000000001"
	Admin           = "lynne.robbins@" + Domain
	ServiceAccount  = "scanner@" + Domain
	SharedMailbox   = "info@" + Domain
	BulkSender      = "newsletter@" + Domain
	migrationTarget = "migration-svc@" + Domain
)

// user is one mailbox of the tenant.
type user struct {
	idx                 int
	upn, display        string
	objectID, puid, sid string
	mailboxGUID         string
	office              *office
	home, mobile        netip.Addr
	homeLat, homeLon    float64
	device              string
	browser             int
	// activity scales every event rate: people differ by an order of
	// magnitude in how much mail they handle (log-normal).
	activity float64
	// remoteDays is the share of weekdays worked from home.
	remoteDays float64
	vpn        bool
	admin      bool
	google     bool
	googleMail string
	profileID  string
	// kind marks the special accounts (service, shared, bulk sender).
	kind accountKind
}

type accountKind uint8

const (
	person accountKind = iota
	serviceAccount
	sharedMailbox
	bulkSender
)

// newTenant creates n people plus the service account, the shared mailbox
// and the authorised bulk sender. Everything is drawn from the seed.
func newTenant(seed uint64, n int) []user {
	r := rand.New(rand.NewPCG(seed, 0x7e4a47))
	users := make([]user, 0, n+3)
	for i := 0; i < n; i++ {
		u := user{idx: i}
		first, last := firstNames[i%len(firstNames)], lastNames[(i/len(firstNames))%len(lastNames)]
		local := first + "." + last
		if gen := i / (len(firstNames) * len(lastNames)); gen > 0 {
			local += fmt.Sprint(gen)
		}
		if i == 0 {
			local = strings.TrimSuffix(Admin, "@"+Domain)
		}
		u.upn = local + "@" + Domain
		u.display = titleCase(strings.ReplaceAll(strings.TrimRight(local, "0123456789"), ".", " "))
		u.objectID = randGUID(r)
		u.puid = "1003" + randHex(r, 12)
		u.sid = fmt.Sprintf("S-1-5-21-3422892061-1135328251-2670905592-%d", 26680000+i)
		u.mailboxGUID = randGUID(r)
		u.office = pickOffice(r)
		u.home = homeAddr(i)
		u.mobile = mobileAddr(i)
		// Homes are within ~30 km of the office.
		u.homeLat = u.office.lat + (r.Float64()-0.5)*0.5
		u.homeLon = u.office.lon + (r.Float64()-0.5)*0.5
		u.device = randGUID(r)
		u.browser = r.IntN(len(browsers))
		u.activity = math.Exp(r.NormFloat64() * 0.5)
		u.remoteDays = []float64{0, 0.2, 0.4, 0.6, 1}[r.IntN(5)]
		u.vpn = r.Float64() < 0.10
		u.admin = i == 0 || r.Float64() < 0.005
		u.google = r.Float64() < 0.25
		if u.google {
			u.googleMail = local + "@" + GoogleDomain
			u.profileID = fmt.Sprintf("1%020d", r.Uint64()%1e18)
		}
		users = append(users, u)
	}
	for _, s := range []struct {
		addr string
		kind accountKind
	}{{ServiceAccount, serviceAccount}, {SharedMailbox, sharedMailbox}, {BulkSender, bulkSender}} {
		u := user{idx: len(users), upn: s.addr, kind: s.kind, office: &offices[0], activity: 1}
		u.display = titleCase(strings.TrimSuffix(s.addr, "@"+Domain))
		u.objectID, u.puid, u.mailboxGUID, u.device = randGUID(r), "1003"+randHex(r, 12), randGUID(r), randGUID(r)
		u.sid = fmt.Sprintf("S-1-5-21-3422892061-1135328251-2670905592-%d", 26600000+u.idx)
		u.home, u.mobile = u.office.egress, u.office.egress
		u.homeLat, u.homeLon = u.office.lat, u.office.lon
		users = append(users, u)
	}
	return users
}

func pickOffice(r *rand.Rand) *office {
	x := r.Float64()
	for i := range offices {
		if x < offices[i].share {
			return &offices[i]
		}
		x -= offices[i].share
	}
	return &offices[0]
}

// homeAddr gives user i its own address in 100.64.0.0/10 (4M addresses).
func homeAddr(i int) netip.Addr {
	v := (uint32(100)<<24 | uint32(64)<<16) + uint32(i+1)
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

// mobileAddr gives user i its own address in 2001:db8::/32.
func mobileAddr(i int) netip.Addr {
	a := [16]byte{0x20, 0x01, 0x0d, 0xb8, 0x10, 0x00}
	a[11] = 1
	a[12], a[13], a[14], a[15] = byte(i>>24), byte(i>>16), byte(i>>8), byte(i)
	return netip.AddrFrom16(a)
}

func titleCase(s string) string {
	parts := strings.Fields(s)
	for i, p := range parts {
		parts[i] = strings.ToUpper(p[:1]) + p[1:]
	}
	return strings.Join(parts, " ")
}
