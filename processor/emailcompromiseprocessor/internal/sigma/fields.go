package sigma

import (
	"github.com/otelsec/emailcompromise/internal/asciifold"
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/otelsec/emailcompromise/internal/auditrecord"
)

// Bounds on what reading one field of one record may cost: a hostile or
// freakish body (a million-element array, nesting hundreds deep) must not
// make a rule expensive.
const (
	maxFieldDepth  = 32
	maxFieldLeaves = 4096
)

// field is a Sigma field name compiled against the sources of a rule: every
// record location its values are read from. Fields are shared between rules
// (same locations, same field), so each is read at most once per record.
type field struct {
	id    int
	paths []fieldPath
}

// fieldPath is one location: a normalised attribute read from the view, a
// computed value, or a dotted path into the body (also looked up verbatim
// among the log attributes).
type fieldPath struct {
	record  func(*auditrecord.Record) (scalar, bool)
	virtual func(body pcommon.Map) (scalar, bool)
	body    bodyPath
}

// bodyPath is a dotted path split into segments. joins[i][n-1] is segments
// i..i+n joined with dots: keys may themselves contain dots, so a segment not
// found is retried joined with the ones after it.
type bodyPath struct {
	text  string
	segs  []string
	joins [][]string
	// ascii: every segment is ASCII, so case-folding compares bytes.
	ascii bool
	// prefixIDs[k] numbers segments 0..k, taken one map level each, among
	// all such prefixes rules ask for, so that each is looked up once per
	// record whichever fields share it (see chainGet).
	prefixIDs []int
}

func newBodyPath(text string) bodyPath {
	segs := strings.Split(text, ".")
	joins := make([][]string, len(segs))
	for i := range segs {
		for n := 1; i+n <= len(segs); n++ {
			joins[i] = append(joins[i], strings.Join(segs[i:i+n], "."))
		}
	}
	return bodyPath{text: text, segs: segs, joins: joins, ascii: isASCII(text)}
}

// recordFields are the normalised attributes of the record contract, read
// from the view the parsers built once rather than from the log attributes:
// a record that came through a foreign receiver has the view but not the
// attributes. Empty values count as absent, as PutAttributes leaves them out.
var recordFields = map[string]func(*auditrecord.Record) (scalar, bool){
	auditrecord.AttrRecordID:      func(r *auditrecord.Record) (scalar, bool) { return nonEmpty(r.ID) },
	auditrecord.AttrSource:        func(r *auditrecord.Record) (scalar, bool) { return nonEmpty(string(r.Source)) },
	auditrecord.AttrOperation:     func(r *auditrecord.Record) (scalar, bool) { return nonEmpty(r.Operation) },
	auditrecord.AttrResult:        func(r *auditrecord.Record) (scalar, bool) { return nonEmpty(r.Result.String()) },
	auditrecord.AttrErrorCode:     func(r *auditrecord.Record) (scalar, bool) { return nonEmpty(r.ErrorCode) },
	auditrecord.AttrActor:         func(r *auditrecord.Record) (scalar, bool) { return nonEmpty(r.Actor) },
	auditrecord.AttrTarget:        func(r *auditrecord.Record) (scalar, bool) { return nonEmpty(r.Target) },
	auditrecord.AttrUserName:      func(r *auditrecord.Record) (scalar, bool) { return nonEmpty(r.User) },
	auditrecord.AttrClientAddress: func(r *auditrecord.Record) (scalar, bool) { return nonEmpty(r.ClientAddress) },
	auditrecord.AttrUserAgent:     func(r *auditrecord.Record) (scalar, bool) { return nonEmpty(r.UserAgent) },
	auditrecord.AttrGeoLat: func(r *auditrecord.Record) (scalar, bool) {
		return scalar{kind: scalarFloat, num: r.Geo.Lat}, r.Geo.HasCoordinates
	},
	auditrecord.AttrGeoLon: func(r *auditrecord.Record) (scalar, bool) {
		return scalar{kind: scalarFloat, num: r.Geo.Lon}, r.Geo.HasCoordinates
	},
	auditrecord.AttrGeoCountry:    func(r *auditrecord.Record) (scalar, bool) { return nonEmpty(r.Geo.CountryISO) },
	auditrecord.AttrCloudProvider: func(r *auditrecord.Record) (scalar, bool) { return nonEmpty(r.CloudProvider) },
	auditrecord.AttrCloudAccount:  func(r *auditrecord.Record) (scalar, bool) { return nonEmpty(r.TenantID) },
}

func nonEmpty(s string) (scalar, bool) { return stringScalar(s), s != "" }

// virtualFields are values no single key holds. Their names start with "@",
// which no vendor key of our sources does.
var virtualFields = map[string]func(pcommon.Map) (scalar, bool){
	"@google.service": googleService,
}

// googleService gives a Reports API activity the service name Google Cloud
// Logging would give it (protoPayload.serviceName), so that SigmaHQ's
// gworkspace rules, written for Cloud Logging, read Reports API records.
// Cloud Logging's Login Audit (login.googleapis.com) carries the events the
// Reports API files under both "login" and "user_accounts" (2sv_disable,
// password_edit, email_forwarding_out_of_domain...).
func googleService(body pcommon.Map) (scalar, bool) {
	id, ok := getFold(body, "id", true)
	if !ok || id.Type() != pcommon.ValueTypeMap {
		return scalar{}, false
	}
	app, ok := getFold(id.Map(), "applicationName", true)
	if !ok || app.Type() != pcommon.ValueTypeStr || app.Str() == "" {
		return scalar{}, false
	}
	switch name := app.Str(); {
	case strings.EqualFold(name, "login"), strings.EqualFold(name, "user_accounts"):
		return stringScalar("login.googleapis.com"), true
	case strings.EqualFold(name, "admin"):
		return stringScalar("admin.googleapis.com"), true
	default:
		return stringScalar(strings.ToLower(name) + ".googleapis.com"), true
	}
}

func (c *compiler) compileFieldPath(location string) fieldPath {
	if f, ok := recordFields[location]; ok {
		return fieldPath{record: f}
	}
	if f, ok := virtualFields[location]; ok {
		return fieldPath{virtual: f}
	}
	p := newBodyPath(location)
	for k := range p.segs {
		prefix := strings.Join(p.segs[:k+1], "\x00")
		id, ok := c.prefixes[prefix]
		if !ok {
			id = len(c.prefixes)
			c.prefixes[prefix] = id
		}
		p.prefixIDs = append(p.prefixIDs, id)
	}
	return fieldPath{body: p}
}

// getFold returns the value under key, matching the key exactly first and
// then case-insensitively.
func getFold(m pcommon.Map, key string, ascii bool) (pcommon.Value, bool) {
	v, ok, _ := lookupFold(m, key, ascii)
	return v, ok
}

// lookupFold is getFold that also tells, on a miss, whether some key starts
// with key and a dot, which is the only case where a path's next segments
// may be part of one dotted key. Most lookups of a rule set miss (a field
// mapped to several locations exists at one of them at most), so the miss
// scan compares only keys long enough to matter when, as always in
// practice, the key is ASCII (which the caller knows from compiling it).
func lookupFold(m pcommon.Map, key string, ascii bool) (v pcommon.Value, found, dotted bool) {
	if v, ok := m.Get(key); ok {
		return v, true, false
	}
	m.Range(func(k string, kv pcommon.Value) bool {
		if !ascii {
			if strings.EqualFold(k, key) {
				v, found = kv, true
				return false
			}
			dotted = dotted || len(k) > len(key) && strings.EqualFold(k[:len(key)], key) && k[len(key)] == '.'
			return true
		}
		switch {
		case len(k) < len(key) || !asciifold.Equal(k[:len(key)], key):
		case len(k) == len(key):
			v, found = kv, true
			return false
		case k[len(key)] == '.':
			dotted = true
		}
		return true
	})
	return v, found, dotted
}

// collectField appends every value of f in the current record to the arena.
func (c *evalCtx) collectField(f *field) {
	for i := range f.paths {
		p := &f.paths[i]
		switch {
		case p.record != nil:
			if v, ok := p.record(c.record); ok {
				c.arena = append(c.arena, v)
			}
		case p.virtual != nil:
			if v, ok := p.virtual(c.body); ok {
				c.arena = append(c.arena, v)
			}
		default:
			c.collectMap(c.body, &p.body, 0, 0, true)
			if v, ok := c.attrs.Get(p.body.text); ok {
				c.collectLeaves(v, 0)
			}
		}
	}
}

// collectMap reads the path from segment seg on in map m. chain says that
// every segment so far was one map level, so the lookup is memoised.
func (c *evalCtx) collectMap(m pcommon.Map, p *bodyPath, seg, depth int, chain bool) {
	var v pcommon.Value
	var found, dotted bool
	if chain {
		v, found, dotted = c.chainGet(p.prefixIDs[seg], m, p.segs[seg], p.ascii)
	} else {
		v, found, dotted = lookupFold(m, p.segs[seg], p.ascii)
	}
	if found {
		c.collectValue(v, p, seg+1, depth+1, chain)
		return
	}
	for n := 2; dotted && seg+n <= len(p.segs); n++ {
		if v, found := getFold(m, p.joins[seg][n-1], p.ascii); found {
			c.collectValue(v, p, seg+n, depth+1, false)
			return
		}
	}
}

// chainGet looks a map-chain prefix up once per record: fields share
// prefixes ("properties" starts every Azure Monitor field), and as a field
// mapped to several locations exists at one at most, most lookups miss, and
// a miss costs a scan of the map's keys.
func (c *evalCtx) chainGet(id int, m pcommon.Map, key string, ascii bool) (pcommon.Value, bool, bool) {
	r := &c.prefixes[id]
	if r.gen != c.gen {
		v, found, dotted := lookupFold(m, key, ascii)
		*r = prefixLookup{gen: c.gen, value: v, found: found, dotted: dotted}
	}
	return r.value, r.found, r.dotted
}

func (c *evalCtx) collectValue(v pcommon.Value, p *bodyPath, seg, depth int, chain bool) {
	if depth > maxFieldDepth {
		return
	}
	if seg == len(p.segs) {
		c.collectLeaves(v, depth)
		return
	}
	switch v.Type() {
	case pcommon.ValueTypeMap:
		c.collectMap(v.Map(), p, seg, depth, chain)
	case pcommon.ValueTypeSlice:
		s := v.Slice()
		for i := 0; i < s.Len() && c.leafBudget > 0; i++ {
			e := s.At(i)
			if e.Type() != pcommon.ValueTypeMap {
				continue
			}
			if !c.collectPair(e.Map(), p, seg, depth) {
				c.collectMap(e.Map(), p, seg, depth, false)
			}
		}
	}
}

// collectPair reads a {Name, Value} element addressed by its name (O365
// Parameters and ExtendedProperties; Google parameters, whose value sits
// under value, intValue, boolValue, multiValue...). It reports whether the
// element was such a pair with the wanted name.
func (c *evalCtx) collectPair(m pcommon.Map, p *bodyPath, seg, depth int) bool {
	name, ok := getFold(m, "name", true)
	if !ok || name.Type() != pcommon.ValueTypeStr {
		return false
	}
	for n := 1; seg+n <= len(p.segs); n++ {
		if !strings.EqualFold(name.Str(), p.joins[seg][n-1]) {
			continue
		}
		found := false
		m.Range(func(k string, v pcommon.Value) bool {
			if len(k) >= 5 && strings.EqualFold(k[len(k)-5:], "value") {
				found = true
				c.collectValue(v, p, seg+n, depth+1, false)
			}
			return true
		})
		return found
	}
	return false
}

// collectLeaves appends the scalars of v: v itself, or everything inside an
// object or array, which reads as "{}" or "[]" when empty.
func (c *evalCtx) collectLeaves(v pcommon.Value, depth int) {
	if c.leafBudget <= 0 || depth > maxFieldDepth {
		return
	}
	switch v.Type() {
	case pcommon.ValueTypeMap:
		m := v.Map()
		if m.Len() == 0 {
			c.appendLeaf(stringScalar("{}"))
			return
		}
		m.Range(func(_ string, e pcommon.Value) bool {
			c.collectLeaves(e, depth+1)
			return c.leafBudget > 0
		})
	case pcommon.ValueTypeSlice:
		s := v.Slice()
		if s.Len() == 0 {
			c.appendLeaf(stringScalar("[]"))
			return
		}
		for i := 0; i < s.Len() && c.leafBudget > 0; i++ {
			c.collectLeaves(s.At(i), depth+1)
		}
	default:
		c.appendLeaf(fromValue(v))
	}
}

func (c *evalCtx) appendLeaf(v scalar) {
	c.arena = append(c.arena, v)
	c.leafBudget--
}
