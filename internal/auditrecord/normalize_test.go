package auditrecord_test

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/otelsec/emailcompromise/internal/auditrecord"
)

func TestCleanIP(t *testing.T) {
	tests := []struct {
		name, raw string
		wantText  string
		wantIP    string // "" means the parsed form must be invalid
	}{
		{name: "bare IPv4", raw: "1.2.3.4", wantText: "1.2.3.4", wantIP: "1.2.3.4"},
		// Exchange writes the client's source port after the address.
		{name: "IPv4 with port", raw: "1.2.3.4:51234", wantText: "1.2.3.4", wantIP: "1.2.3.4"},
		{name: "bracketed IPv6 with port", raw: "[2001:db8::1]:443", wantText: "2001:db8::1", wantIP: "2001:db8::1"},
		{name: "bracketed IPv6 without port", raw: "[2001:db8::1]", wantText: "2001:db8::1", wantIP: "2001:db8::1"},
		{name: "bare IPv6", raw: "2001:db8::1", wantText: "2001:db8::1", wantIP: "2001:db8::1"},
		// Elastic's exchange-item sample has the loopback of a server-side job.
		{name: "IPv6 loopback", raw: "::1", wantText: "::1", wantIP: "::1"},
		// A v4-mapped address is the same client as its IPv4 form: text and
		// parsed form must agree, or per-IP state would split one client in two.
		{name: "v4-mapped IPv6", raw: "::ffff:1.2.3.4", wantText: "1.2.3.4", wantIP: "1.2.3.4"},
		{name: "v4-mapped IPv6 with port", raw: "[::ffff:1.2.3.4]:443", wantText: "1.2.3.4", wantIP: "1.2.3.4"},
		{name: "surrounding space", raw: " 10.0.0.1 ", wantText: "10.0.0.1", wantIP: "10.0.0.1"},
		// A zone names an interface of the host that wrote the record: kept,
		// one client would be as many addresses as zones (of any length) to
		// the stores keyed by address, and match no trusted prefix.
		{name: "IPv6 with a zone", raw: "fe80::1%eth0", wantText: "fe80::1", wantIP: "fe80::1"},
		{name: "IPv6 with a zone and port", raw: "[2001:db8::1%" + strings.Repeat("z", 4096) + "]:443", wantText: "2001:db8::1", wantIP: "2001:db8::1"},
		{name: "bracketed IPv6 with a zone", raw: "[2001:db8::1%7]", wantText: "2001:db8::1", wantIP: "2001:db8::1"},
		// Junk is kept as text (nothing lost) but never claimed as an IP.
		{name: "junk", raw: "not-an-ip", wantText: "not-an-ip"},
		{name: "port out of range", raw: "1.2.3.4:99999", wantText: "1.2.3.4:99999"},
		{name: "empty", raw: "", wantText: ""},
		{name: "only space", raw: "   ", wantText: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			text, ip := auditrecord.CleanIP(tt.raw)
			if text != tt.wantText {
				t.Errorf("CleanIP(%q) text = %q, want %q", tt.raw, text, tt.wantText)
			}
			var want netip.Addr
			if tt.wantIP != "" {
				want = netip.MustParseAddr(tt.wantIP)
			}
			if ip != want {
				t.Errorf("CleanIP(%q) addr = %v, want %v", tt.raw, ip, want)
			}
		})
	}
}

func TestNormalizeAddress(t *testing.T) {
	tests := []struct{ name, raw, want string }{
		{"plain", "bob@contoso.com", "bob@contoso.com"},
		{"casing", "Bob@Contoso.COM", "bob@contoso.com"},
		{"surrounding space", "  BOB@X.COM  ", "bob@x.com"},
		// Exchange proxy addresses: upper-case SMTP is the primary address.
		{"SMTP primary proxy", "SMTP:Bob@Contoso.com", "bob@contoso.com"},
		{"smtp secondary proxy", "smtp:bob@contoso.com", "bob@contoso.com"},
		{"mailto", "mailto:Bob@Contoso.com", "bob@contoso.com"},
		{"sip", "sip:bob@contoso.com", "bob@contoso.com"},
		{"display name", "Bob <bob@x.com>", "bob@x.com"},
		{"quoted display name", `"Bob Smith" <Bob@X.com>`, "bob@x.com"},
		{"display name with mailto", "Bob <mailto:bob@x.com>", "bob@x.com"},
		// The Google forwarding sample carries what a collector made of a link.
		{"markdown link", "[a@b.com](mailto:a@b.com)", "a@b.com"},
		{"double quotes", `"bob@x.com"`, "bob@x.com"},
		{"single quotes", `'bob@x.com'`, "bob@x.com"},
		// Legacy DNs name internal recipients: kept whole so IsLegacyDN sees them.
		{"legacy DN in brackets",
			"[EX:/O=ExchangeLabs/OU=Exchange Administrative Group (FYDIBOHF23SPDLT)/CN=Recipients/CN=abc123-Bob]",
			"[ex:/o=exchangelabs/ou=exchange administrative group (fydibohf23spdlt)/cn=recipients/cn=abc123-bob]"},
		{"bare legacy DN",
			"/o=ExchangeLabs/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)/cn=Recipients/cn=Bob",
			"/o=exchangelabs/ou=exchange administrative group (fydibohf23spdlt)/cn=recipients/cn=bob"},
		// Non-user actors keep their identity string, lowercased.
		{"system actor", `NT AUTHORITY\SYSTEM (Microsoft.Exchange.ServiceHost)`, `nt authority\system (microsoft.exchange.servicehost)`},
		{"non-ASCII", "Jürgen@Example.DE", "jürgen@example.de"},
		{"empty", "", ""},
		{"prefix only", "SMTP:", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := auditrecord.NormalizeAddress(tt.raw); got != tt.want {
				t.Errorf("NormalizeAddress(%q) = %q, want %q", tt.raw, got, tt.want)
			}
		})
	}
}

func TestSplitAddresses(t *testing.T) {
	tests := []struct {
		name, raw string
		want      []string
	}{
		{"semicolons", "a@x.com;b@y.com", []string{"a@x.com", "b@y.com"}},
		{"commas with space", "a@x.com, B@Y.com", []string{"a@x.com", "b@y.com"}},
		{"mixed with prefixes", "SMTP:a@x.com;smtp:b@y.com,mailto:c@z.com", []string{"a@x.com", "b@y.com", "c@z.com"}},
		{"display names", "Bob <bob@x.com>; Alice <alice@y.com>", []string{"bob@x.com", "alice@y.com"}},
		{"empty entries skipped", ";a@x.com;;  ; b@y.com;", []string{"a@x.com", "b@y.com"}},
		{"single", "a@x.com", []string{"a@x.com"}},
		{"empty", "", nil},
		{"separators only", ";, ;", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := auditrecord.SplitAddresses(tt.raw); !slices.Equal(got, tt.want) {
				t.Errorf("SplitAddresses(%q) = %q, want %q", tt.raw, got, tt.want)
			}
		})
	}
}

func TestIsLegacyDN(t *testing.T) {
	tests := []struct {
		addr string
		want bool
	}{
		{"[EX:/O=ExchangeLabs/OU=Exchange Administrative Group (FYDIBOHF23SPDLT)/CN=Recipients/CN=bob]", true},
		{"[ex:/o=exchangelabs/cn=recipients/cn=bob]", true},
		{"ex:/o=exchangelabs/cn=recipients/cn=bob", true},
		{"/o=ExchangeLabs/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)/cn=Recipients/cn=bob", true},
		{"/O=EXCHANGELABS/CN=BOB", true},
		{"/ou=not-an-org", false},
		{"bob@contoso.com", false},
		{"[a@b.com](mailto:a@b.com)", false},
		{"", false},
	}
	for _, tt := range tests {
		if got := auditrecord.IsLegacyDN(tt.addr); got != tt.want {
			t.Errorf("IsLegacyDN(%q) = %v, want %v", tt.addr, got, tt.want)
		}
	}
}

func TestDomain(t *testing.T) {
	tests := []struct{ addr, want string }{
		{"bob@contoso.com", "contoso.com"},
		{"bob@Contoso.COM", "contoso.com"},
		{"bob@sub.contoso.com", "sub.contoso.com"},
		// The last @ separates the domain, as in quoted local parts.
		{`"a@b"@c.com`, "c.com"},
		// A trailing root dot or the leftovers of "<...>" are not the domain.
		{"bob@contoso.com.", "contoso.com"},
		{"bob@contoso.com>", "contoso.com"},
		{"bob", ""},
		{"bob@", ""},
		{"", ""},
	}
	for _, tt := range tests {
		if got := auditrecord.Domain(tt.addr); got != tt.want {
			t.Errorf("Domain(%q) = %q, want %q", tt.addr, got, tt.want)
		}
	}
}

func TestParseTime(t *testing.T) {
	utc := func(y int, mo time.Month, d, h, mi, s, ns int) time.Time {
		return time.Date(y, mo, d, h, mi, s, ns, time.UTC)
	}
	tests := []struct {
		name, in string
		want     time.Time
		ok       bool
	}{
		{"RFC 3339 Z", "2020-03-13T19:15:41Z", utc(2020, 3, 13, 19, 15, 41, 0), true},
		{"lowercase t and z", "2020-03-13t19:15:41z", utc(2020, 3, 13, 19, 15, 41, 0), true},
		{"milliseconds", "2022-10-13T20:57:35.833Z", utc(2022, 10, 13, 20, 57, 35, 833_000_000), true},
		// Azure writes seven fractional digits.
		{"seven digit fraction", "2020-03-13T19:15:41.6195833Z", utc(2020, 3, 13, 19, 15, 41, 619_583_300), true},
		{"digits past nanoseconds ignored", "2020-03-13T19:15:41.1234567891Z", utc(2020, 3, 13, 19, 15, 41, 123_456_789), true},
		{"negative offset", "2019-10-18T04:45:48.0729893-05:00", utc(2019, 10, 18, 9, 45, 48, 72_989_300), true},
		{"positive offset", "2023-10-10T17:08:05+02:00", utc(2023, 10, 10, 15, 8, 5, 0), true},
		{"offset without colon", "2023-10-10T17:08:05-0530", utc(2023, 10, 10, 22, 38, 5, 0), true},
		{"offset crossing midnight", "2023-10-10T01:00:00+03:00", utc(2023, 10, 9, 22, 0, 0, 0), true},
		{"zero offset", "2021-07-30T11:29:26.6733668+00:00", utc(2021, 7, 30, 11, 29, 26, 673_366_800), true},
		// The O365 API documents times without zone as UTC.
		{"no zone is UTC", "2023-09-26T02:05:42", utc(2023, 9, 26, 2, 5, 42, 0), true},
		{"space separator", "2023-09-26 02:05:42", utc(2023, 9, 26, 2, 5, 42, 0), true},
		{"no seconds", "2023-09-26T02:05", utc(2023, 9, 26, 2, 5, 0, 0), true},
		{"date only", "2023-09-26", utc(2023, 9, 26, 0, 0, 0, 0), true},
		{"surrounding space", " 2023-09-26T02:05:42Z ", utc(2023, 9, 26, 2, 5, 42, 0), true},
		// The published Splunk UserLoginFailed sample has 65 seconds; carrying
		// them over keeps the record's time instead of losing the record.
		{"65 seconds carried over", "2023-10-10T17:08:65", utc(2023, 10, 10, 17, 9, 5, 0), true},
		{"hour 24 is next midnight", "2023-10-10T24:00:00Z", utc(2023, 10, 11, 0, 0, 0, 0), true},
		// The day is only range-checked to 31, so February 30 carries over
		// the same way the seconds do.
		{"day past month end carried over", "2023-02-30T00:00:00Z", utc(2023, 3, 2, 0, 0, 0, 0), true},

		// Purview CSV exports write the US locale.
		{"US locale AM", "9/20/2023 4:05:03 AM", utc(2023, 9, 20, 4, 5, 3, 0), true},
		{"US locale PM", "9/20/2023 4:05:03 PM", utc(2023, 9, 20, 16, 5, 3, 0), true},
		{"US locale noon", "1/2/2024 12:00:00 PM", utc(2024, 1, 2, 12, 0, 0, 0), true},
		{"US locale midnight", "1/2/2024 12:00:00 AM", utc(2024, 1, 2, 0, 0, 0, 0), true},
		{"US locale lowercase pm", "12/31/2023 11:59:59 pm", utc(2023, 12, 31, 23, 59, 59, 0), true},
		{"US locale 24h", "9/20/2023 16:05:03", utc(2023, 9, 20, 16, 5, 3, 0), true},
		{"US locale date only", "9/20/2023", utc(2023, 9, 20, 0, 0, 0, 0), true},

		{"garbage", "yesterday", time.Time{}, false},
		{"empty", "", time.Time{}, false},
		{"slashes in ISO order", "2023/10/10 17:08:05", time.Time{}, false},
		{"trailing junk", "2023-10-10T17:08:05Zjunk", time.Time{}, false},
		{"zone junk", "2023-10-10T17:08:05 UTC", time.Time{}, false},
		{"empty fraction", "2023-10-10T17:08:05.Z", time.Time{}, false},
		{"two digit year", "9/20/23 4:05:03 AM", time.Time{}, false},
		{"bad meridiem", "9/20/2023 4:05:03 XM", time.Time{}, false},
		{"month 13", "2023-13-01T00:00:00Z", time.Time{}, false},
		{"month 0", "2023-00-10T00:00:00Z", time.Time{}, false},
		{"day 32", "2023-10-32T00:00:00Z", time.Time{}, false},
		{"day 0", "2023-10-00T00:00:00Z", time.Time{}, false},
		{"minute 60", "2023-10-10T17:60:00Z", time.Time{}, false},
		{"hour 25", "2023-10-10T25:00:00Z", time.Time{}, false},
		{"offset hour 24", "2023-10-10T17:08:05+24:00", time.Time{}, false},
		{"US month 13", "13/20/2023 4:05:03 AM", time.Time{}, false},
		{"US day 32", "9/32/2023 4:05:03 AM", time.Time{}, false},
		{"US hour 24", "9/20/2023 24:05:03", time.Time{}, false},
		// A day of twenty digits once wrapped around int and read as the 5th.
		{"US day overflowing int", "9/18446744073709551621/2023", time.Time{}, false},
		// The zero time means "no time" everywhere in the view; a record that
		// claims it has no usable time either.
		{"the zero time", "0001-01-01T00:00:00Z", time.Time{}, false},
		{"the zero time US", "1/1/0001 12:00:00 AM", time.Time{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := auditrecord.ParseTime(tt.in)
			if ok != tt.ok || !got.Equal(tt.want) {
				t.Errorf("ParseTime(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.ok)
			}
			if ok && got.Location() != time.UTC {
				t.Errorf("ParseTime(%q) location = %v, want UTC", tt.in, got.Location())
			}
		})
	}
}
