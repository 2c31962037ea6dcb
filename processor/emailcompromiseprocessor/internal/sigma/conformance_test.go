package sigma

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// conformanceCase is one expectation written from the text of the Sigma
// specification (rules v2.0.0, modifiers appendix v2.1.0): a detection
// section, a record, and whether the rule must match it.
type conformanceCase struct {
	name      string
	detection string
	record    string
	want      bool
}

// conformancePlaceholders configures the expand cases.
var conformancePlaceholders = map[string][]string{
	"Admins":  {"alice", "bob*"},
	"Servers": {"srv-01"},
}

func runConformance(t *testing.T, cases []conformanceCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := mustCompile(t, Config{Placeholders: conformancePlaceholders}, ruleWith(tc.detection))
			got := len(e.Evaluate(testEvent(t, "test", tc.record, testTime), nil)) > 0
			assert.Equal(t, tc.want, got)
		})
	}
}

// "All values are treated as case-insensitive strings"; wildcards * and ?;
// escaping with backslashes.
func TestConformanceStringsAndWildcards(t *testing.T) {
	runConformance(t, []conformanceCase{
		{"plain value matches whole value", "sel:\n  f: evil\ncondition: sel", `{"f":"evil"}`, true},
		{"plain value is not a substring match", "sel:\n  f: evil\ncondition: sel", `{"f":"so evil"}`, false},
		{"case-insensitive by default", "sel:\n  f: EvilService\ncondition: sel", `{"f":"EVILSERVICE"}`, true},
		{"case-insensitive beyond ASCII", "sel:\n  f: ÄRGER\ncondition: sel", `{"f":"ärger"}`, true},
		{"* matches any run", "sel:\n  f: 'antivirus_V*.exe'\ncondition: sel", `{"f":"antivirus_V21.2.1.exe"}`, true},
		{"* matches the empty run", "sel:\n  f: 'antivirus_V*.exe'\ncondition: sel", `{"f":"antivirus_V.exe"}`, true},
		{"* keeps the rest anchored", "sel:\n  f: 'antivirus_V*.exe'\ncondition: sel", `{"f":"antivirus_V1.exe.bak"}`, false},
		{"? matches exactly one character", "sel:\n  f: 'prog?.exe'\ncondition: sel", `{"f":"progA.exe"}`, true},
		{"? does not match none", "sel:\n  f: 'prog?.exe'\ncondition: sel", `{"f":"prog.exe"}`, false},
		{"? does not match two", "sel:\n  f: 'prog?.exe'\ncondition: sel", `{"f":"progAB.exe"}`, false},
		{"? matches one non-ASCII character", "sel:\n  f: 'caf?'\ncondition: sel", `{"f":"café"}`, true},
		{"wildcards in the middle", "sel:\n  f: 'a*b?d*f'\ncondition: sel", `{"f":"AxxBcDeeF"}`, true},
		{"\\* is a plain star", "sel:\n  f: 'a\\*b'\ncondition: sel", `{"f":"a*b"}`, true},
		{"\\* is not a wildcard", "sel:\n  f: 'a\\*b'\ncondition: sel", `{"f":"axb"}`, false},
		{"\\? is a plain question mark", "sel:\n  f: 'why\\?'\ncondition: sel", `{"f":"why?"}`, true},
		{"\\? is not a wildcard", "sel:\n  f: 'why\\?'\ncondition: sel", `{"f":"whyX"}`, false},
		{"single backslash before a letter is plain", "sel:\n  f: 'C:\\Windows\\System32\\whoami.exe'\ncondition: sel", `{"f":"c:\\windows\\system32\\WHOAMI.EXE"}`, true},
		{"\\\\* is a backslash then a wildcard", "sel:\n  f: 'C:\\\\*'\ncondition: sel", `{"f":"C:\\anything"}`, true},
		{"\\\\* needs the backslash", "sel:\n  f: 'C:\\\\*'\ncondition: sel", `{"f":"C:anything"}`, false},
		{"\\\\\\* is a backslash and a plain star", "sel:\n  f: 'C:\\\\\\*'\ncondition: sel", `{"f":"C:\\*"}`, true},
		{"\\\\\\* has no wildcard", "sel:\n  f: 'C:\\\\\\*'\ncondition: sel", `{"f":"C:\\x"}`, false},
		{"four backslashes are two", "sel:\n  f: 'a\\\\\\\\b'\ncondition: sel", `{"f":"a\\\\b"}`, true},
		{"three backslashes are two too", "sel:\n  f: 'a\\\\\\b'\ncondition: sel", `{"f":"a\\\\b"}`, true},
		{"empty value matches empty string", "sel:\n  f: ''\ncondition: sel", `{"f":""}`, true},
		{"empty value does not match absence", "sel:\n  f: ''\ncondition: sel", `{"g":"x"}`, false},
		{"empty value does not match text", "sel:\n  f: ''\ncondition: sel", `{"f":"x"}`, false},
		{"null matches an absent field", "sel:\n  f: null\ncondition: sel", `{"g":"x"}`, true},
		{"null matches a null field", "sel:\n  f: null\ncondition: sel", `{"f":null}`, true},
		{"null does not match an empty string", "sel:\n  f: null\ncondition: sel", `{"f":""}`, false},
		{"null does not match a value", "sel:\n  f: null\ncondition: sel", `{"f":"x"}`, false},
		{"not null via negation", "sel:\n  f: x\nfilter:\n  g: null\ncondition: sel and not filter", `{"f":"x","g":"set"}`, true},
		{"number matches a number", "sel:\n  EventID: 4625\ncondition: sel", `{"EventID":4625}`, true},
		{"number matches its text", "sel:\n  EventID: 4625\ncondition: sel", `{"EventID":"4625"}`, true},
		{"quoted number matches a number", "sel:\n  EventID: '4625'\ncondition: sel", `{"EventID":4625}`, true},
		{"number does not match another", "sel:\n  EventID: 4625\ncondition: sel", `{"EventID":46250}`, false},
		{"zero matches zero", "sel:\n  ResultType: 0\ncondition: sel", `{"ResultType":"0"}`, true},
		{"boolean value matches as text", "sel:\n  f: 'false'\ncondition: sel", `{"f":false}`, true},
		{"list of values is OR", "sel:\n  f:\n    - a\n    - b\ncondition: sel", `{"f":"B"}`, true},
		{"list of values, none matches", "sel:\n  f:\n    - a\n    - b\ncondition: sel", `{"f":"c"}`, false},
		// The specification's valid form of "empty or null": two selections.
		{"empty or null: its own selections, absent", "sel_empty:\n  f: ''\nsel_null:\n  f: null\ncondition: 1 of sel_*", `{}`, true},
		{"empty or null: its own selections, empty", "sel_empty:\n  f: ''\nsel_null:\n  f: null\ncondition: 1 of sel_*", `{"f":""}`, true},
		{"empty or null: its own selections, text", "sel_empty:\n  f: ''\nsel_null:\n  f: null\ncondition: 1 of sel_*", `{"f":"x"}`, false},
		{"map is AND", "sel:\n  a: 1\n  b: 2\ncondition: sel", `{"a":1,"b":2}`, true},
		{"map is AND, one fails", "sel:\n  a: 1\n  b: 2\ncondition: sel", `{"a":1,"b":3}`, false},
		{"list of maps is OR", "sel:\n  - a: 1\n  - b: 2\ncondition: sel", `{"b":2}`, true},
		{"list of maps, none holds", "sel:\n  - a: 1\n  - b: 2\ncondition: sel", `{"a":2,"b":1}`, false},
		{"a missing field matches no value", "sel:\n  f: '*'\ncondition: sel", `{"g":"x"}`, false},
		{"* alone matches any present value", "sel:\n  f: '*'\ncondition: sel", `{"f":""}`, true},
	})
}

// Keywords search the whole record: "EvilService" or "svchost.exe -n evil";
// "|all" links them with AND.
func TestConformanceKeywords(t *testing.T) {
	runConformance(t, []conformanceCase{
		{"keyword found inside a value", "keywords:\n  - EVILSERVICE\n  - 'svchost.exe -n evil'\ncondition: keywords", `{"msg":"started evilservice now"}`, true},
		{"second keyword found deep inside", "keywords:\n  - EVILSERVICE\n  - 'svchost.exe -n evil'\ncondition: keywords", `{"a":{"b":["x","ran svchost.exe -n evil"]}}`, true},
		{"no keyword found", "keywords:\n  - EVILSERVICE\ncondition: keywords", `{"msg":"all good"}`, false},
		{"keyword matches a number", "keywords:\n  - 4625\ncondition: keywords", `{"id":4625}`, true},
		{"all keywords found", "keywords:\n  '|all':\n    - OabVirtualDirectory\n    - ' -ExternalUrl '\ncondition: keywords", `{"cmd":"Set-OabVirtualDirectory -ExternalUrl http://x"}`, true},
		{"all keywords, one missing", "keywords:\n  '|all':\n    - OabVirtualDirectory\n    - ' -ExternalUrl '\ncondition: keywords", `{"cmd":"Set-OabVirtualDirectory -InternalUrl http://x"}`, false},
		{"keywords and a selection", "keywords:\n  - evil\nsel:\n  user: bob\ncondition: keywords and sel", `{"user":"bob","msg":"evil"}`, true},
		{"single keyword as scalar", "keywords: evil\ncondition: keywords", `{"msg":"EVIL"}`, true},
	})
}

// The modifiers appendix, one modifier at a time.
func TestConformanceModifiers(t *testing.T) {
	runConformance(t, []conformanceCase{
		{"contains", "sel:\n  f|contains: vil\ncondition: sel", `{"f":"EVIL"}`, true},
		{"contains, absent", "sel:\n  f|contains: vil\ncondition: sel", `{"f":"good"}`, false},
		{"contains keeps inner wildcards", "sel:\n  f|contains: 'a*c'\ncondition: sel", `{"f":"xxabbbcxx"}`, true},
		{"startswith", "sel:\n  f|startswith: adm\ncondition: sel", `{"f":"ADM_bob"}`, true},
		{"startswith, elsewhere", "sel:\n  f|startswith: adm\ncondition: sel", `{"f":"bob_adm"}`, false},
		{"endswith", "sel:\n  f|endswith: '\\cmd.exe'\ncondition: sel", `{"f":"C:\\Windows\\CMD.exe"}`, true},
		{"endswith, elsewhere", "sel:\n  f|endswith: '\\cmd.exe'\ncondition: sel", `{"f":"C:\\cmd.exe.bak"}`, false},
		{"contains|all, all present", "sel:\n  f|contains|all:\n    - Add\n    - member to role\ncondition: sel", `{"f":"Add eligible member to role"}`, true},
		{"contains|all, one missing", "sel:\n  f|contains|all:\n    - Add\n    - member to role\ncondition: sel", `{"f":"Add member"}`, false},
		{"all across array elements", "sel:\n  f|all:\n    - a\n    - b\ncondition: sel", `{"f":["b","a"]}`, true},
		{"exists: true, present", "sel:\n  f|exists: true\ncondition: sel", `{"f":""}`, true},
		{"exists: true, null counts as present", "sel:\n  f|exists: true\ncondition: sel", `{"f":null}`, true},
		{"exists: true, absent", "sel:\n  f|exists: true\ncondition: sel", `{"g":1}`, false},
		{"exists: false, absent", "sel:\n  f|exists: false\ncondition: sel", `{"g":1}`, true},
		{"exists: false, present", "sel:\n  f|exists: false\ncondition: sel", `{"f":"x"}`, false},
		{"cased, same case", "sel:\n  f|cased: Value\ncondition: sel", `{"f":"Value"}`, true},
		{"cased, other case", "sel:\n  f|cased: Value\ncondition: sel", `{"f":"value"}`, false},
		{"cased with contains", "sel:\n  f|contains|cased: Evil\ncondition: sel", `{"f":"anEvilthing"}`, true},
		{"cased with contains, other case", "sel:\n  f|contains|cased: Evil\ncondition: sel", `{"f":"anevilthing"}`, false},
		{"neq, different", "sel:\n  f|neq: admin\ncondition: sel", `{"f":"bob"}`, true},
		{"neq, equal ignoring case", "sel:\n  f|neq: admin\ncondition: sel", `{"f":"ADMIN"}`, false},
		{"neq, list: different from all", "sel:\n  f|neq:\n    - a\n    - b\ncondition: sel", `{"f":"c"}`, true},
		{"neq, list: equal to one", "sel:\n  f|neq:\n    - a\n    - b\ncondition: sel", `{"f":"b"}`, false},
		{"neq, number", "sel:\n  n|neq: 0\ncondition: sel", `{"n":5}`, true},
		{"neq, number equal", "sel:\n  n|neq: 0\ncondition: sel", `{"n":0}`, false},
		// pySigma's neq (SigmaNegateModifier) turns the item into NOT(field
		// = value): an absent or null field is not the value, so it matches.
		{"neq, absent field matches (pySigma)", "sel:\n  f|neq: admin\ncondition: sel", `{"g":"x"}`, true},
		{"neq, null field matches (pySigma)", "sel:\n  f|neq: admin\ncondition: sel", `{"f":null}`, true},
		{"neq, list, absent field matches (pySigma)", "sel:\n  f|neq:\n    - a\n    - b\ncondition: sel", `{}`, true},
		{"windash, slash for dash", "sel:\n  cmd|windash|contains: ' -enc '\ncondition: sel", `{"cmd":"powershell /enc abc"}`, true},
		{"windash, en dash", "sel:\n  cmd|windash|contains: ' -enc '\ncondition: sel", `{"cmd":"powershell –enc abc"}`, true},
		{"windash, em dash", "sel:\n  cmd|windash|contains: ' -enc '\ncondition: sel", `{"cmd":"powershell —enc abc"}`, true},
		{"windash, horizontal bar", "sel:\n  cmd|windash|contains: ' -enc '\ncondition: sel", `{"cmd":"powershell ―enc abc"}`, true},
		{"windash, original dash", "sel:\n  cmd|windash|contains: ' -enc '\ncondition: sel", `{"cmd":"POWERSHELL -ENC abc"}`, true},
		{"windash, no flag", "sel:\n  cmd|windash|contains: ' -enc '\ncondition: sel", `{"cmd":"powershell enc abc"}`, false},
		{"windash leaves inner hyphens alone", "sel:\n  cmd|windash: 'a-b'\ncondition: sel", `{"cmd":"a/b"}`, false},
		{"re searches the value", "sel:\n  f|re: 'b.d'\ncondition: sel", `{"f":"abcde"}`, true},
		{"re with anchors", "sel:\n  f|re: '^ab.*z$'\ncondition: sel", `{"f":"abxyz"}`, true},
		{"re is case-sensitive", "sel:\n  f|re: '^ab.*z$'\ncondition: sel", `{"f":"ABXYZ"}`, false},
		{"re|i is case-insensitive", "sel:\n  f|re|i: '^ab.*z$'\ncondition: sel", `{"f":"ABXYZ"}`, true},
		{"re without m: ^ is the start of the text", "sel:\n  f|re: '^b$'\ncondition: sel", `{"f":"a\nb"}`, false},
		{"re|m: ^ and $ match at lines", "sel:\n  f|re|m: '^b$'\ncondition: sel", `{"f":"a\nb"}`, true},
		{"re without s: dot stops at newline", "sel:\n  f|re: 'a.b'\ncondition: sel", `{"f":"a\nb"}`, false},
		{"re|s: dot matches newline", "sel:\n  f|re|s: 'a.b'\ncondition: sel", `{"f":"a\nb"}`, true},
		{"re takes backslashes as the regex does", "sel:\n  f|re: '\\d{3}-\\d{4}'\ncondition: sel", `{"f":"call 555-1234"}`, true},
		{"base64", "sel:\n  f|base64: secret\ncondition: sel", `{"f":"c2VjcmV0"}`, true},
		{"base64|contains", "sel:\n  f|base64|contains: secret\ncondition: sel", `{"f":"xxc2VjcmV0xx"}`, true},
		{"base64, other text", "sel:\n  f|base64: secret\ncondition: sel", `{"f":"c2VjcmV1"}`, false},
		// The three offsets of /bin/bash, as SigmaHQ's Linux rules list them.
		{"base64offset, offset 0", "sel:\n  f|base64offset|contains: /bin/bash\ncondition: sel", `{"f":"L2Jpbi9iYXNoIC1p"}`, true},
		{"base64offset, offset 1 (\" /bin/bash\")", "sel:\n  f|base64offset|contains: /bin/bash\ncondition: sel", `{"f":"IC9iaW4vYmFzaA=="}`, true},
		{"base64offset, offset 2 (\"echo /bin/bash\")", "sel:\n  f|base64offset|contains: /bin/bash\ncondition: sel", `{"f":"ZWNobyAvYmluL2Jhc2g="}`, true},
		{"base64offset, absent", "sel:\n  f|base64offset|contains: /bin/bash\ncondition: sel", `{"f":"L2Jpbi9zaA=="}`, false},
		{"utf16le|base64", "sel:\n  f|utf16le|base64: cmd\ncondition: sel", `{"f":"YwBtAGQA"}`, true},
		{"wide is utf16le", "sel:\n  f|wide|base64: cmd\ncondition: sel", `{"f":"YwBtAGQA"}`, true},
		{"utf16be|base64", "sel:\n  f|utf16be|base64: cmd\ncondition: sel", `{"f":"AGMAbQBk"}`, true},
		{"utf16 has a byte order mark", "sel:\n  f|utf16|base64: cmd\ncondition: sel", `{"f":"//5jAG0AZAA="}`, true},
		{"utf16le is not utf16be", "sel:\n  f|utf16le|base64: cmd\ncondition: sel", `{"f":"AGMAbQBk"}`, false},
		{"gt", "sel:\n  n|gt: 10\ncondition: sel", `{"n":11}`, true},
		{"gt, equal", "sel:\n  n|gt: 10\ncondition: sel", `{"n":10}`, false},
		{"gte, equal", "sel:\n  n|gte: 10\ncondition: sel", `{"n":10}`, true},
		{"lt", "sel:\n  n|lt: 10\ncondition: sel", `{"n":9.5}`, true},
		{"lt, greater", "sel:\n  n|lt: 10\ncondition: sel", `{"n":10.5}`, false},
		{"lte, equal", "sel:\n  n|lte: 10\ncondition: sel", `{"n":10}`, true},
		{"numeric string compares as number", "sel:\n  n|gt: 10\ncondition: sel", `{"n":"11"}`, true},
		{"text does not compare as number", "sel:\n  n|gt: 10\ncondition: sel", `{"n":"eleven"}`, false},
		{"cidr, inside", "sel:\n  ip|cidr: 10.0.0.0/8\ncondition: sel", `{"ip":"10.1.2.3"}`, true},
		{"cidr, outside", "sel:\n  ip|cidr: 10.0.0.0/8\ncondition: sel", `{"ip":"11.0.0.1"}`, false},
		{"cidr, IPv6", "sel:\n  ip|cidr: '2001:db8::/32'\ncondition: sel", `{"ip":"2001:db8::1"}`, true},
		{"cidr, list", "sel:\n  ip|cidr:\n    - 10.0.0.0/8\n    - 192.168.0.0/16\ncondition: sel", `{"ip":"192.168.4.4"}`, true},
		{"cidr, not an address", "sel:\n  ip|cidr: 10.0.0.0/8\ncondition: sel", `{"ip":"ten"}`, false},
		{"expand, first value", "sel:\n  user|expand: '%Admins%'\ncondition: sel", `{"user":"Alice"}`, true},
		{"expand, wildcard value", "sel:\n  user|expand: '%Admins%'\ncondition: sel", `{"user":"bobby"}`, true},
		{"expand, other user", "sel:\n  user|expand: '%Admins%'\ncondition: sel", `{"user":"carol"}`, false},
		{"expand inside text", "sel:\n  host|expand: 'prod-%Servers%.corp'\ncondition: sel", `{"host":"prod-srv-01.corp"}`, true},
		{"\\% is a plain percent under expand", "sel:\n  f|expand: '100\\%'\ncondition: sel", `{"f":"100%"}`, true},
		{"%name% without expand is literal", "sel:\n  f: '%Admins%'\ncondition: sel", `{"f":"%Admins%"}`, true},
		{"fieldref, equal", "sel:\n  actor|fieldref: target\ncondition: sel", `{"actor":"Bob@X.com","target":"bob@x.com"}`, true},
		{"fieldref, different", "sel:\n  actor|fieldref: target\ncondition: sel", `{"actor":"bob@x.com","target":"eve@x.com"}`, false},
		{"fieldref, other field absent", "sel:\n  actor|fieldref: target\ncondition: sel", `{"actor":"bob@x.com"}`, false},
		{"fieldref|neq, different", "sel:\n  actor|fieldref|neq: target\ncondition: sel", `{"actor":"bob@x.com","target":"eve@x.com"}`, true},
		{"fieldref|neq, absent field matches (pySigma)", "sel:\n  actor|fieldref|neq: target\ncondition: sel", `{"target":"bob@x.com"}`, true},
		{"fieldref|neq, equal", "sel:\n  actor|fieldref|neq: target\ncondition: sel", `{"actor":"bob@x.com","target":"bob@x.com"}`, false},
		{"fieldref|contains", "sel:\n  upn|fieldref|contains: name\ncondition: sel", `{"upn":"bob@x.com","name":"BOB"}`, true},
		{"hour", "sel:\n  t|hour: 23\ncondition: sel", `{"t":"2026-11-20T23:10:00Z"}`, true},
		{"hour|gte", "sel:\n  t|hour|gte: 22\ncondition: sel", `{"t":"2026-11-20T08:10:00Z"}`, false},
		{"month", "sel:\n  t|month: 11\ncondition: sel", `{"t":"2026-11-20T08:10:00"}`, true},
		{"year", "sel:\n  t|year: 2026\ncondition: sel", `{"t":"2026-11-20T08:10:00Z"}`, true},
		{"week", "sel:\n  t|week: 47\ncondition: sel", `{"t":"2026-11-20T08:10:00Z"}`, true},
		{"day|lt", "sel:\n  t|day|lt: 10\ncondition: sel", `{"t":"2026-11-20T08:10:00Z"}`, false},
		{"minute", "sel:\n  t|minute: 10\ncondition: sel", `{"t":"2026-11-20T08:10:00Z"}`, true},
		{"time part of a non-date", "sel:\n  t|hour: 8\ncondition: sel", `{"t":"soon"}`, false},
	})
}

// Conditions: and, or, not, parentheses, "1 of"/"all of" patterns and them,
// precedence (or < and < not < x of < parentheses), lists of conditions.
func TestConformanceConditions(t *testing.T) {
	const sels = "a:\n  a: 1\nb:\n  b: 1\nc:\n  c: 1\n"
	const selPattern = "sel_a:\n  a: 1\nsel_b:\n  b: 1\nfilter_c:\n  c: 1\n"
	runConformance(t, []conformanceCase{
		{"and", sels + "condition: a and b", `{"a":1,"b":1}`, true},
		{"and, one false", sels + "condition: a and b", `{"a":1}`, false},
		{"or", sels + "condition: a or b", `{"b":1}`, true},
		{"not", sels + "condition: not a", `{"b":1}`, true},
		{"not, false", sels + "condition: not a", `{"a":1}`, false},
		{"and binds tighter than or (a)", sels + "condition: a or b and c", `{"a":1}`, true},
		{"and binds tighter than or (b without c)", sels + "condition: a or b and c", `{"b":1}`, false},
		{"not binds tighter than and", sels + "condition: not a and b", `{"b":1}`, true},
		{"not binds tighter than and, a set", sels + "condition: not a and b", `{"a":1,"b":1}`, false},
		{"parentheses first", sels + "condition: (a or b) and c", `{"b":1,"c":1}`, true},
		{"parentheses, c missing", sels + "condition: (a or b) and c", `{"b":1}`, false},
		{"not of a group", sels + "condition: not (a or b)", `{"c":1}`, true},
		{"double negation", sels + "condition: not not a", `{"a":1}`, true},
		{"operators are case-insensitive", sels + "condition: a AND NOT b", `{"a":1}`, true},
		{"1 of pattern", selPattern + "condition: 1 of sel_*", `{"b":1}`, true},
		{"1 of pattern, none", selPattern + "condition: 1 of sel_*", `{"c":1}`, false},
		{"all of pattern", selPattern + "condition: all of sel_*", `{"a":1,"b":1}`, true},
		{"all of pattern, one missing", selPattern + "condition: all of sel_*", `{"a":1,"c":1}`, false},
		{"x of binds tighter than not and and", selPattern + "condition: 1 of sel_* and not 1 of filter_*", `{"a":1,"c":1}`, false},
		{"x of with not, filter absent", selPattern + "condition: 1 of sel_* and not 1 of filter_*", `{"a":1}`, true},
		{"1 of them", selPattern + "condition: 1 of them", `{"c":1}`, true},
		{"all of them", selPattern + "condition: all of them", `{"a":1,"b":1}`, false},
		{"all of them, all set", selPattern + "condition: all of them", `{"a":1,"b":1,"c":1}`, true},
		{"them leaves out underscore identifiers", "a:\n  a: 1\n_b:\n  b: 1\ncondition: all of them", `{"a":1}`, true},
		{"an underscore pattern names them", "a:\n  a: 1\n_b:\n  b: 1\ncondition: 1 of _b*", `{"b":1}`, true},
		{"list of conditions is OR", sels + "condition:\n  - a and b\n  - c", `{"c":1}`, true},
		{"list of conditions, none", sels + "condition:\n  - a and b\n  - c", `{"a":1}`, false},
	})
}
