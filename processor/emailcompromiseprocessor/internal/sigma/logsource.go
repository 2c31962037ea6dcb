package sigma

import (
	"slices"
	"strings"
)

// logsourceTable holds DefaultLogsourceMapping plus the configured entries.
type logsourceTable []LogsourceMapping

func newLogsourceTable(user []LogsourceMapping) logsourceTable {
	t := logsourceTable(DefaultLogsourceMapping())
	for _, u := range user {
		u.Category, u.Product, u.Service = strings.ToLower(u.Category), strings.ToLower(u.Product), strings.ToLower(u.Service)
		t = slices.DeleteFunc(t, func(d LogsourceMapping) bool {
			return d.Category == u.Category && d.Product == u.Product && d.Service == u.Service
		})
		t = append(t, u)
	}
	return t
}

// match returns the entries that apply to a rule's logsource: those with
// the same value for every logsource attribute the rule names. A rule that
// names none (no logsource) applies to every entry.
func (t logsourceTable) match(ls logsource) []LogsourceMapping {
	var out []LogsourceMapping
	for _, e := range t {
		if (ls.category == "" || ls.category == e.Category) &&
			(ls.product == "" || ls.product == e.Product) &&
			(ls.service == "" || ls.service == e.Service) {
			out = append(out, e)
		}
	}
	return out
}

// sources lists every source some entry maps to.
func (t logsourceTable) sources() []string {
	var out []string
	for _, e := range t {
		if !slices.Contains(out, e.Source) {
			out = append(out, e.Source)
		}
	}
	return out
}

// fieldMapper resolves Sigma field names to record locations per source.
type fieldMapper struct {
	bySource map[string]*sourceFields
	// generic applies to sources no entry names (and to inactive rules).
	generic *sourceFields
}

type sourceFields struct {
	// fields is keyed by the lowercased Sigma name.
	fields   map[string][]string
	prefixes []string
}

func newFieldMapper(user []FieldMapping, knownSources []string) *fieldMapper {
	m := &fieldMapper{bySource: map[string]*sourceFields{}, generic: &sourceFields{fields: map[string][]string{}}}
	entries := append(DefaultFieldMapping(), user...)
	for _, e := range entries {
		for _, s := range e.Sources {
			if !slices.Contains(knownSources, s) {
				knownSources = append(knownSources, s)
			}
		}
	}
	for _, s := range knownSources {
		m.bySource[s] = &sourceFields{fields: map[string][]string{}}
	}
	for _, e := range entries {
		targets := []*sourceFields{}
		if len(e.Sources) == 0 {
			targets = append(targets, m.generic)
			for _, sf := range m.bySource {
				targets = append(targets, sf)
			}
		}
		for _, s := range e.Sources {
			targets = append(targets, m.bySource[s])
		}
		for _, sf := range targets {
			for name, locations := range e.Fields {
				sf.fields[strings.ToLower(name)] = locations
			}
			if e.Prefixes != nil {
				sf.prefixes = e.Prefixes
			}
		}
	}
	return m
}

// locations returns where a Sigma field's values are in the records of the
// given sources: the union over the sources, in order, without repeats.
func (m *fieldMapper) locations(sources []string, name string) []string {
	var out []string
	add := func(sf *sourceFields) {
		found, ok := sf.fields[strings.ToLower(name)]
		if !ok {
			prefixes := sf.prefixes
			if len(prefixes) == 0 {
				prefixes = []string{""}
			}
			for _, p := range prefixes {
				found = append(found, p+name)
			}
		}
		for _, l := range found {
			if !slices.Contains(out, l) {
				out = append(out, l)
			}
		}
	}
	if len(sources) == 0 {
		add(m.generic)
	}
	for _, s := range sources {
		sf, ok := m.bySource[s]
		if !ok {
			sf = m.generic
		}
		add(sf)
	}
	return out
}
