package auditrecord

import (
	"github.com/otelsec/emailcompromise/internal/asciifold"
	"net/netip"
	"strings"
	"time"
)

// CleanIP turns a vendor's client address into the bare IP text and its
// parsed form. Vendors write "1.2.3.4", "1.2.3.4:51234", "[2001:db8::1]:443",
// "2001:db8::1" and sometimes junk; junk yields an invalid netip.Addr and the
// trimmed text, so nothing is lost but nothing false is claimed either. An
// IPv6 zone ("fe80::1%eth0") is dropped: it names an interface of the host
// that wrote it, not the client, and kept it would make one address many
// (and any length) for the stores keyed by address, and match no prefix.
func CleanIP(raw string) (string, netip.Addr) {
	s := strings.TrimSpace(raw)
	if s == "" {
		return "", netip.Addr{}
	}
	if ip, err := netip.ParseAddr(s); err == nil {
		if ip.Is4In6() || ip.Zone() != "" {
			// "::ffff:1.2.3.4" is the IPv4 client: text and parsed form agree.
			ip = ip.Unmap().WithZone("")
			return ip.String(), ip
		}
		return s, ip
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		ip := ap.Addr().Unmap().WithZone("")
		return ip.String(), ip
	}
	// "[2001:db8::1]" without a port.
	if len(s) > 2 && s[0] == '[' && s[len(s)-1] == ']' {
		inner := s[1 : len(s)-1]
		if ip, err := netip.ParseAddr(inner); err == nil {
			if ip.Is4In6() || ip.Zone() != "" {
				ip = ip.Unmap().WithZone("")
				return ip.String(), ip
			}
			return inner, ip
		}
	}
	return s, netip.Addr{}
}

// NormalizeAddress reduces one mail address as vendors write it to the
// lowercased bare address: "SMTP:Bob@Contoso.com", "mailto:bob@contoso.com",
// "Bob <bob@contoso.com>", the markdown "[bob@x.com](mailto:bob@x.com)" some
// collectors produce, quoted values. Exchange legacy DNs ("[EX:/o=...]",
// "/o=ExchangeLabs/...") are kept whole, lowercased: they name internal
// recipients and IsLegacyDN recognises them.
func NormalizeAddress(raw string) string {
	if a, ok := plainAddress(raw); ok {
		return a
	}
	s := strings.TrimSpace(raw)
	s = strings.Trim(s, `"'`)
	if strings.HasPrefix(s, "[") {
		// Markdown link: keep the text part.
		if end := strings.Index(s, "]("); end > 0 {
			s = s[1:end]
		}
	}
	// Exchange's display form of a recipient: "Bob" [SMTP:bob@x.com].
	if open := strings.LastIndexByte(s, '['); open > 0 && strings.HasSuffix(s, "]") && asciifold.HasPrefix(s[open+1:], "smtp:") {
		s = s[open+1 : len(s)-1]
	}
	if lt := strings.LastIndexByte(s, '<'); lt >= 0 {
		if gt := strings.IndexByte(s[lt:], '>'); gt > 0 {
			s = s[lt+1 : lt+gt]
		}
	}
	for _, prefix := range [...]string{"smtp:", "mailto:", "sip:"} {
		if asciifold.HasPrefix(s, prefix) {
			s = s[len(prefix):]
			break
		}
	}
	return asciifold.ToLower(strings.TrimSpace(s))
}

// plainAddress returns raw lowercased when it needs none of
// NormalizeAddress's clean-up: no surrounding space or quotes, no markdown
// link or legacy DN bracket, no angle brackets, no scheme prefix (all of
// which need a ':' or a '<'), only ASCII. Most vendor fields are such plain
// addresses, and one pass over them replaces the trims, searches and
// prefix tests of the general path.
func plainAddress(raw string) (string, bool) {
	if raw == "" {
		return "", false
	}
	switch raw[0] {
	case ' ', '\t', '\n', '\r', '"', '\'', '[':
		return "", false
	}
	switch raw[len(raw)-1] {
	case ' ', '\t', '\n', '\r', '"', '\'':
		return "", false
	}
	upper := false
	for i := 0; i < len(raw); i++ {
		switch c := raw[i]; {
		case c == ':' || c == '<' || c >= 0x80:
			return "", false
		case 'A' <= c && c <= 'Z':
			upper = true
		}
	}
	if upper {
		return strings.ToLower(raw), true
	}
	return raw, true
}

// SplitAddresses splits a multi-valued recipient list ("a@x.com;b@y.com",
// "a@x.com, b@y.com", PowerShell arrays rendered as text) into normalised
// addresses, skipping empty entries.
func SplitAddresses(raw string) []string {
	var out []string
	for _, part := range strings.FieldsFunc(raw, func(r rune) bool { return r == ';' || r == ',' }) {
		if a := NormalizeAddress(part); a != "" {
			out = append(out, a)
		}
	}
	return out
}

// IsLegacyDN reports whether addr is an Exchange legacy distinguished name:
// such a recipient is always inside the organisation.
func IsLegacyDN(addr string) bool {
	a := strings.TrimPrefix(addr, "[")
	return asciifold.HasPrefix(a, "ex:/") || asciifold.HasPrefix(a, "/o=")
}

// Domain returns the lowercased domain part of addr ("" when it has none).
func Domain(addr string) string {
	at := strings.LastIndexByte(addr, '@')
	if at < 0 {
		return ""
	}
	return asciifold.ToLower(strings.TrimRight(addr[at+1:], ".>] "))
}

// ParseTime reads the timestamps vendors write: RFC 3339 with or without zone
// (no zone means UTC, as the O365 API documents), fractions of any length up
// to nanoseconds (Azure writes 7 digits), and the US-locale form of Purview
// CSV exports ("9/20/2023 4:05:03 AM"). Out-of-range clock fields such as
// the 65 seconds of a published O365 sample are carried over (17:08:65 reads
// as 17:09:05) rather than losing the record's time. The result is UTC.
func ParseTime(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	var t time.Time
	var ok bool
	if len(s) >= 10 && s[4] == '-' && s[7] == '-' {
		t, ok = parseISOTime(s)
	} else {
		t, ok = parseUSTime(s)
	}
	// The zero time means "no time" in the view (Record.Time); a record
	// claiming 0001-01-01T00:00:00Z has no usable time either.
	return t, ok && !t.IsZero()
}

func parseISOTime(s string) (time.Time, bool) {
	p := timeParser{s: s, ok: true}
	year := p.digits(4)
	month := p.after('-', 2)
	day := p.after('-', 2)
	if !p.ok || month < 1 || month > 12 || day < 1 || day > 31 {
		return time.Time{}, false
	}
	var hour, minute, sec, nsec int
	if p.i < len(s) && (s[p.i] == 'T' || s[p.i] == 't' || s[p.i] == ' ') {
		p.i++
		hour = p.digits(2)
		minute = p.after(':', 2)
		if p.i < len(s) && s[p.i] == ':' {
			sec = p.after(':', 2)
		}
		nsec = p.fraction()
	}
	if !p.ok || hour > 24 || minute > 59 || sec > 99 {
		return time.Time{}, false
	}
	offset, ok := p.zone()
	if !ok || p.i != len(s) {
		return time.Time{}, false
	}
	t := time.Date(year, time.Month(month), day, hour, minute, sec, nsec, time.UTC)
	return t.Add(-time.Duration(offset) * time.Second), true
}

func parseUSTime(s string) (time.Time, bool) {
	p := timeParser{s: s, ok: true}
	month := p.upTo(2)
	day := p.after('/', 2)
	year := p.after('/', 4)
	if !p.ok || month < 1 || month > 12 || day < 1 || day > 31 {
		return time.Time{}, false
	}
	var hour, minute, sec, nsec int
	if p.i < len(s) && s[p.i] == ' ' {
		p.i++
		hour = p.upTo(2)
		minute = p.after(':', 2)
		if p.i < len(s) && s[p.i] == ':' {
			sec = p.after(':', 2)
		}
		nsec = p.fraction()
		rest := strings.TrimSpace(s[p.i:])
		p.i = len(s)
		switch {
		case rest == "":
		case asciifold.Equal(rest, "AM"):
			if hour == 12 {
				hour = 0
			}
		case asciifold.Equal(rest, "PM"):
			if hour < 12 {
				hour += 12
			}
		default:
			return time.Time{}, false
		}
	}
	if !p.ok || p.i != len(s) || hour > 23 || minute > 59 || sec > 99 {
		return time.Time{}, false
	}
	return time.Date(year, time.Month(month), day, hour, minute, sec, nsec, time.UTC), true
}

// timeParser reads fixed-layout digits; ok turns false at the first mismatch.
type timeParser struct {
	s  string
	i  int
	ok bool
}

// digits reads exactly n digits (n == 0: one or more).
func (p *timeParser) digits(n int) int {
	v, start := 0, p.i
	for p.i < len(p.s) && p.s[p.i] >= '0' && p.s[p.i] <= '9' && (n == 0 || p.i-start < n) {
		v = v*10 + int(p.s[p.i]-'0')
		p.i++
	}
	if p.i == start || (n > 0 && p.i-start != n) {
		p.ok = false
	}
	return v
}

// upTo reads one to n digits.
func (p *timeParser) upTo(n int) int {
	v, start := 0, p.i
	for p.i < len(p.s) && p.s[p.i] >= '0' && p.s[p.i] <= '9' && p.i-start < n {
		v = v*10 + int(p.s[p.i]-'0')
		p.i++
	}
	if p.i == start {
		p.ok = false
	}
	return v
}

// after expects sep, then digits(n).
func (p *timeParser) after(sep byte, n int) int {
	if p.i >= len(p.s) || p.s[p.i] != sep {
		p.ok = false
		return 0
	}
	p.i++
	if n == 2 {
		return p.upTo(2)
	}
	return p.digits(n)
}

// fraction reads an optional ".ddd..." as nanoseconds (digits past 9 ignored).
func (p *timeParser) fraction() int {
	if p.i >= len(p.s) || (p.s[p.i] != '.' && p.s[p.i] != ',') {
		return 0
	}
	p.i++
	nsec, scale, start := 0, 100_000_000, p.i
	for p.i < len(p.s) && p.s[p.i] >= '0' && p.s[p.i] <= '9' {
		nsec += int(p.s[p.i]-'0') * scale
		scale /= 10
		p.i++
	}
	if p.i == start {
		p.ok = false
	}
	return nsec
}

// zone reads an optional Z or ±hh:mm / ±hhmm and returns the offset in seconds.
func (p *timeParser) zone() (int, bool) {
	if p.i >= len(p.s) {
		return 0, true
	}
	switch p.s[p.i] {
	case 'Z', 'z':
		p.i++
		return 0, true
	case '+', '-':
		sign := 1
		if p.s[p.i] == '-' {
			sign = -1
		}
		p.i++
		h := p.digits(2)
		if p.i < len(p.s) && p.s[p.i] == ':' {
			p.i++
		}
		m := p.digits(2)
		if !p.ok || h > 23 || m > 59 {
			return 0, false
		}
		return sign * (h*3600 + m*60), true
	}
	return 0, false
}
